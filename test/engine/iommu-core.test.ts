/**
 * The iommu core's rules before it calls the driver, kept once in the core
 * for every driver: a domain already attached is left as it is (0, the
 * driver not called), and a PASID must be one the device has (not
 * IOMMU_NO_PASID, below its max_pasids) with nothing attached at it. A
 * user's driver plugin wrapping driver-invs counts the calls that reach it;
 * both built-in drivers answer alike.
 */
import { describe, expect, test } from "vitest";
import { loadSmmu } from "../../src/engine/load.js";
import { runFile } from "../../src/engine/runner.js";
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

/** A Simulator on `topology` whose driver plugin extends driver-invs, with `wrap` overriding some of its entry points. */
function wrapped(topology: Topology, wrap: (driver: IommuDriver, base: IommuDriver) => void): Simulator {
  const plugin = definePlugin({
    kind: "driver",
    name: "driver-wrapped",
    version: "1",
    apiVersions: [1],
    extends: "driver-invs",
    variants: ["mainline"],
    description: "",
    schema: { type: "object" },
    setup(_ctx, base) {
      const driver = Object.create(base!) as IommuDriver;
      wrap(driver, base!);
      return driver;
    },
  });
  const registry = builtinRegistry();
  registry.register(plugin);
  return new Simulator(topology, { registry, driver: { plugin: "driver-wrapped" } });
}

