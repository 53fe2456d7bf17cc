/**
 * Determinism stays a tested property (issue 13): the same file, seed and
 * options give byte-identical text, --json and --trace, run after run, and
 * the same bytes whether the scenarios run on the command's thread or on a
 * worker thread (a user's plugin, --timeout: src/cli/commands/isolated.ts).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cli } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "smmu-determinism-"));
let traces = 0;

/** One run: its exit status, stdout, stderr and its --trace file. */
async function run(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string; trace: string }> {
  const trace = join(dir, `t${traces++}.json`);
  const r = await cli(...argv.slice(0, -1), "--trace", trace, argv.at(-1)!);
  return { ...r, trace: readFileSync(trace, "utf8") };
}

/* concurrently blocks (the seed picks their interleaving), a stale translation; a user's plugin (its runs are on the worker) */
const FILES = ["examples/race-attach-unmap.smmu", "examples/lossy-atc.smmu"];

/* [flags before the command, flags of run] */
describe.each([
  ["text", [[], []]],
  ["--json", [["--json"], []]],
  ["--metrics", [[], ["--metrics"]]],
] as [string, [string[], string[]]][])("%s", (_name, [global, flags]) => {
  test.each(FILES)("%s: seed 7 twice, and on a worker thread, the same bytes", async (file) => {
    const argv = [...global, "run", ...flags, "--seed", "7", file];
    const a = await run(...argv);
    const b = await run(...argv);
    /* a bound that never fires: the run moves to a worker thread */
    const c = await run(...global, "run", ...flags, "--seed", "7", "--timeout", "600", file);
    expect(a.stdout.length).toBeGreaterThan(0);
    expect(a.trace.length).toBeGreaterThan(0);
    for (const other of [b, c]) {
      expect(other.stdout).toBe(a.stdout);
      expect(other.stderr).toBe(a.stderr);
      expect(other.trace).toBe(a.trace);
      expect(other.status).toBe(a.status);
    }
  });
});
