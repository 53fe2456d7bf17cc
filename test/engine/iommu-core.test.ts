/**
 * The iommu core's rules before it calls the driver, kept once in the core
 * for every driver: a domain already attached is left as it is (0, the
 * driver not called), and a PASID must be one the device has (not
 * IOMMU_NO_PASID, below its max_pasids) with nothing attached at it. A
 * user's driver plugin wrapping driver-invs counts the calls that reach it;
 * both built-in drivers answer alike.
 */
import { describe, expect, test } from "vitest";
import { builtinRegistry, definePlugin, type IommuDriver, Simulator, type Topology } from "../../src/index.js";
import { during } from "../helpers/sim.js";

const TOPO: Topology = {
  smmus: [{ name: "smmu0", features: ["ats", "cd2l"] }],
  devices: [
    { name: "gpu0", smmu: "smmu0", sids: [0x10], ats: true, pasidBits: 8 },
    { name: "dma0", smmu: "smmu0", sids: [0x20], pci: false },
  ],
  domains: [
    { name: "d1", stage: "s1" },
    { name: "d2", stage: "s1" },
  ],
};

/** A driver plugin extending driver-invs that records each ->attach_dev() and ->set_dev_pasid() reaching it. */
function counting(calls: string[]): Simulator {
  const plugin = definePlugin({
    kind: "driver",
    name: "driver-counting",
    version: "1",
    apiVersions: [1],
    extends: "driver-invs",
    variants: ["mainline"],
    description: "",
    schema: { type: "object" },
    setup(_ctx, base) {
      const driver = Object.create(base!) as IommuDriver;
      driver.attachDev = function* (device, target) {
        calls.push(`attach_dev ${device} ${target}`);
        return yield* base!.attachDev(device, target);
      };
      driver.setDevPasid = function* (device, domain, pasid) {
        calls.push(`set_dev_pasid ${device} ${domain} ${pasid}`);
        return yield* base!.setDevPasid(device, domain, pasid);
      };
      return driver;
    },
  });
  const registry = builtinRegistry();
  registry.register(plugin);
  return new Simulator(TOPO, { registry, driver: { plugin: "driver-counting" } });
}

describe("the iommu core before ->attach_dev(): __iommu_group_set_domain_internal()", () => {
  test("a domain already attached: 0, and the driver is not called, nor any command sent", () => {
    const calls: string[] = [];
    const s = counting(calls);
    expect(s.attach("gpu0", "d1")).toBe(0);
    expect(during(s, () => expect(s.attach("gpu0", "d1")).toBe(0))).toEqual({ smmu0: [] });
    expect(s.attach("gpu0", "blocked")).toBe(0);
    expect(during(s, () => expect(s.attach("gpu0", "blocked")).toBe(0))).toEqual({ smmu0: [] });
    expect(s.attach("gpu0", "identity")).toBe(0);
    expect(s.attach("gpu0", "d1")).toBe(0);
    expect(calls).toEqual(["attach_dev gpu0 d1", "attach_dev gpu0 blocked", "attach_dev gpu0 identity", "attach_dev gpu0 d1"]);
  });

  test("a failed attach leaves the old domain attached: trying again calls the driver again", () => {
    const calls: string[] = [];
    const s = counting(calls);
    s.failAllocs("invs");
    expect(s.attach("gpu0", "d1")).toBe(-12);
    expect(s.attach("gpu0", "d1")).toBe(0);
    expect(calls).toEqual(["attach_dev gpu0 d1", "attach_dev gpu0 d1"]);
  });
});

describe("the iommu core before ->set_dev_pasid(): iommu_attach_device_pasid()", () => {
  test("IOMMU_NO_PASID, a PASID at or beyond max_pasids, and a device without PASIDs: -EINVAL, the driver not called", () => {
    const calls: string[] = [];
    const s = counting(calls);
    s.attach("gpu0", "d1");
    calls.length = 0;
    expect(s.attachPasid("gpu0", "d2", 0)).toBe(-22);
    expect(s.attachPasid("gpu0", "d2", 256)).toBe(-22);
    expect(s.attachPasid("dma0", "d2", 1)).toBe(-22);
    expect(calls).toEqual([]);
    expect(s.attachPasid("gpu0", "d2", 255)).toBe(0);
    expect(calls).toEqual(["set_dev_pasid gpu0 d2 255"]);
  });

  test("a PASID something is attached at: -EBUSY, the driver not called; free again once detached", () => {
    const calls: string[] = [];
    const s = counting(calls);
    s.attach("gpu0", "d1");
    calls.length = 0;
    expect(s.attachPasid("gpu0", "d2", 1)).toBe(0);
    expect(during(s, () => expect(s.attachPasid("gpu0", "d2", 1)).toBe(-16))).toEqual({ smmu0: [] });
    expect(s.attachPasid("gpu0", "d1", 1)).toBe(-16);
    s.detachPasid("gpu0", 1);
    expect(s.attachPasid("gpu0", "d1", 1)).toBe(0);
    expect(calls).toEqual(["set_dev_pasid gpu0 d2 1", "set_dev_pasid gpu0 d1 1"]);
  });
});

describe.each(["driver-invs", "driver-legacy"])("%s: what the core answers for it", (plugin) => {
  const s = (): Simulator => new Simulator(TOPO, { driver: { plugin } });

  test("-EINVAL and -EBUSY at the PASIDs the core refuses", () => {
    const sim = s();
    sim.attach("gpu0", "d1");
    expect([0, 256, -1].map((p) => sim.attachPasid("gpu0", "d2", p))).toEqual([-22, -22, -22]);
    expect(sim.attachPasid("dma0", "d2", 1)).toBe(-22);
    expect(sim.attachPasid("gpu0", "d2", 3)).toBe(0);
    expect(sim.attachPasid("gpu0", "d2", 3)).toBe(-16);
  });

  test("the last PASID leaving a RID never attached blocks it: attaching blocked then finds it attached", () => {
    const sim = s();
    expect(sim.attachPasid("gpu0", "d1", 1)).toBe(0);
    sim.detachPasid("gpu0", 1);
    expect(sim.driver.attached("gpu0")).toBe("blocked");
    expect(during(sim, () => expect(sim.attach("gpu0", "blocked")).toBe(0))).toEqual({ smmu0: [] });
  });
});
