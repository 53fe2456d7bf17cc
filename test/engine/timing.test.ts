/**
 * The timing model: costs configured per SMMU (cmd_ns, sync_ns) and per
 * endpoint (atc_inv_ns); every expected figure below is derived from those
 * costs, in the test, as the model defines them (see plugins/smmu-v3).
 */
import { describe, expect, test } from "vitest";
import { scenarioMetrics } from "../../src/engine/metrics.js";
import type { Simulator } from "../../src/index.js";
import type { DriverSpec, Topology } from "../../src/model/topology.js";
import { POLL_TIMEOUT_NS } from "../../plugins/smmu-v3/index.js";
import { sim } from "../helpers/sim.js";

/** Costs chosen so that no two sums of them coincide by accident. */
const C = 7; // cmd_ns
const S = 50; // sync_ns
const A = 400; // atc_inv_ns

function platform(smmus: number, opts: { sids?: number[]; stage?: "s1" | "sva" } = {}): Topology {
  const sids = opts.sids ?? [0];
  return {
    smmus: Array.from({ length: smmus }, (_, i) => ({ name: `smmu${i}`, features: ["ats", "sva", "cd2l"], props: { cmd_ns: C, sync_ns: S } })),
    devices: Array.from({ length: smmus }, (_, i) => ({
      name: `dev${i}`,
      smmu: `smmu${i}`,
      sids: sids.map((s) => 0x100 * (i + 1) + s),
      ats: true,
      pasidBits: 20,
      props: { atc_inv_ns: A },
    })),
    domains: [{ name: "d1", stage: opts.stage ?? "s1" }],
  };
}

/** The latency of the one invalidation `op` makes. */
function latencyOf(s: Simulator, op: () => void): number {
  const from = s.timeline.invalidations.length;
  op();
  const invs = s.timeline.invalidations.slice(from);
  expect(invs).toHaveLength(1);
  return invs[0]!.end - invs[0]!.start;
}

describe("one SMMU", () => {
  test("an unmap: TLBI then CMD_SYNC, waited for; ATC_INV then CMD_SYNC, which waits for the endpoint", () => {
    const s = sim(platform(1));
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    const t0 = s.clock.now;
    const from = s.timeline.commands.length;
    expect(latencyOf(s, () => s.unmap("d1", 0x10000, 0x1000))).toBe(C + S + (C + A));
    expect(s.timeline.commands.slice(from).map((c) => [c.cmd.op, c.start - t0, c.end - t0])).toEqual([
      ["TLBI_NH_VA", 0, C],
      ["CMD_SYNC", C, C + S],
      ["ATC_INV", C + S, C + S + C],
      /* the sync starts when the queue reaches it, and completes with the endpoint's answer */
      ["CMD_SYNC", C + S + C, C + S + C + A],
    ]);
    expect(s.timeline.atcInvs.at(-1)).toEqual({ device: "dev0", sid: 0x100, start: t0 + C + S + C, end: t0 + C + S + C + A, completed: true });
    expect(s.clock.now).toBe(t0 + C + S + C + A);
  });

  test("ATC_INVs to several StreamIDs are in flight together: one round trip, not one each", () => {
    const s = sim(platform(1, { sids: [0, 1, 2] }));
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    /* the third ATC_INV leaves at C+S+3C; the CMD_SYNC after it completes A later */
    expect(latencyOf(s, () => s.unmap("d1", 0x10000, 0x1000))).toBe(C + S + 3 * C + A);
  });

  test("a CMD_SYNC behind an ATC_INV that is never answered: the CPU polls until the timeout", () => {
    const s = sim(platform(1));
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    s.inject("dev0", "atc_no_response");
    expect(latencyOf(s, () => s.unmap("d1", 0x10000, 0x1000))).toBe(C + S + C + POLL_TIMEOUT_NS);
  });

  test("the metrics of a scenario: latency, commands and syncs per invalidation, array sizes", () => {
    const s = sim(platform(1));
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    s.map("d1", 0x20000, 0x1000);
    s.unmap("d1", 0x10000, 0x1000);
    s.invalidateAll("d1");
    const m = scenarioMetrics(s.timeline, ["smmu0"], s.clock.now);
    const unmap = C + S + C + A;
    /* flush: TLBI_NH_ASID + CMD_SYNC, then the whole-ATC ATC_INV + CMD_SYNC: the same shape */
    expect(m.invalidations.map((i) => [i.kind, i.latency, i.arrayEntries, i.perSmmu])).toEqual([
      ["iotlb_sync", unmap, 2, { smmu0: { commands: 4, syncs: 2 } }],
      ["flush_iotlb_all", unmap, 2, { smmu0: { commands: 4, syncs: 2 } }],
    ]);
    expect(m.latency).toEqual({ min: unmap, median: unmap, max: unmap });
    expect(m.syncsPerInvalidation).toEqual({ min: 2, median: 2, max: 2 });
    expect(m.arrayEntries).toEqual({ min: 2, median: 2, max: 2 });
  });
});

