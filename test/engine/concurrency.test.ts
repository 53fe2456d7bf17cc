/**
 * `concurrently`: operations interleaved step by step by a seeded PRNG; the
 * same seed gives the same interleaving, different seeds different ones, and
 * a DMA served stale while the unmap is still running is not a violation.
 * Attaches serialise on arm_smmu_asid_lock; an unmap still interleaves with
 * them, never waiting for it. SVA binds and unbinds serialise on the iommu
 * core's iommu_sva_lock, in both drivers.
 */
import { describe, expect, test } from "vitest";
import type { InvsDriver } from "../../plugins/driver-invs/index.js";
import type { Step, Steps } from "../../src/model/step.js";
import type { Simulator } from "../../src/index.js";
import { formatCmd } from "../../src/model/commands.js";
import type { Topology } from "../../src/model/topology.js";
import { sim } from "../helpers/sim.js";
import { finish, stepTo, watched } from "../helpers/steps.js";
import { SVA_TWO_ON_ONE_SMMU } from "../helpers/topologies.js";

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

describe("iommu_sva_lock: a bind and the last unbind of the same process are serialised", () => {
  const SVA = SVA_TWO_ON_ONE_SMMU;
  const drivers = [
    ["driver-invs", {}],
    ["driver-legacy", { driver: { plugin: "driver-legacy" } }],
  ] as const;

  for (const [name, options] of drivers) {
    /** p1 bound on acc0 only, a page of it in acc0's ATC; commands cleared. */
    function boundOnAcc0(): Simulator {
      const s = sim(SVA, options);
      expect(s.attachPasid("acc0", "p1", 1)).toBe(0);
      s.map("p1", 0x10000, 0x1000);
      expect(s.dma("acc0", "read", 0x10000, { pasid: 1 })).toMatchObject({ kind: "ok", via: "walk" });
      s.clearCommands();
      return s;
    }

    /** The stream of the last unbind (acc0) and a bind (acc1) run one after the other. */
    function serial(unbindFirst: boolean): string {
      const s = boundOnAcc0();
      if (unbindFirst) {
        s.detachPasid("acc0", 1);
        s.attachPasid("acc1", "p1", 1);
      } else {
        s.attachPasid("acc1", "p1", 1);
        s.detachPasid("acc0", 1);
      }
      return s.commands("smmu0").map(formatCmd).join("\n");
    }

    test(`${name}: for 64 seeds, one whole after the other (either first), p1 left on acc1 alone with ASID 1, nothing stale`, () => {
      const orders = [serial(true), serial(false)];
      expect(orders[0]).not.toBe(orders[1]);
      const seen = new Set<number>();
      for (let seed = 0; seed < 64; seed++) {
        const s = boundOnAcc0();
        expect(s.runConcurrently([s.ops.detachPasid("acc0", 1), s.ops.attachPasid("acc1", "p1", 1)], seed)).toEqual([undefined, 0]);
        const order = orders.indexOf(s.commands("smmu0").map(formatCmd).join("\n"));
        expect(order, `seed ${seed}`).toBeGreaterThanOrEqual(0);
        seen.add(order);
        expect(s.commands("smmu1")).toEqual([]);
        if (name === "driver-invs") {
          expect(s.invs("p1")).toEqual({
            entries: [
              { smmu: "smmu0", type: "S1_ASID", id: 1, ssid: 0, users: 1 },
              { smmu: "smmu0", type: "ATS", id: 0x200, ssid: 1, users: 1 },
            ],
            trashes: 0,
            hasAts: true,
          });
        }
        expect(s.driver.liveTags()).toEqual(new Set(["smmu0 asid 1"]));
        expect(s.core.svaLock).toEqual({ readers: 0, writer: false });
        /* unbind first: the domain free flushed ASID 1; bind first: acc0's IOTLB entry for ASID 1 serves acc1 */
        expect(s.dma("acc1", "read", 0x10000, { pasid: 1 })).toMatchObject({ kind: "ok", via: order === 0 ? "walk" : "iotlb" });
        expect(s.dma("acc0", "read", 0x10000, { pasid: 1 })).toMatchObject({ kind: "abort" });
        expect(s.violations).toEqual([]);
      }
      /* the seeds let either take the mutex first */
      expect([...seen].sort()).toEqual([0, 1]);
    });

    test(`${name}: the bind sleeps on the mutex while the last unbind detaches and frees the domain, and attaches after it`, () => {
      const s = boundOnAcc0();
      const unbind = s.ops.detachPasid("acc0", 1).path as Steps<void>;
      stepTo(unbind, "iommu_sva_unbind_device", "mutex_lock(&iommu_sva_lock)");
      stepTo(unbind, "arm_smmu_blocking_set_dev_pasid", "mutex_lock(&arm_smmu_asid_lock)");
      expect(s.core.svaLock.writer).toBe(true);

      const bind = s.ops.attachPasid("acc1", "p1", 1).path as Steps<number>;
      stepTo(bind, "iommu_sva_bind_device", "mutex_lock(&iommu_sva_lock)");
      expect([bind.next().value, bind.next().value]).toEqual([SLEEP, SLEEP]);

      /* the unbind runs on to its end (the domain free's flush included) while the bind still sleeps */
      const unbindSteps: Step[] = [];
      for (let r = unbind.next(); !r.done; r = unbind.next()) {
        unbindSteps.push(r.value);
        expect(s.core.svaLock.writer).toBe(true);
        expect(bind.next().value).toEqual(SLEEP);
      }
      expect(unbindSteps.length).toBeGreaterThan(10);
      expect(s.core.svaLock.writer).toBe(false);
      const unbound = s.commands("smmu0").length;
      expect(unbound).toBeGreaterThan(0);

      expect(finish(bind)).toBe(0);
      expect(s.commands("smmu0").map(formatCmd).join("\n")).toBe(serial(true));
      expect(s.core.svaLock).toEqual({ readers: 0, writer: false });
    });
  }

  test("a detach at a PASID no bind made (an S1 domain's) does not take iommu_sva_lock", () => {
    const s = sim({ ...SVA, domains: [...SVA.domains, { name: "d1", stage: "s1" }] });
    expect(s.attachPasid("acc0", "d1", 2)).toBe(0);
    const steps: Step[] = [];
    finish(watched(s.ops.detachPasid("acc0", 2).path as Steps<void>, (st) => steps.push(st)));
    expect(steps.filter((st) => st.fn === "iommu_sva_unbind_device" || st.access === "sleep: mutex held")).toEqual([]);
  });
});
