/**
 * Before and after the series, on one platform: a domain on masters behind
 * 4 SMMUs, each master with two StreamIDs and ATS. The commands, CMD_SYNCs
 * and latency of one invalidation under each driver; expected latencies are
 * derived from the costs configured here (cmd_ns C, sync_ns S, atc_inv_ns A).
 * Only the follow-up series (`share`) lets one domain span the SMMUs:
 * legacy, mainline and v9 refuse the second SMMU with -EINVAL.
 */
import { describe, expect, test } from "vitest";
import { compareConfigs, compareFile, type CompareCell } from "../../src/engine/compare.js";
import { loadSmmu } from "../../src/engine/load.js";
import { runFile, type ScenarioResult } from "../../src/engine/runner.js";
import type { DriverSpec } from "../../src/model/topology.js";
import { builtinRegistry } from "../../src/index.js";

const C = 9;
const S = 60;
const A = 700;

const TOPOLOGY = `
for i in 0 .. 3 {
  smmu smmu#i { features: ats; cmd_ns: ${C}; sync_ns: ${S}; }
  device dev#i { smmu: smmu#i; sids: 0x100 * (i + 1), 0x100 * (i + 1) + 1; ats: true; atc_inv_ns: ${A}; }
  domain own#i { stage: s1; }
}
domain d1 { stage: s1; }
`;

const SHARED = `
scenario "one domain on 4 SMMUs" {
  for i in 0 .. 3 { attach dev#i d1; }
  map d1 0x10000 size 4K;
  unmap d1 0x10000 size 4K;
}
`;

/* the legacy way to have a mapping behind 4 SMMUs: a domain per SMMU, each invalidated on its own */
const ONE_PER_SMMU = `
scenario "a domain per SMMU" {
  for i in 0 .. 3 { attach dev#i own#i; map own#i 0x10000 size 4K; }
  for i in 0 .. 3 { unmap own#i 0x10000 size 4K; }
}
`;

const registry = builtinRegistry();

function compare(scenarios: string): Map<string, CompareCell> {
  const file = loadSmmu("compare.smmu", registry, TOPOLOGY + scenarios);
  const configs = compareConfigs(registry);
  const [row] = compareFile(file, configs, { registry }).rows;
  return new Map(configs.map((k, i) => [k.label, row!.cells[i]!]));
}

/** The scenarios run under one driver configuration (a column compare does not have). */
function runUnder(scenarios: string, driver: DriverSpec): ScenarioResult {
  const [r] = runFile(loadSmmu("compare.smmu", registry, TOPOLOGY + scenarios), { registry, driver });
  return r!;
}

function result(cell: CompareCell | undefined): ScenarioResult {
  if (!cell || !("result" in cell)) throw new Error(`no result: ${JSON.stringify(cell)}`);
  return cell.result;
}

/** Per invalidation: [kind, latency, { smmu: [commands, syncs] }] */
function invalidations(r: ScenarioResult): Array<[string, number, Record<string, [number, number]>]> {
  return r.metrics.invalidations.map((i) => [i.kind, i.latency, Object.fromEntries(Object.entries(i.perSmmu).map(([k, v]) => [k, [v.commands, v.syncs]]))]);
}

/* per SMMU: TLBI_NH_VA + CMD_SYNC, then two ATC_INVs (in flight together) + CMD_SYNC */
const PER_SMMU = C + S + (2 * C + A);
const EACH: Record<string, [number, number]> = { smmu0: [5, 2], smmu1: [5, 2], smmu2: [5, 2], smmu3: [5, 2] };
const REFUSED = "attach_dev: smmu_domain->smmu != master->smmu";

describe("a domain on masters behind 4 SMMUs with ATS", () => {
  const shared = compare(SHARED);

  test("the drivers compared", () => {
    expect([...shared.keys()]).toEqual(["legacy v7.0", "invs mainline", "invs v9", "invs share", "invs mainline +parallel_syncs"]);
  });

  test("invs share: one invalidation reaches the 4 SMMUs, 5 commands and 2 CMD_SYNCs each, one SMMU after another", () => {
    const r = result(shared.get("invs share"));
    expect(r.failures).toEqual([]);
    expect(invalidations(r)).toEqual([["iotlb_sync", 4 * PER_SMMU, EACH]]);
    /* per SMMU: its S1_ASID (1 to 4, one global ASID space) and an ATS entry per StreamID */
    expect(r.metrics.arrayEntries).toEqual({ min: 12, median: 12, max: 12 });
  });

  test("invs share +parallel_syncs: the same commands; only the TLBI syncs are waited for one SMMU at a time", () => {
    const r = runUnder(SHARED, { plugin: "driver-invs", variant: "share", options: { parallel_syncs: true } });
    expect(r.failures).toEqual([]);
    expect(invalidations(r)).toEqual([["iotlb_sync", 4 * (C + S) + 2 * C + A, EACH]]);
  });

  test("legacy, mainline, v9 and mainline +parallel_syncs: the domain cannot be attached behind a second SMMU (-EINVAL at each attach, a limit of the driver); its invalidation reaches smmu0 only", () => {
    for (const label of ["legacy v7.0", "invs mainline", "invs v9", "invs mainline +parallel_syncs"]) {
      const r = result(shared.get(label));
      expect(r.failures.map((f) => `${f.span.line}:${f.span.column}: ${f.message} [${f.lacks}]`)).toEqual(
        [1, 2, 3].map((i) => `10:21: attach dev${i} d1 failed: -EINVAL (arm_smmu_${REFUSED}) [-EINVAL]`),
      );
      expect(invalidations(r)).toEqual([["iotlb_sync", PER_SMMU, { smmu0: [5, 2] }]]);
      expect(r.metrics.arrayEntries).toEqual(label === "legacy v7.0" ? null : { min: 3, median: 3, max: 3 });
    }
  });

  test("a domain per SMMU (as v7.1 runs it): four invalidations, each 5 commands and 2 CMD_SYNCs on its SMMU, under every driver", () => {
    for (const [label, cell] of compare(ONE_PER_SMMU)) {
      const r = result(cell);
      expect(r.failures, label).toEqual([]);
      /* parallel_syncs changes nothing on one SMMU: the ATS batch waits for the TLBIs' sync there anyway */
      expect(invalidations(r), label).toEqual([0, 1, 2, 3].map((i) => ["iotlb_sync", PER_SMMU, { [`smmu${i}`]: [5, 2] }]));
      expect(r.metrics.arrayEntries, label).toEqual(label === "legacy v7.0" ? null : { min: 3, median: 3, max: 3 });
    }
  });
});
