/**
 * The examples' reports, each example run once per `vitest run`: the global
 * setup (example-runs.setup.ts) runs `smmu-emu run --json examples/NAME`
 * under the example's own driver before any test file starts, and hands the
 * runs to every test file through vitest's provide/inject. A test that needs
 * an example's output takes it from here instead of running the example again.
 */
import { readdirSync } from "node:fs";
import { inject } from "vitest";
import type { JsonReport } from "../../src/report/json.js";

/** One run of one example, as the command line ended it. */
export interface ExampleRun {
  /** The path given to `run`, relative to the repository root: "examples/NAME". */
  path: string;
  /** The exit status; null if main() threw (then `stderr` holds the stack). */
  status: number | null;
  stdout: string;
  stderr: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    exampleRuns: Record<string, ExampleRun>;
  }
}

/** examples/*.smmu, by file name, sorted. */
export const EXAMPLE_NAMES: readonly string[] = readdirSync(new URL("../../examples/", import.meta.url))
  .filter((f) => f.endsWith(".smmu"))
  .sort();

/** The run of examples/`name` ("s1-shared.smmu"). */
export function exampleRun(name: string): ExampleRun {
  const run = inject("exampleRuns")[name];
  if (!run) throw new Error(`no run of examples/${name}: the global setup runs every examples/*.smmu (see vitest.config.ts)`);
  return run;
}

/** The --json report of examples/`name`. */
export function exampleReport(name: string): JsonReport {
  return JSON.parse(exampleRun(name).stdout) as JsonReport;
}
