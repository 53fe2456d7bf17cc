/**
 * driver-legacy's paths are stepped like driver-invs's: devices_lock is a
 * real spinlock between an unmap walking the devices list and an attach
 * adding to it, and interleavings of an unmap, an attach turning ATS on
 * and DMAs leave nothing stale (the nr_ats_masters ordering).
 */
import { describe, expect, test } from "vitest";
import type { Step } from "../../src/core/steps.js";
import { formatCmd } from "../../src/model/commands.js";
import type { Topology } from "../../src/model/topology.js";
import { LegacyDomain } from "../../plugins/driver-legacy/domain.js";
import { sim } from "../helpers/sim.js";

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

/** Step `path` until it yields a step of `fn` at `access`; that step. */
function stepTo(path: Generator<Step, unknown>, fn: string, access: string): Step {
  for (;;) {
    const r = path.next();
    if (r.done) throw new Error(`finished before ${fn}: ${access}`);
    if (r.value.fn === fn && r.value.access === access) return r.value;
  }
}

function finish<T>(path: Generator<Step, T>): T {
  for (;;) {
    const r = path.next();
    if (r.done) return r.value;
  }
}

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
