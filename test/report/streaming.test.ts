/**
 * Streamed output: spools give back exactly what was written, through their
 * temporary file too; `run --json`, `--metrics` and `--trace` write, in
 * pieces, exactly the documents built whole from runs that kept everything
 * (jsonReport, formatMetrics, traceDocument), through an Io that takes
 * pieces and through one that does not.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { main, type Io } from "../../src/cli/main.js";
import { loadSmmuWithPlugins } from "../../src/engine/load.js";
import { runFile, type ScenarioResult } from "../../src/engine/runner.js";
import type { Timeline } from "../../src/engine/timeline.js";
import { builtinRegistry } from "../../src/index.js";
import { colors, formatScenario, formatSummary } from "../../src/report/human.js";
import { jsonReport } from "../../src/report/json.js";
import { formatMetrics } from "../../src/report/metrics.js";
import { Spool } from "../../src/report/spool.js";
import { traceDocument, type TracedRun } from "../../src/report/trace.js";

const VERSION = (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version;
/* three examples, not all (each runs five times here): four invalidations in one scenario, a concurrently block's timelines, eight vSMMUs */
const EXAMPLES = ["sva-mm-exit.smmu", "race-attach-unmap.smmu", "nested-8-vsmmus.smmu"].map((f) => join("examples", f));

describe("a spool", () => {
  test("in memory: the pieces back, joined, and split at a separator", () => {
    const s = new Spool();
    expect(s.empty).toBe(true);
    s.write("a\0b");
    s.write("");
    s.write("c\0");
    expect(s.empty).toBe(false);
    expect([...s.split("\0")]).toEqual(["a", "bc"]);
    expect(s.empty).toBe(true);
  });

  test("past its memory, through a file: every character back, multi-byte ones across read blocks too", () => {
    const s = new Spool();
    const lines = Array.from({ length: 60_000 }, (_, i) => `${i} µ€😀 ${"x".repeat(i % 97)}`);
    for (const line of lines) s.write(`${line}\n`);
    expect(s.onDisk).toBe(true);
    expect([...s.split()]).toEqual(lines);
    expect(s.onDisk).toBe(false);
  });
});

/** main() with an Io that takes pieces (as the process's does) or one that only takes lines. */
async function cli(pieces: boolean, ...argv: string[]): Promise<{ status: number; stdout: string }> {
  let stdout = "";
  const io: Io = {
    out: (t) => {
      stdout += `${t}\n`;
    },
    err: () => undefined,
    tty: false,
    ...(pieces
      ? {
          write: async (t: string) => {
            stdout += t;
          },
        }
      : {}),
  };
  return { status: await main(argv, io), stdout };
}

/** Every example run through the library, keeping everything. */
async function runs(): Promise<{ file: string; scenarios: ScenarioResult[]; traced: TracedRun[] }[]> {
  const out = [];
  for (const file of EXAMPLES) {
    const registry = builtinRegistry();
    const traced: TracedRun[] = [];
    const smmu = await loadSmmuWithPlugins(file, registry);
    const scenarios = runFile(smmu, { registry, onTimeline: (result: ScenarioResult, timeline: Timeline) => void traced.push({ result, timeline }) });
    out.push({ file, scenarios, traced });
  }
  return out;
}

describe("the CLI's documents, written as the run goes", () => {
  let whole: Awaited<ReturnType<typeof runs>>;
  beforeAll(async () => {
    whole = await runs();
  }, 120_000);

  test.each([
    ["pieces", true],
    ["lines", false],
  ])("--json: jsonReport() of the examples, byte for byte (an Io taking %s)", async (_, pieces) => {
    const expected = `${JSON.stringify(jsonReport(whole, [], VERSION, { rejected: 0 }), null, 2)}\n`;
    expect(whole.some((f) => f.scenarios.some((r) => r.metrics.invalidations.length > 1))).toBe(true);
    expect(await cli(pieces, "run", "--json", ...EXAMPLES)).toEqual({ status: 0, stdout: expected });
  });

  test("--metrics: each scenario's formatMetrics() after it, byte for byte", async () => {
    const c = colors(false);
    const lines = whole.flatMap((f) => [f.file, ...f.scenarios.flatMap((r) => [formatScenario(c, r), formatMetrics(c, r)])]);
    const expected = `${[...lines, formatSummary(c, whole.flatMap((f) => f.scenarios))].join("\n")}\n`;
    expect(await cli(true, "run", "--metrics", ...EXAMPLES)).toEqual({ status: 0, stdout: expected });
  });

  test("--trace: traceDocument() of the kept timelines, byte for byte", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "smmu-stream-")), "t.json");
    expect((await cli(true, "run", "--trace", path, ...EXAMPLES)).status).toBe(0);
    expect(readFileSync(path, "utf8")).toBe(`${JSON.stringify(traceDocument(whole.flatMap((f) => f.traced), VERSION))}\n`);
  });
});
