/**
 * `concurrently`: operations interleaved step by step by a seeded PRNG; the
 * same seed gives the same interleaving, different seeds different ones, and
 * a DMA served stale while the unmap is still running is not a violation.
 * Attaches serialise on arm_smmu_asid_lock; an unmap still interleaves with
 * them, never waiting for it.
 */
import { describe, expect, test } from "vitest";
import type { InvsDriver } from "../../plugins/driver-invs/index.js";
import type { Step, Steps } from "../../src/core/steps.js";
import type { Simulator } from "../../src/engine/simulator.js";
import { formatCmd } from "../../src/model/commands.js";
import type { Topology } from "../../src/model/topology.js";
import { sim } from "../helpers/sim.js";
import { finish, stepTo, watched } from "../helpers/steps.js";

const topo: Topology = {
  smmus: [{ name: "smmu0", features: ["ats"] }],
  devices: [
    { name: "gpu0", smmu: "smmu0", sids: [0x100], ats: true },
    { name: "gpu1", smmu: "smmu0", sids: [0x200], ats: true },
  ],
  domains: [
    { name: "d1", stage: "s1" },
    { name: "d2", stage: "s1" },
  ],
};

function race(seed: number): { stream: string[]; dma: unknown; violations: number } {
  const s = sim(topo);
  s.attach("gpu0", "d1");
  s.attach("gpu1", "d2");
  s.map("d1", 0x10000, 0x1000);
  s.dma("gpu0", "read", 0x10000);
  s.clearCommands();
  const [, , dma] = s.runConcurrently([s.ops.unmap("d1", 0x10000, 0x1000), s.ops.attach("gpu1", "d1"), s.ops.dma("gpu0", "read", 0x10000)], seed);
  return { stream: s.commands("smmu0").map(formatCmd), dma, violations: s.violations.length };
}

describe("interleaving by seed", () => {
  test("the same seed gives the same interleaving", () => {
    expect(race(7)).toEqual(race(7));
  });

  test("seeds reach different interleavings, none of them stale", () => {
    const streams = new Set<string>();
    for (let seed = 0; seed < 16; seed++) {
      const r = race(seed);
      streams.add(r.stream.join("\n"));
      expect(r.violations).toBe(0);
    }
    expect(streams.size).toBeGreaterThan(3);
  });

  test("every interleaving ends with the same array: both devices' entries, ASID shared", () => {
    for (let seed = 0; seed < 8; seed++) {
      const s = sim(topo);
      s.attach("gpu0", "d1");
      s.attach("gpu1", "d2");
      s.map("d1", 0x10000, 0x1000);
      s.runConcurrently([s.ops.unmap("d1", 0x10000, 0x1000), s.ops.attach("gpu1", "d1")], seed);
      expect(s.invs("d1")?.entries.map((e) => `${e.type}/${e.id}/${e.users}`)).toEqual(["S1_ASID/1/2", "ATS/256/1", "ATS/512/1"]);
    }
  });
});

const asidLockOf = (s: Simulator) => (s.driver as InvsDriver).ctx.asidLock;
const SLEEP = { fn: "mutex_lock", access: "sleep: mutex held" };