describe("SMMUs work in parallel", () => {
  const M = 8;
  /**
   * One process bound at PASID 1 on an ATS device behind each of 8 SMMUs
   * (an SVA domain per SMMU), or one S1 domain attached to all 8 (`share`:
   * one array over 8 SMMUs); the latency of one munmap() or unmap of a page.
   */
  function oneInvalidation(stage: "s1" | "sva", driver?: DriverSpec): { latency: number; perSmmu: Record<string, { commands: number; syncs: number }> } {
    const s = sim(platform(M, { stage }), { driver });
    for (let i = 0; i < M; i++) expect(stage === "sva" ? s.attachPasid(`dev${i}`, "d1", 1) : s.attach(`dev${i}`, "d1")).toBe(0);
    s.map("d1", 0x7f0000, 0x1000);
    s.unmap("d1", 0x7f0000, 0x1000);
    const [inv] = scenarioMetrics(s.timeline, s.platform.smmus().map((x) => x.name), s.clock.now).invalidations;
    expect(inv!.kind).toBe(stage === "sva" ? "mm_invalidate" : "iotlb_sync");
    return { latency: inv!.latency, perSmmu: inv!.perSmmu };
  }

  const eachSmmu = Object.fromEntries(Array.from({ length: M }, (_, i) => [`smmu${i}`, { commands: 4, syncs: 2 }]));

  test("the kernel waits for each CMD_SYNC: the SMMUs' invalidations add up (SVA, and a domain shared under `share`)", () => {
    for (const [stage, driver] of [["sva", undefined], ["s1", { variant: "share" }]] as const) {
      const { latency, perSmmu } = oneInvalidation(stage, driver);
      expect(perSmmu).toEqual(eachSmmu);
      /* per SMMU: TLBI + CMD_SYNC (C+S), then ATC_INV + CMD_SYNC completing with the endpoint (C+A) */
      expect(latency).toBe(M * (C + S + C + A));
    }
  });

  test("parallel_syncs issues every SMMU's batch of one array before waiting: the ATC round trips overlap", () => {
    const { latency, perSmmu } = oneInvalidation("s1", { variant: "share", options: { parallel_syncs: true } });
    expect(perSmmu).toEqual(eachSmmu);
    /*
     * Each SMMU's ATS batch still waits for the sync of its TLBIs (C+S each,
     * one SMMU after another); the last SMMU's ATC_INV + CMD_SYNC then takes C+A.
     */
    expect(latency).toBe(M * (C + S) + C + A);
    expect(latency).toBeLessThan(M * (C + S + C + A));
  });

  test("parallel_syncs and SVA: one array per SMMU, each notifier waits for its own syncs, so nothing overlaps", () => {
    const { latency, perSmmu } = oneInvalidation("sva", { options: { parallel_syncs: true } });
    expect(perSmmu).toEqual(eachSmmu);
    expect(latency).toBe(M * (C + S + C + A));
  });

  test("two CPUs invalidating on one SMMU queue behind each other, whatever the interleaving", () => {
    for (const seed of [1, 2, 3, 4]) {
      const base = platform(1);
      const s = sim({
        ...base,
        devices: [...base.devices, { name: "devx", smmu: "smmu0", sids: [0x900], ats: true, props: { atc_inv_ns: A } }],
        domains: [{ name: "d1", stage: "s1" }, { name: "d2", stage: "s1" }],
      });
      s.attach("dev0", "d1");
      s.attach("devx", "d2");
      s.map("d1", 0x10000, 0x1000);
      s.map("d2", 0x10000, 0x1000);
      const from = s.timeline.commands.length;
      s.runConcurrently([s.ops.unmap("d1", 0x10000, 0x1000), s.ops.unmap("d2", 0x10000, 0x1000)], seed);
      const cmds = s.timeline.commands.slice(from);
      expect(new Set(cmds.map((c) => c.source))).toEqual(new Set(["cpu0", "cpu1"]));
      /* one queue: a command starts when the one before it has finished */
      for (let i = 1; i < cmds.length; i++) expect(cmds[i]!.start).toBeGreaterThanOrEqual(cmds[i - 1]!.end);
      /* alone, each would take C+S+C+A; sharing the queue, the later one waits for some of the other's */
      const latencies = s.timeline.invalidations.slice(-2).map((i) => i.end - i.start);
      expect(Math.min(...latencies)).toBeGreaterThanOrEqual(C + S + C + A);
      expect(Math.max(...latencies)).toBeGreaterThan(C + S + C + A);
    }
  });
});
