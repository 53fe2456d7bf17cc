/**
 * driver-legacy's paths are stepped like driver-invs's: devices_lock is a
 * real spinlock between an unmap walking the devices list and an attach
 * adding to it, and interleavings of an unmap, an attach turning ATS on
 * and DMAs leave nothing stale (the nr_ats_masters ordering);
 * arm_smmu_asid_lock serialises attaches here too.
 */
import { describe, expect, test } from "vitest";
import type { Step } from "../../src/model/step.js";
import { formatCmd } from "../../src/model/commands.js";
import type { Topology } from "../../src/model/topology.js";
import { LegacyDomain } from "../../plugins/driver-legacy/domain.js";
import { sim } from "../helpers/sim.js";
import { finish, stepTo } from "../helpers/steps.js";

const topo: Topology = {
  smmus: [{ name: "smmu0", features: ["ats"] }],
  devices: [
    { name: "gpu0", smmu: "smmu0", sids: [0x100], ats: true },
    { name: "gpu1", smmu: "smmu0", sids: [0x200, 0x201], ats: true },
  ],
  domains: [
    { name: "d1", stage: "s1" },
    { name: "d2", stage: "s1" },
  ],
};

const legacy = () => sim(topo, { driver: { plugin: "driver-legacy" } });

describe("devices_lock", () => {
  test("an attach spins on it while an unmap walks the devices list, and joins the list after", () => {
    const s = legacy();
    s.attach("gpu0", "d1");
    s.map("d1", 0x10000, 0x1000);
    const d1 = s.driver.domain("d1") as LegacyDomain;
    const unmap = s.ops.unmap("d1", 0x10000, 0x1000).path;
    stepTo(unmap, "arm_smmu_atc_inv_domain", "read master_domain->master->ats_enabled");
    const attach = s.ops.attach("gpu1", "d1").path as Generator<Step, number>;
    stepTo(attach, "arm_smmu_attach_prepare", "spin_lock_irqsave(&smmu_domain->devices_lock)");
    expect(attach.next().value).toEqual({ fn: "write_lock", access: "spin: lock held" });
    expect(attach.next().value).toEqual({ fn: "write_lock", access: "spin: lock held" });
    expect([d1.devices.length, d1.nrAtsMasters]).toEqual([1, 1]);
    finish(unmap);
    expect(finish(attach)).toBe(0);
    expect([d1.devices.map((md) => md.master.name), d1.nrAtsMasters]).toEqual([["gpu0", "gpu1"], 2]);
  });
});

describe("interleavings of an unmap, an attach turning ATS on, and DMAs", () => {
  function race(seed: number): { stream: string; violations: string[]; results: unknown[] } {
    const s = legacy();
    s.attach("gpu0", "d1");
    s.attach("gpu1", "d2");
    s.map("d1", 0x10000, 0x2000);
    s.dma("gpu0", "read", 0x10000);
    s.clearCommands();
    const results = s.runConcurrently(
      [s.ops.unmap("d1", 0x10000, 0x2000), s.ops.attach("gpu1", "d1"), s.ops.dma("gpu1", "read", 0x11000), s.ops.dma("gpu0", "read", 0x10000)],
      seed,
    );
    s.dma("gpu0", "read", 0x10000);
    s.dma("gpu1", "read", 0x11000);
    return { stream: s.commands("smmu0").map(formatCmd).join("\n"), violations: s.violations.map((v) => v.message), results };
  }

  test("the same seed gives the same interleaving", () => {
    expect(race(3)).toEqual(race(3));
  });

  test("32 seeds: different interleavings, the attach always succeeds, nothing stale", () => {
    const streams = new Set<string>();
    for (let seed = 0; seed < 32; seed++) {
      const r = race(seed);
      streams.add(r.stream);
      expect(r.results[1]).toBe(0);
      expect(r.violations).toEqual([]);
    }
    expect(streams.size).toBeGreaterThan(3);
  });
});

describe("arm_smmu_asid_lock (the attach paths driver-invs shares)", () => {
  function serial(first: string, second: string): string {
    const s = legacy();
    s.attach(first, "d1");
    s.attach(second, "d1");
    return s.commands("smmu0").map(formatCmd).join("\n");
  }

  test("a second attach sleeps on the mutex until the first has committed", () => {
    const s = legacy();
    const first = s.ops.attach("gpu0", "d1").path as Generator<Step, number>;
    stepTo(first, "arm_smmu_attach_prepare", "spin_lock_irqsave(&smmu_domain->devices_lock)");
    const second = s.ops.attach("gpu1", "d1").path as Generator<Step, number>;
    stepTo(second, "arm_smmu_attach_dev", "mutex_lock(&arm_smmu_asid_lock)");
    expect(second.next().value).toEqual({ fn: "mutex_lock", access: "sleep: mutex held" });
    expect(finish(first)).toBe(0);
    expect(finish(second)).toBe(0);
    expect((s.driver.domain("d1") as LegacyDomain).devices.map((md) => md.master.name)).toEqual(["gpu0", "gpu1"]);
  });

  test("two masters attached to one domain at once: for 32 seeds, one attach's commands after the other's, both on the list", () => {
    const orders = [serial("gpu0", "gpu1"), serial("gpu1", "gpu0")];
    const seen = new Set<number>();
    for (let seed = 0; seed < 32; seed++) {
      const s = legacy();
      expect(s.runConcurrently([s.ops.attach("gpu0", "d1"), s.ops.attach("gpu1", "d1")], seed)).toEqual([0, 0]);
      const order = orders.indexOf(s.commands("smmu0").map(formatCmd).join("\n"));
      expect(order).toBeGreaterThanOrEqual(0);
      seen.add(order);
      const d1 = s.driver.domain("d1") as LegacyDomain;
      expect([d1.devices.map((md) => md.master.name).sort(), d1.nrAtsMasters]).toEqual([["gpu0", "gpu1"], 2]);
    }
    expect([...seen].sort()).toEqual([0, 1]);
  });
});