describe("arm_smmu_asid_lock: attaches are serialised, invalidations are not", () => {
  /** The commands smmu0 gets when `first` and then `second` are attached to d1. */
  function serial(first: string, second: string): string[] {
    const s = sim(topo);
    s.attach(first, "d1");
    s.attach(second, "d1");
    return s.commands("smmu0").map(formatCmd);
  }

  test("two masters attached to one domain at once: for 64 seeds, the full array and one attach's commands after the other's", () => {
    const orders = [serial("gpu0", "gpu1").join("\n"), serial("gpu1", "gpu0").join("\n")];
    const seen = new Set<number>();
    for (let seed = 0; seed < 64; seed++) {
      const s = sim(topo);
      expect(s.runConcurrently([s.ops.attach("gpu0", "d1"), s.ops.attach("gpu1", "d1")], seed)).toEqual([0, 0]);
      expect(s.invs("d1")).toEqual({
        entries: [
          { smmu: "smmu0", type: "S1_ASID", id: 1, ssid: 0, users: 2 },
          { smmu: "smmu0", type: "ATS", id: 0x100, ssid: 0, users: 1 },
          { smmu: "smmu0", type: "ATS", id: 0x200, ssid: 0, users: 1 },
        ],
        trashes: 0,
        hasAts: true,
      });
      const order = orders.indexOf(s.commands("smmu0").map(formatCmd).join("\n"));
      expect(order).toBeGreaterThanOrEqual(0);
      seen.add(order);
      expect(s.violations).toEqual([]);
      expect(asidLockOf(s)).toEqual({ readers: 0, writer: false });
    }
    /* the seeds let either attach take the mutex first */
    expect([...seen].sort()).toEqual([0, 1]);
  });

  test("a second attach sleeps on the mutex while the first holds it; an unmap meanwhile never waits for it", () => {
    const s = sim(topo);
    s.attach("gpu1", "d2");
    s.map("d1", 0x10000, 0x1000);
    const first = s.ops.attach("gpu0", "d1").path as Steps<number>;
    stepTo(first, "arm_smmu_attach_prepare", "spin_lock_irqsave(&smmu_domain->devices_lock)");
    expect(asidLockOf(s).writer).toBe(true);

    const second = s.ops.attach("gpu1", "d1").path as Steps<number>;
    stepTo(second, "arm_smmu_attach_dev", "mutex_lock(&arm_smmu_asid_lock)");
    expect([second.next().value, second.next().value]).toEqual([SLEEP, SLEEP]);

    const unmapSteps: Step[] = [];
    finish(watched(s.ops.unmap("d1", 0x10000, 0x1000).path as Steps<unknown>, (st) => unmapSteps.push(st)));
    expect(unmapSteps.filter((st) => st.fn === "mutex_lock")).toEqual([]);
    expect(second.next().value).toEqual(SLEEP);

    expect(finish(first)).toBe(0);
    expect(asidLockOf(s).writer).toBe(false);
    expect(finish(second)).toBe(0);
    expect(s.invs("d1")?.entries.map((e) => `${e.type}/${e.id}/${e.users}`)).toEqual(["S1_ASID/1/2", "ATS/256/1", "ATS/512/1"]);
  });

  test("an unmap racing an attach to its domain never waits for the mutex: in 32 seeds its steps run, and in 31 its TLBI goes out, while the attach holds it", () => {
    let stepsInside = 0;
    let tlbiInside = 0;
    for (let seed = 0; seed < 32; seed++) {
      const s = sim(topo);
      s.attach("gpu0", "d1");
      s.attach("gpu1", "d2");
      s.map("d1", 0x10000, 0x1000);
      const lock = asidLockOf(s);
      let tlbiUnderLock = false;
      s.bus.on("cmd:queued", "test", (e) => {
        if (e.cmd.op === "TLBI_NH_VA" && lock.writer) tlbiUnderLock = true;
      });
      const unmap = s.ops.unmap("d1", 0x10000, 0x1000);
      let underLock = false;
      const path = watched(unmap.path, (st) => {
        expect(st.fn).not.toBe("mutex_lock");
        if (lock.writer) underLock = true;
      });
      expect(s.runConcurrently([{ ...unmap, path }, s.ops.attach("gpu1", "d1")], seed)).toEqual([[{ iova: 0x10000, size: 0x1000, pa: 0x10_0000_0000, writable: true }], 0]);
      if (underLock) stepsInside++;
      if (tlbiUnderLock) tlbiInside++;
      expect(s.violations).toEqual([]);
    }
    /* what the 32 seeded interleavings give */
    expect([stepsInside, tlbiInside]).toEqual([32, 31]);
  });
});