/** A driver plugin extending driver-invs that records each ->attach_dev() and ->set_dev_pasid() reaching it. */
function counting(calls: string[]): Simulator {
  return wrapped(TOPO, (driver, base) => {
    driver.attachDev = function* (device, target) {
      calls.push(`attach_dev ${device} ${target}`);
      return yield* base.attachDev(device, target);
    };
    driver.setDevPasid = function* (device, domain, pasid) {
      calls.push(`set_dev_pasid ${device} ${domain} ${pasid}`);
      return yield* base.setDevPasid(device, domain, pasid);
    };
  });
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

describe("iommu_sva_bind_device() and iommu_sva_unbind_device(), the core's for every driver", () => {
  const SVA: Topology = {
    smmus: [
      { name: "smmu0", features: ["ats", "sva", "cd2l"] },
      { name: "smmu1", features: ["ats", "sva", "cd2l"] },
    ],
    devices: [
      { name: "acc0", smmu: "smmu0", sids: [0x100], ats: true, pasidBits: 4 },
      { name: "acc1", smmu: "smmu1", sids: [0x200], ats: true, pasidBits: 20 },
    ],
    domains: [
      { name: "p1", stage: "sva" },
      { name: "p2", stage: "sva" },
      { name: "d1", stage: "s1" },
    ],
  };

  /** A driver-invs wrapper recording ->domain_alloc_sva(), ->set_dev_pasid() and domain frees as the core calls them. */
  function recording(calls: string[]): Simulator {
    return wrapped(SVA, (driver, base) => {
      driver.domainAllocSva = (device, mm) => {
        const ret = base.domainAllocSva(device, mm);
        calls.push(`domain_alloc_sva ${device} ${mm}: ${ret}`);
        return ret;
      };
      driver.setDevPasid = function* (device, domain, pasid) {
        const ret = yield* base.setDevPasid(device, domain, pasid);
        calls.push(`set_dev_pasid ${device} ${domain} ${pasid}: ${ret}`);
        return ret;
      };
      driver.domainFree = function* (domain) {
        calls.push(`free ${domain}`);
        yield* base.domainFree(domain);
      };
    });
  }

  test("the mm's domains newest first, each error skipped; a new domain only when none takes the device; freed with its last user", () => {
    const calls: string[] = [];
    const s = recording(calls);
    expect(s.attachPasid("acc0", "p1", 1)).toBe(0);
    expect(s.attachPasid("acc1", "p1", 1)).toBe(0);
    expect(calls).toEqual([
      "domain_alloc_sva acc0 p1: p1@smmu0",
      "set_dev_pasid acc0 p1@smmu0 1: 0",
      /* arm_smmu_set_pasid(): another SMMU's domain, -EINVAL, skipped */
      "set_dev_pasid acc1 p1@smmu0 1: -22",
      "domain_alloc_sva acc1 p1: p1@smmu1",
      "set_dev_pasid acc1 p1@smmu1 1: 0",
    ]);
    calls.length = 0;
    s.detachPasid("acc0", 1);
    s.detachPasid("acc1", 1);
    expect(calls).toEqual(["free p1@smmu0", "free p1@smmu1"]);
  });

  test("a bind whose new domain's attach fails frees that domain and returns its error", () => {
    const calls: string[] = [];
    const s = recording(calls);
    s.failAllocs("cd_table");
    expect(s.attachPasid("acc0", "p1", 1)).toBe(-12);
    expect(calls).toEqual(["domain_alloc_sva acc0 p1: p1@smmu0", "set_dev_pasid acc0 p1@smmu0 1: -12", "free p1@smmu0"]);
    expect(s.invs("p1")).toEqual({ entries: [], trashes: 0, hasAts: false });
  });

  test("the same mm bound again at the device's PASID is counted, not attached again; another mm or domain there is -EBUSY", () => {
    const calls: string[] = [];
    const s = recording(calls);
    expect(s.attachPasid("acc0", "p1", 1)).toBe(0);
    calls.length = 0;
    expect(during(s, () => expect(s.attachPasid("acc0", "p1", 1)).toBe(0))).toEqual({ smmu0: [], smmu1: [] });
    expect(s.attachPasid("acc0", "p2", 1)).toBe(-16);
    expect(s.attachPasid("acc1", "d1", 2)).toBe(0);
    expect(s.attachPasid("acc1", "p1", 2)).toBe(-16);
    expect(calls).toEqual(["set_dev_pasid acc1 d1 2: 0"]);
    /* the first unbind drops the count; the second detaches and frees */
    s.detachPasid("acc0", 1);
    expect(s.driver.attached("acc0", 1)).toBe("p1@smmu0");
    s.detachPasid("acc0", 1);
    expect(s.driver.attached("acc0", 1)).toBeNull();
    expect(calls).toEqual(["set_dev_pasid acc1 d1 2: 0", "free p1@smmu0"]);
  });

  test("a PASID beyond the device's: -EOVERFLOW (iommu_alloc_mm_data()), the driver not called", () => {
    const calls: string[] = [];
    const s = recording(calls);
    expect(s.attachPasid("acc0", "p1", 16)).toBe(-75);
    expect(calls).toEqual([]);
  });
});

describe("the runner names the kernel's reason for each failure", () => {
  const registry = builtinRegistry();
  const failures = (text: string, seed = 0): string[] => {
    const [r] = runFile(loadSmmu("reasons.smmu", registry, text), { registry, seed });
    return r!.failures.map((f) => `${f.span.line}: ${f.message}${f.lacks ? ` [lacks ${f.lacks}]` : ""}`);
  };
  const TOPO = `smmu smmu0 { features: sva, cd2l; }
smmu smmu1 { features: cd2l; }
device dev0 { smmu: smmu0; sids: 0x10; pasid_bits: 8; }
device dev1 { smmu: smmu1; sids: 0x20; pasid_bits: 8; }
domain d1 { stage: s1; }
domain s2 { stage: s2; }
domain proc { stage: sva; }
`;

  test("a failed sva bind is reported as `sva bind`, with arm_smmu_sva_domain_alloc()'s reason", () => {
    expect(failures(`${TOPO}scenario "s" {\n  sva bind dev1 proc pasid 1;\n}\n`)).toEqual([
      "9: sva bind dev1 proc pasid 1 failed: -EOPNOTSUPP (arm_smmu_sva_domain_alloc: !(master->smmu->features & ARM_SMMU_FEAT_SVA))",
    ]);
  });

  test("in a concurrently block, each operation's failure has its own reason, whatever the interleaving", () => {
    const text = `${TOPO}scenario "s" {
  attach dev0 d1;
  concurrently {
    attach dev1 d1;
    attach dev0 s2 pasid 1;
  }
}
`;
    for (const seed of [0, 1, 2, 3, 4, 5, 6, 7]) {
      expect(failures(text, seed)).toEqual([
        "11: attach dev1 d1 failed: -EINVAL (arm_smmu_attach_dev: smmu_domain->smmu != master->smmu) [lacks -EINVAL]",
        "12: attach dev0 s2 pasid 1 failed: -EINVAL (arm_smmu_s1_set_dev_pasid: smmu_domain->stage != ARM_SMMU_DOMAIN_S1)",
      ]);
    }
  });
});
