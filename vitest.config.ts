import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  /*
   * A plugin's `import ... from "smmu-emu"` is the copy running it, as the
   * plugin loader's hook makes it (src/plugin/load.ts); vitest imports
   * plugins itself, so it is told too (else they would get dist/, another
   * copy, whose classes are not the engine's).
   */
  resolve: { alias: [{ find: /^smmu-emu$/, replacement: fileURLToPath(new URL("src/index.ts", import.meta.url)) }] },
  test: {
    include: ["test/**/*.test.ts"],
    /* every example run once, before the test files, for those that read its report (test/helpers/example-runs.ts) */
    globalSetup: ["test/helpers/example-runs.setup.ts"],
    /* no wall-time budget: tests are bounded by case counts and the engine's step limit */
    testTimeout: 0,
    hookTimeout: 0,
    /*
     * The files a worker runs share their modules (src/ is loaded once per
     * worker, not once per file, which halves the suite's CPU time): nothing
     * in src/ keeps state but caches, and a test must not depend on module
     * state another test file leaves behind.
     */
    isolate: false,
  },
});
