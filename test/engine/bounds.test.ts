/**
 * The run's own bounds on hostile input (issue 13): a map is charged its
 * page-table entries before a table is touched (the ptes limit, bad input at
 * the statement), an unmap of many leaves completes, an mm invalidate cannot
 * reach past 64 bits, and an SMMU named "__proto__" keeps its figures in the
 * JSON report. Bounded by the sizes below, not by time.
 */
import { describe, expect, test } from "vitest";
import { formatDiagnostic, InputError } from "../../src/core/diagnostics.js";
import { DEFAULT_MAX_PTES } from "../../src/engine/iommu-core.js";
import { loadSmmu } from "../../src/engine/load.js";
import { runFile, type ScenarioResult } from "../../src/engine/runner.js";
import { builtinRegistry } from "../../src/index.js";
import { jsonReport } from "../../src/report/json.js";

const registry = builtinRegistry();

const TOPO = `smmu smmu0 { features: ats, sva; }
device gpu0 { smmu: smmu0; sids: 0x100; ats: true; pasid_bits: 8; }
domain d1 { stage: s1; }
domain proc { stage: sva; }
`;

/** A scenario of `body` after TOPO: its statements start at line 6. */
const scenario = (body: string): string => `${TOPO}scenario "s" {\n${body}\n}\n`;

function run(text: string, maxPtes?: number): ScenarioResult[] | string[] {
  try {
    return runFile(loadSmmu("t.smmu", registry, text), { registry, maxPtes });
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics.map(formatDiagnostic);
    throw err;
  }
}

describe("page-table entries a scenario holds", () => {
  test("a terabyte in 4K pages (a PA that allows no block) is refused at its statement, before any is written", () => {
    expect(DEFAULT_MAX_PTES).toBe(500_000);
    expect(run(scenario("  attach gpu0 d1;\n  map d1 0x1000 size 0x7fff_0000_0000 to 0x2000;"))).toEqual([
      "t.smmu:7:3: error: map d1 0x1000 size 0x7fff00000000 needs 34358689792 page-table entries; with the 0 mapped, over the limit of 500000 a scenario may hold (ptes)",
    ]);
  });

  test("what is mapped counts, what is unmapped is given back; blocks count as one entry each", () => {
    const body = [
      "  attach gpu0 d1;",
      "  map d1 0x1000 size 0x5000 to 0x3000;", // 5 pages
      "  map d1 0x4000_0000 size 0x8000_0000;", // 2 blocks of 1G
      "  map d1 0x1_0000_0000 size 0x4000 to 0x3000;", // 4 more: 11 > 10
    ].join("\n");
    expect(run(scenario(body), 10)).toEqual([
      "t.smmu:9:3: error: map d1 0x100000000 size 0x4000 needs 4 page-table entries; with the 7 mapped, over the limit of 10 a scenario may hold (ptes)",
    ]);
    const [r] = run(scenario(body.replace("map d1 0x1_0000", "unmap d1 0x1000 size 0x5000;\n  map d1 0x1_0000")), 10) as ScenarioResult[];
    expect(r!.failures).toEqual([]);
  });

  test("an unmap of a 1G table of 262,144 leaves completes (their list is not a call's arguments)", () => {
    const [r] = run(scenario("  attach gpu0 d1;\n  map d1 0x4000_0000 size 1G to 0x1000;\n  unmap d1 0x4000_0000 size 1G;\n  expect no stale;")) as ScenarioResult[];
    expect(r!.failures).toEqual([]);
    expect(r!.metrics.invalidations.map((i) => i.kind)).toEqual(["tlb_flush_walk", "iotlb_sync"]);
  });
});

describe("mm invalidate's range", () => {
  test("one ending past 64 bits is an error at its size; the whole address space is not", () => {
    expect(run(scenario("  sva bind gpu0 proc pasid 1;\n  mm invalidate proc 0xffff_ffff_ffff_f000 size 0x2000;"))).toEqual([
      "t.smmu:7:49: error: the range ends at 0x10000000000001000, beyond the 64-bit address space (0xffffffffffffffff at most)",
    ]);
    expect(run(scenario("  sva bind gpu0 proc pasid 1;\n  mm invalidate proc 0 - 0x1000 size 0x2000;"))).toEqual(["t.smmu:7:22: error: start -4096 is negative"]);
    const [r] = run(scenario("  sva bind gpu0 proc pasid 1;\n  mm invalidate proc 0 size 0xffff_ffff_ffff_ffff;")) as ScenarioResult[];
    expect(r!.failures).toEqual([]);
  });
});

describe("names that are Object.prototype's in the results", () => {
  test("an SMMU named __proto__: its commands in the result and in the JSON report, its invalidations' figures", () => {
    const text = `smmu __proto__ { features: ats; }\ndevice gpu0 { smmu: __proto__; sids: 0x100; ats: true; }\ndomain d1 { stage: s1; }\nscenario "p" {\n  attach gpu0 d1;\n  map d1 0x10000 size 4K;\n  unmap d1 0x10000 size 4K;\n}\n`;
    const results = run(text) as ScenarioResult[];
    expect(Object.keys(results[0]!.commands)).toEqual(["__proto__"]);
    const doc = JSON.parse(JSON.stringify(jsonReport([{ file: "t.smmu", scenarios: results }], [], "0.0.0"))) as {
      files: { scenarios: { commands: Record<string, unknown>; metrics: { invalidations: { perSmmu: Record<string, unknown> }[] } }[] }[];
    };
    const s = doc.files[0]!.scenarios[0]!;
    expect(Object.entries(s.commands)).toEqual([["__proto__", { commands: 15, syncs: 7 }]]);
    expect(Object.entries(s.metrics.invalidations[0]!.perSmmu)).toEqual([["__proto__", { commands: 4, syncs: 2 }]]);
  });
});
