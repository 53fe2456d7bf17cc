/**
 * Exact command streams of driver-legacy, the driver before the series
 * (v7.0), every field, per SMMU. Expectations come from the pre-series
 * functions the seed's patch 7 removes: arm_smmu_tlb_inv_range_domain()
 * (TLBIs in one batch with their own CMD_SYNC, then arm_smmu_atc_inv_domain()
 * with another), arm_smmu_tlb_inv_context() and the SVA notifier.
 */
import { describe, expect, test } from "vitest";
import type { Cmd } from "../../src/model/commands.js";
import type { Topology } from "../../src/model/topology.js";
import type { Simulator } from "../../src/index.js";
import type { SimulatorOptions } from "../../src/index.js";
import { LegacyDomain } from "../../plugins/driver-legacy/domain.js";
import { atcInv, cdWrite, cfgiCd, el2Asid, el2Va, nhAll, nhAsid, nhVa, s12Vmall, s2Ipa, steWrite, SYNC } from "../helpers/cmds.js";
import { during, sim } from "../helpers/sim.js";
import { SVA_TWO_ON_ONE_SMMU } from "../helpers/topologies.js";

const LEGACY: SimulatorOptions = { driver: { plugin: "driver-legacy" } };
const legacy = (topology: Topology, options: SimulatorOptions = {}): Simulator => sim(topology, { ...options, ...LEGACY });

/** The driver's struct arm_smmu_domain behind a paging domain's name. */
const domainOf = (s: Simulator, name: string): LegacyDomain => {
  const d = s.driver.domain(name);
  if (!(d instanceof LegacyDomain)) throw new Error(`${name} is not a driver-legacy paging domain`);
  return d;
};

const pages = (asid: number, from: number, n: number, r: { leaf?: boolean } = {}): Cmd[] =>
  Array.from({ length: n }, (_, i) => nhVa(asid, BigInt(from + i * 0x1000), r));

const one = (features: Topology["smmus"][number]["features"], device: Partial<Topology["devices"][number]> = {}): Topology => ({
  smmus: [{ name: "smmu0", features }],
  devices: [{ name: "dev0", smmu: "smmu0", sids: [0x10], ...device }],
  domains: [
    { name: "d1", stage: "s1" },
    { name: "d2", stage: "s1" },
    { name: "s2", stage: "s2" },
  ],
});

test("the plugin is built in, as driver-legacy v7.0, and keeps no invalidation array", () => {
  const s = legacy(one([]));
  expect([s.driver.plugin, s.driver.variant]).toEqual(["driver-legacy", "v7.0"]);
  expect(s.driver.allocSites).toEqual(["master_domain", "cd_table"]);
  expect(s.driver.invsAlgebra).toBeUndefined();
  s.attach("dev0", "d1");
  expect(s.invs("d1")).toBeNull();
});

