import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    /* every example run once, for every test file that reads its report (test/helpers/example-runs.ts) */
    globalSetup: ["test/helpers/example-runs.setup.ts"],
    /* no wall-time budget: tests are bounded by case counts and the engine's step limit */
    testTimeout: 0,
    hookTimeout: 0,
  },
});
