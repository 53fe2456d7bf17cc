/**
 * vitest's global setup: every example run once, `smmu-emu run --json
 * examples/NAME` each on its own, before the test files start; the runs are
 * provided to them as `exampleRuns` (read with test/helpers/example-runs.ts).
 * Nothing is asserted here: a run that fails or throws is recorded as it
 * ended, and test/examples/examples.test.ts says what is wrong with it.
 */
import type { TestProject } from "vitest/node";
import { main } from "../../src/cli/main.js";
import { EXAMPLE_NAMES, type ExampleRun } from "./example-runs.js";

async function runExample(name: string): Promise<ExampleRun> {
  const path = `examples/${name}`;
  let stdout = "";
  let stderr = "";
  try {
    const status = await main(["--json", "run", path], {
      out: (t) => void (stdout += `${t}\n`),
      err: (t) => void (stderr += `${t}\n`),
      tty: false,
    });
    return { path, status, stdout, stderr };
  } catch (err) {
    return { path, status: null, stdout, stderr: stderr + (err instanceof Error ? (err.stack ?? err.message) : String(err)) };
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const runs: Record<string, ExampleRun> = {};
  /* one after another: each is deterministic on its own, and their plugins load in a fixed order */
  for (const name of EXAMPLE_NAMES) runs[name] = await runExample(name);
  project.provide("exampleRuns", runs);
}