describe("an S1 domain on a device with two StreamIDs and ATS", () => {
  /* firmware lists 0x101 first: before the series the streams are not sorted */
  const topo = one(["ats"], { sids: [0x101, 0x100], ats: true });

  test("attach: CD 0, each STE in firmware order, then the whole-ATC flush before ATS goes on; nr_ats_masters 1", () => {
    const s = legacy(topo);
    let ret = -1;
    expect(during(s, () => (ret = s.attach("dev0", "d1")))).toEqual({
      smmu0: [...cdWrite([0x101, 0x100], 0, 2), ...steWrite(0x101, 2), ...steWrite(0x100, 2), atcInv(0x101), atcInv(0x100), SYNC],
    });
    expect(ret).toBe(0);
    expect(s.platform.device("dev0").atsEnabled).toBe(true);
    expect(domainOf(s, "d1").nrAtsMasters).toBe(1);
  });

  test("unmap: a TLBI per page and their CMD_SYNC, then an ATC_INV per StreamID spanning pages 0x10-0x11 and another CMD_SYNC", () => {
    const s = legacy(topo);
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x2000);
    expect(s.dma("dev0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "walk" });
    expect(s.dma("dev0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "atc" });
    expect(during(s, () => s.unmap("d1", 0x10000, 0x2000))).toEqual({
      smmu0: [...pages(1, 0x10000, 2), SYNC, atcInv(0x101, { addr: 0x10000n, size: 1 }), atcInv(0x100, { addr: 0x10000n, size: 1 }), SYNC],
    });
    expect(s.dma("dev0", "read", 0x10000)).toMatchObject({ kind: "fault", event: "F_TRANSLATION" });
    expect(s.violations).toEqual([]);
  });

  test("flush: TLBI_NH_ASID and its CMD_SYNC, then the whole ATC of every StreamID and a CMD_SYNC", () => {
    const s = legacy(topo);
    s.attach("dev0", "d1");
    expect(during(s, () => s.invalidateAll("d1"))).toEqual({ smmu0: [nhAsid(1), SYNC, atcInv(0x101), atcInv(0x100), SYNC] });
  });

  test("two masters: the ATC_INVs follow the devices list, newest first (list_add)", () => {
    const s = legacy({ ...topo, devices: [...topo.devices, { name: "dev1", smmu: "smmu0", sids: [0x20], ats: true }] });
    s.attach("dev0", "d1");
    s.attach("dev1", "d1");
    expect(domainOf(s, "d1").nrAtsMasters).toBe(2);
    s.map("d1", 0x10000, 0x1000);
    expect(during(s, () => s.unmap("d1", 0x10000, 0x1000))).toEqual({
      smmu0: [nhVa(1, 0x10000n), SYNC, atcInv(0x20, { addr: 0x10000n, size: 0 }), atcInv(0x101, { addr: 0x10000n, size: 0 }), atcInv(0x100, { addr: 0x10000n, size: 0 }), SYNC],
    });
  });
});

describe("an S2 domain with ATS and RANGE_INV", () => {
  const topo = one(["ats", "range_inv"], { ats: true });

  test("attach: the S2 STE in two steps, then the ATC flush; VMID 1 from smmu0's space", () => {
    const s = legacy(topo);
    expect(during(s, () => s.attach("dev0", "s2"))).toEqual({ smmu0: [...steWrite(0x10, 2), atcInv(0x10), SYNC] });
    expect(domainOf(s, "s2").vmid).toBe(1);
  });

  test("unmap of two pages: one TLBI_S2_IPA (scale 1, TTL 3, TG 4K) and its sync, then the ATC_INV and its sync", () => {
    const s = legacy(topo);
    s.attach("dev0", "s2");
    s.map("s2", 0x10000, 0x2000);
    expect(during(s, () => s.unmap("s2", 0x10000, 0x2000))).toEqual({
      smmu0: [s2Ipa(1, 0x10000n, { scale: 1, ttl: 3, tg: 1 }), SYNC, atcInv(0x10, { addr: 0x10000n, size: 1 }), SYNC],
    });
  });

  test("flush: TLBI_S12_VMALL and its sync, then the whole ATC and a sync", () => {
    const s = legacy(topo);
    s.attach("dev0", "s2");
    expect(during(s, () => s.invalidateAll("s2"))).toEqual({ smmu0: [s12Vmall(1), SYNC, atcInv(0x10), SYNC] });
  });
});

describe("nr_ats_masters 0: no ATC_INV and no second CMD_SYNC", () => {
  test("a device without ATS on an SMMU with ATS", () => {
    const s = legacy(one(["ats"]));
    s.attach("dev0", "d1");
    expect(domainOf(s, "d1").nrAtsMasters).toBe(0);
    s.map("d1", 0x10000, 0x1000);
    expect(during(s, () => s.unmap("d1", 0x10000, 0x1000))).toEqual({ smmu0: [nhVa(1, 0x10000n), SYNC] });
    expect(during(s, () => s.invalidateAll("d1"))).toEqual({ smmu0: [nhAsid(1), SYNC] });
  });

  test("the only ATS master left: decremented after ATS went off, and unmaps stop reaching ATCs", () => {
    const topo: Topology = {
      smmus: [{ name: "smmu0", features: ["ats"] }],
      devices: [
        { name: "gpu0", smmu: "smmu0", sids: [0x100], ats: true },
        { name: "nic0", smmu: "smmu0", sids: [0x200] },
      ],
      domains: [{ name: "d1", stage: "s1" }],
    };
    const s = legacy(topo);
    s.attach("gpu0", "d1");
    s.attach("nic0", "d1");
    expect(domainOf(s, "d1").nrAtsMasters).toBe(1);
    /* ATS goes off before the STE changes, then the whole ATC is flushed, and CD 0 cleared; the ASID is not flushed */
    expect(during(s, () => s.attach("gpu0", "blocked"))).toEqual({
      smmu0: [...steWrite(0x100, 2), atcInv(0x100), SYNC, ...cdWrite([0x100], 0, 2)],
    });
    expect(s.platform.device("gpu0").atsEnabled).toBe(false);
    expect(domainOf(s, "d1").nrAtsMasters).toBe(0);
    s.map("d1", 0x10000, 0x1000);
    expect(during(s, () => s.unmap("d1", 0x10000, 0x1000))).toEqual({ smmu0: [nhVa(1, 0x10000n), SYNC] });
  });

  test("an SMMU without ATS: arm_smmu_atc_inv_domain() returns at once", () => {
    const s = legacy(one([], { ats: true }));
    s.attach("dev0", "d1");
    expect(s.platform.device("dev0").atsEnabled).toBe(false);
    s.map("d1", 0x10000, 0x1000);
    expect(during(s, () => s.unmap("d1", 0x10000, 0x1000))).toEqual({ smmu0: [nhVa(1, 0x10000n), SYNC] });
  });
});

describe("one domain, one SMMU", () => {
  const topo: Topology = {
    smmus: [
      { name: "smmu0", features: ["ats", "range_inv"] },
      { name: "smmu1", features: ["ats"] },
    ],
    devices: [
      { name: "gpu0", smmu: "smmu0", sids: [0x100, 0x101], ats: true, pasidBits: 8 },
      { name: "nic0", smmu: "smmu1", sids: [0x200], ats: true, pasidBits: 8 },
    ],
    domains: [
      { name: "d1", stage: "s1" },
      { name: "d2", stage: "s1" },
    ],
  };

  test("attaching a domain to a master behind another SMMU fails with -EINVAL and changes nothing", () => {
    const s = legacy(topo);
    expect(s.attach("gpu0", "d1")).toBe(0);
    expect(domainOf(s, "d1").smmu?.name).toBe("smmu0");
    const ste = [...s.platform.smmu("smmu1").strtab.ste(0x200)];
    let ret = 0;
    expect(during(s, () => (ret = s.attach("nic0", "d1")))).toEqual({ smmu0: [], smmu1: [] });
    expect(ret).toBe(-22);
    expect(s.platform.smmu("smmu1").strtab.ste(0x200)).toEqual(ste);
    /* nor at a PASID */
    expect(s.attachPasid("nic0", "d1", 1)).toBe(-22);
    /* a domain first used behind smmu1 belongs to smmu1 */
    expect(s.attach("nic0", "d2")).toBe(0);
    expect(domainOf(s, "d2").smmu?.name).toBe("smmu1");
    expect(s.attach("gpu0", "d2")).toBe(-22);
  });

  test("an unmap reaches only the domain's SMMU", () => {
    const s = legacy(topo);
    s.attach("gpu0", "d1");
    s.attach("nic0", "d1");
    s.map("d1", 0x10000, 0x4000);
    expect(during(s, () => s.unmap("d1", 0x10000, 0x4000))).toEqual({
      smmu0: [
        nhVa(1, 0x10000n, { scale: 2, ttl: 3, tg: 1 }),
        SYNC,
        atcInv(0x100, { addr: 0x10000n, size: 2 }),
        atcInv(0x101, { addr: 0x10000n, size: 2 }),
        SYNC,
      ],
      smmu1: [],
    });
  });

  test("a domain no device has used is invalidated nowhere (the kernel's is bound from its allocation)", () => {
    const s = legacy(topo);
    s.map("d1", 0x10000, 0x1000);
    expect(during(s, () => s.unmap("d1", 0x10000, 0x1000))).toEqual({ smmu0: [], smmu1: [] });
    expect(during(s, () => s.invalidateAll("d1"))).toEqual({ smmu0: [], smmu1: [] });
  });
});

describe("range encoding", () => {
  /* TG 1 (4K), TTL 4 - (12 - 3) / (12 - 3) = 3 for a leaf 4K granule */
  const leaf4k = { tg: 1, ttl: 3 };

  test("33 pages with RANGE_INV: two range commands, 1 page then 32 as scale 5", () => {
    const s = legacy(one(["range_inv"]));
    s.attach("dev0", "d2");
    s.map("d2", 0x10000, 0x21000);
    expect(during(s, () => s.unmap("d2", 0x10000, 0x21000)).smmu0).toEqual([nhVa(2, 0x10000n, leaf4k), nhVa(2, 0x11000n, { ...leaf4k, scale: 5 }), SYNC]);
  });

  test("33 pages without RANGE_INV: 33 per-page commands, TG, TTL, NUM and SCALE zero", () => {
    const s = legacy(one([]));
    s.attach("dev0", "d2");
    s.map("d2", 0x10000, 0x21000);
    expect(during(s, () => s.unmap("d2", 0x10000, 0x21000)).smmu0).toEqual([...pages(2, 0x10000, 33), SYNC]);
  });

  test("a 2 MiB block is the gather's granule: TTL 2 and 512 pages as scale 9 with RANGE_INV, one command without", () => {
    for (const [features, cmd] of [
      [["range_inv"], nhVa(1, 0x20_0000n, { tg: 1, ttl: 2, scale: 9 })],
      [[], nhVa(1, 0x20_0000n)],
    ] as const) {
      const s = legacy(one([...features]));
      s.attach("dev0", "d1");
      s.map("d1", 0x20_0000, 0x20_0000);
      expect(during(s, () => s.unmap("d1", 0x20_0000, 0x20_0000)).smmu0).toEqual([cmd, SYNC]);
    }
  });

  test("no too-big rule before the series: 2 MiB of 4K pages is 512 TLBI_NH_VA (mainline: one TLBI_NH_ASID)", () => {
    const streams = [legacy(one([])), sim(one([]))].map((s) => {
      s.attach("dev0", "d1");
      /* at 0x1000 nothing is 2 MiB aligned, so these are 4K pages */
      s.map("d1", 0x1000, 0x20_0000);
      return during(s, () => s.unmap("d1", 0x1000, 0x20_0000)).smmu0;
    });
    expect(streams).toEqual([
      [...pages(1, 0x1000, 512), SYNC],
      [nhAsid(1), SYNC],
    ]);
  });

  test("batches: 65 commands are issued as 64 without a CMD_SYNC, then 1 with it", () => {
    const s = legacy(one([]));
    s.attach("dev0", "d1");
    s.map("d1", 0x1000, 65 * 0x1000);
    const submissions: { n: number; sync: boolean }[] = [];
    s.bus.on("cmd:queued", "test", (e) => {
      const last = submissions.at(-1);
      if (e.cmd.op === "CMD_SYNC") last!.sync = true;
      else if (!last || last.sync || last.n === 64) submissions.push({ n: 1, sync: false });
      else last.n++;
    });
    expect(during(s, () => s.unmap("d1", 0x1000, 65 * 0x1000))).toEqual({ smmu0: [...pages(1, 0x1000, 65), SYNC] });
    expect(submissions).toEqual([
      { n: 64, sync: false },
      { n: 1, sync: true },
    ]);
  });
});

describe("E2H", () => {
  test("TLBI_EL2_VA for unmaps, TLBI_EL2_ASID for a flush; detaching flushes nothing", () => {
    const s = legacy(one(["e2h"]));
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    expect(during(s, () => s.unmap("d1", 0x10000, 0x1000))).toEqual({ smmu0: [el2Va(1, 0x10000n), SYNC] });
    expect(during(s, () => s.invalidateAll("d1"))).toEqual({ smmu0: [el2Asid(1), SYNC] });
    expect(during(s, () => s.attach("dev0", "blocked"))).toEqual({ smmu0: [...steWrite(0x10, 2), ...cdWrite([0x10], 0, 2)] });
  });
});

describe("detaching the last master", () => {
  test("flushes no ASID (mainline does): the domain's unmaps keep invalidating it, and the oracle finds nothing", () => {
    const s = legacy(one([]));
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    expect(s.dma("dev0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "walk" });
    expect(during(s, () => s.attach("dev0", "blocked"))).toEqual({ smmu0: [...steWrite(0x10, 2), ...cdWrite([0x10], 0, 2)] });
    expect(s.driver.liveTags()).toEqual(new Set(["smmu0 asid 1"]));
    expect(during(s, () => s.unmap("d1", 0x10000, 0x1000))).toEqual({ smmu0: [nhVa(1, 0x10000n), SYNC] });
    expect(s.violations).toEqual([]);
  });
});

describe("a nest-parent S2 with ATS through a vSMMU", () => {
  const topo: Topology = {
    smmus: [
      { name: "smmu0", features: ["ats", "nesting"] },
      { name: "smmu1", features: ["ats", "nesting"] },
    ],
    devices: [
      { name: "gpu0", smmu: "smmu0", sids: [0x100, 0x101], ats: true },
      { name: "gpu1", smmu: "smmu1", sids: [0x200], ats: true },
    ],
    vsmmus: [
      { name: "vsmmu0", smmu: "smmu0", parent: "s2" },
      { name: "vsmmu1", smmu: "smmu1", parent: "s2" },
    ],
    domains: [
      { name: "s2", stage: "s2", nestParent: true },
      { name: "n0", stage: "nested", vsmmu: "vsmmu0" },
      { name: "n1", stage: "nested", vsmmu: "vsmmu1" },
    ],
  };

  test("unmap: S2_IPA and sync, NH_ALL with its own sync, then the whole ATC of each stream (nested_ats_flush) and a sync", () => {
    const s = legacy(topo);
    expect(during(s, () => s.attach("gpu0", "n0"))).toEqual({
      smmu0: [...steWrite(0x100, 2), ...steWrite(0x101, 2), atcInv(0x100), atcInv(0x101), SYNC],
      smmu1: [],
    });
    s.map("s2", 0x10000, 0x1000);
    expect(during(s, () => s.unmap("s2", 0x10000, 0x1000))).toEqual({
      smmu0: [s2Ipa(1, 0x10000n), SYNC, nhAll(1), SYNC, atcInv(0x100), atcInv(0x101), SYNC],
      smmu1: [],
    });
  });

  test("flush: S12_VMALL covers the nested S1 entries; no livelock, no NH_ALL", () => {
    const s = legacy(topo);
    s.attach("gpu0", "n0");
    expect(during(s, () => s.invalidateAll("s2")).smmu0).toEqual([s12Vmall(1), SYNC, atcInv(0x100), atcInv(0x101), SYNC]);
  });

  test("a vSMMU on another SMMU than its S2 parent is refused (arm_vsmmu_init()), and so are its nested domains", () => {
    const s = legacy(topo);
    const warnings: string[] = [];
    const errnos: unknown[] = [];
    s.bus.on("driver:warn", "test", (w) => warnings.push(`${w.fn}: ${w.cond}`));
    s.bus.on("driver:log", "test", (m) => warnings.push(`${m.level} ${m.fn}: ${m.msg}`));
    s.bus.on("driver:errno", "test", (e) => errnos.push(e));
    let ret = 0;
    expect(during(s, () => (ret = s.attach("gpu1", "n1")))).toEqual({ smmu0: [], smmu1: [] });
    expect(ret).toBe(-22);
    /* a plain -EINVAL in the kernel, no WARN and no message: the reason is the report's */
    expect(warnings).toEqual([]);
    expect(errnos).toEqual([
      { fn: "arm_vsmmu_init", errno: 22, cond: "s2_parent->smmu != smmu (vsmmu1: its S2 parent s2 is on smmu0, not smmu1)", lacks: true },
    ]);
    /* the S2 itself belongs to smmu0 too */
    expect(s.attach("gpu1", "s2")).toBe(-22);
    expect(errnos[1]).toEqual({ fn: "arm_smmu_attach_dev", errno: 22, cond: "smmu_domain->smmu != master->smmu", lacks: true });
  });
});

describe("SVA: one process bound on devices behind two SMMUs", () => {
  const topo: Topology = {
    smmus: [
      { name: "smmu0", features: ["ats", "sva", "cd2l"] },
      { name: "smmu1", features: ["ats", "sva", "cd2l"] },
    ],
    devices: [
      { name: "acc0", smmu: "smmu0", sids: [0x100], ats: true, pasidBits: 20 },
      { name: "acc1", smmu: "smmu1", sids: [0x200], ats: true, pasidBits: 20 },
    ],
    domains: [
      { name: "p1", stage: "sva" },
      { name: "d1", stage: "s1" },
    ],
  };

  test("each SMMU gets its own SVA domain and ASID (the first takes p1's); munmap reaches both, newest notifier first", () => {
    const s = legacy(topo);
    expect(during(s, () => s.attachPasid("acc0", "p1", 1))).toEqual({
      smmu0: [cfgiCd(0x100, 1, false), SYNC, ...cdWrite([0x100], 1, 2), ...steWrite(0x100, 2), atcInv(0x100), SYNC],
      smmu1: [],
    });
    /* d1 took ASID 2 at its declaration: the second SVA domain allocates 3 */
    expect(s.attachPasid("acc1", "p1", 1)).toBe(0);
    expect(s.driver.liveTags()).toEqual(new Set(["smmu0 asid 1", "smmu1 asid 3"]));
    s.map("p1", 0x10000, 0x1000);
    expect(s.dma("acc1", "read", 0x10000, { pasid: 1 })).toMatchObject({ kind: "ok", via: "walk" });
    const order: string[] = [];
    s.bus.on("cmd:queued", "test", (e) => order.push(e.smmu));
    expect(during(s, () => s.unmap("p1", 0x10000, 0x1000))).toEqual({
      smmu0: [nhVa(1, 0x10000n, { leaf: false }), SYNC, atcInv(0x100, { ssid: 1, size: 0, addr: 0x10000n }), SYNC],
      smmu1: [nhVa(3, 0x10000n, { leaf: false }), SYNC, atcInv(0x200, { ssid: 1, size: 0, addr: 0x10000n }), SYNC],
    });
    expect(order).toEqual(["smmu1", "smmu1", "smmu1", "smmu1", "smmu0", "smmu0", "smmu0", "smmu0"]);
    expect(s.dma("acc1", "read", 0x10000, { pasid: 1 })).toMatchObject({ kind: "fault", event: "F_TRANSLATION" });
    expect(s.violations).toEqual([]);
  });

  test("without RANGE_INV, 2 MiB or more (CMDQ_MAX_TLBI_OPS pages) is one TLBI by ASID and a whole-ATC ATC_INV at the PASID", () => {
    const s = legacy(topo);
    s.attachPasid("acc0", "p1", 1);
    expect(during(s, () => s.mmInvalidate("p1", 0x40_0000n, 0x60_0000n)).smmu0).toEqual([nhAsid(1), SYNC, atcInv(0x100, { ssid: 1 }), SYNC]);
    expect(during(s, () => s.mmInvalidate("p1", 0x40_0000n, 0x40_2000n)).smmu0).toEqual([
      ...pages(1, 0x40_0000, 2, { leaf: false }),
      SYNC,
      atcInv(0x100, { ssid: 1, size: 1, addr: 0x40_0000n }),
      SYNC,
    ]);
  });

  test("mm release: CDs made to fault, then the whole ASID and the whole ATC at the PASID, per SVA domain", () => {
    const s = legacy(topo);
    s.attachPasid("acc0", "p1", 1);
    s.attachPasid("acc1", "p1", 1);
    expect(during(s, () => s.mmRelease("p1"))).toEqual({
      smmu0: [...cdWrite([0x100], 1, 2), nhAsid(1), SYNC, atcInv(0x100, { ssid: 1 }), SYNC],
      smmu1: [...cdWrite([0x200], 1, 2), nhAsid(3), SYNC, atcInv(0x200, { ssid: 1 }), SYNC],
    });
  });

  test("the last unbind on an SMMU frees its SVA domain: its ASID flushed after the detach, and free again", () => {
    const s = legacy(topo);
    s.attachPasid("acc0", "p1", 1);
    s.attachPasid("acc1", "p1", 1);
    s.map("p1", 0x10000, 0x1000);
    s.dma("acc1", "read", 0x10000, { pasid: 1 });
    expect(during(s, () => s.detachPasid("acc1", 1)).smmu1).toEqual([
      ...cdWrite([0x200], 1, 2),
      atcInv(0x200, { ssid: 1 }),
      SYNC,
      /* no PASID left on a blocked RID: back to the abort STE, ATS off */
      ...steWrite(0x200, 2),
      atcInv(0x200),
      SYNC,
      /* arm_smmu_sva_domain_free() */
      nhAsid(3),
      SYNC,
    ]);
    expect(s.driver.liveTags()).toEqual(new Set(["smmu0 asid 1"]));
    /* bound again: a new SVA domain, which gets the freed ASID back */
    s.attachPasid("acc1", "p1", 1);
    expect(s.driver.liveTags()).toEqual(new Set(["smmu0 asid 1", "smmu1 asid 3"]));
    expect(s.violations).toEqual([]);
  });

  test("a bind that fails frees the SVA domain allocated for it (a TLBI by ASID)", () => {
    const s = legacy(topo);
    s.failAllocs("cd_table");
    let ret = 0;
    expect(during(s, () => (ret = s.attachPasid("acc0", "p1", 1)))).toEqual({ smmu0: [nhAsid(1), SYNC], smmu1: [] });
    expect(ret).toBe(-12);
    expect(s.driver.liveTags()).toEqual(new Set());
  });
});

describe("SVA: two devices behind one SMMU, and an SMMU without SVA", () => {
  const topo = SVA_TWO_ON_ONE_SMMU;

  test("mm release rewrites the CDs newest attachment first (the devices list's head), then the ASID and the ATCs (the same walk)", () => {
    const s = legacy(topo);
    s.attachPasid("acc0", "p1", 1);
    s.attachPasid("acc1", "p1", 1);
    expect(during(s, () => s.mmRelease("p1"))).toEqual({
      smmu0: [...cdWrite([0x200], 1, 2), ...cdWrite([0x100], 1, 2), nhAsid(1), SYNC, atcInv(0x200, { ssid: 1 }), atcInv(0x100, { ssid: 1 }), SYNC],
      smmu1: [],
    });
  });

  test("a bind behind an SMMU without ARM_SMMU_FEAT_SVA: arm_smmu_sva_domain_alloc() refuses with -EOPNOTSUPP, no domain, nothing sent", () => {
    const s = legacy(topo);
    s.attachPasid("acc0", "p1", 1);
    let ret = 0;
    expect(during(s, () => (ret = s.attachPasid("acc2", "p1", 1)))).toEqual({ smmu0: [], smmu1: [] });
    expect(ret).toBe(-95);
    expect(s.driver.liveTags()).toEqual(new Set(["smmu0 asid 1"]));
  });
});

describe("an attach that fails on the master_domain allocation", () => {
  test("-ENOMEM with no command, the STE and nr_ats_masters as they were", () => {
    const s = legacy(one(["ats"], { ats: true }));
    s.attach("dev0", "d1");
    const ste = [...s.platform.smmu("smmu0").strtab.ste(0x10)];
    s.failAllocs("master_domain");
    let ret = 0;
    expect(during(s, () => (ret = s.attach("dev0", "d2")))).toEqual({ smmu0: [] });
    expect(ret).toBe(-12);
    expect(s.platform.smmu("smmu0").strtab.ste(0x10)).toEqual(ste);
    expect([domainOf(s, "d1").nrAtsMasters, domainOf(s, "d2").nrAtsMasters]).toEqual([1, 0]);
    expect(s.attach("dev0", "d2")).toBe(0);
    expect([domainOf(s, "d1").nrAtsMasters, domainOf(s, "d2").nrAtsMasters]).toEqual([0, 1]);
  });

  test("an allocation site it does not have is a plain error; \"invs\" says there is no array", () => {
    const s = legacy(one([]));
    expect(() => s.failAllocs("invz")).toThrow('driver-legacy has no allocation site "invz" (master_domain, cd_table)');
    expect(() => s.failAllocs("invs")).toThrow("driver-legacy keeps no invalidation array: fail alloc invs needs a driver that has one (driver-invs)");
  });
});
