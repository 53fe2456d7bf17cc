/**
 * One SMMU per domain (mainline, v9) against domains shared across SMMU and
 * vSMMU instances (`share`: mainline with the follow-up series v4 as
 * posted). Expectations come from the kernel's code (kernel-facts topics 1
 * and 2): mainline's arm_smmu_attach_dev(), arm_smmu_s1_set_dev_pasid(),
 * arm_smmu_set_pasid() and arm_vsmmu_init() test `smmu_domain->smmu` and
 * return -EINVAL; v4 replaces only attach_dev's and vsmmu_init's test with
 * arm_smmu_domain_can_share(), keeps IOTLB tags per SMMU in the array
 * (found, else allocated: ASIDs from the one global xarray, VMIDs from each
 * SMMU's ida, a vSMMU's own VMID), and frees a tag with its nsize command
 * and CMD_SYNC when its last user goes.
 */
import { describe, expect, test } from "vitest";
import type { Simulator } from "../../src/index.js";
import type { Topology } from "../../src/model/topology.js";
import { atcInv, cdWrite, nhAsid, nhVa, s12Vmall, steWrite, SYNC } from "../helpers/cmds.js";
import { during, sim } from "../helpers/sim.js";

type Errno = { fn: string; errno: number; cond: string; lacks?: boolean };

/** The driver:errno events, WARN_ON()s and messages (dev_warn() and such) the simulator's driver emits from now on. */
function reports(s: Simulator): { errnos: Errno[]; warnings: string[]; logs: string[] } {
  const out = { errnos: [] as Errno[], warnings: [] as string[], logs: [] as string[] };
  s.bus.on("driver:errno", "test", (e) => out.errnos.push(e));
  s.bus.on("driver:warn", "test", (w) => out.warnings.push(`${w.fn}: ${w.cond}`));
  s.bus.on("driver:log", "test", (m) => out.logs.push(`${m.level} ${m.fn}: ${m.msg}`));
  return out;
}

const ONE_SMMU_TEST = "smmu_domain->smmu != master->smmu";
const variant = (name: string) => ({ driver: { variant: name } });

/* smmu0 and smmu1 with nesting; a vSMMU on each over one nest-parent S2, declared in that order */
const TWO: Topology = {
  smmus: ["smmu0", "smmu1"].map((name) => ({ name, features: ["cd2l", "nesting"] })),
  devices: [
    { name: "dev0", smmu: "smmu0", sids: [0x10], pasidBits: 8 },
    { name: "dev1", smmu: "smmu1", sids: [0x20], pasidBits: 8 },
  ],
  vsmmus: [
    { name: "vs0", smmu: "smmu0", parent: "s2" },
    { name: "vs1", smmu: "smmu1", parent: "s2" },
  ],
  domains: [
    { name: "d1", stage: "s1" },
    { name: "s2", stage: "s2", nestParent: true },
    { name: "n0", stage: "nested", vsmmu: "vs0" },
    { name: "n1", stage: "nested", vsmmu: "vs1" },
  ],
};

describe.each(["mainline", "v9"])("%s: one SMMU per domain and per nest parent", (name) => {
  test("a second SMMU: -EINVAL for ->attach_dev(), the driver's limit, nothing sent", () => {
    const s = sim(TWO, variant(name));
    const r = reports(s);
    expect(s.attach("dev0", "d1")).toBe(0);
    let ret = 0;
    expect(during(s, () => (ret = s.attach("dev1", "d1")))).toEqual({ smmu0: [], smmu1: [] });
    expect(ret).toBe(-22);
    expect(r.errnos).toEqual([{ fn: "arm_smmu_attach_dev", errno: 22, cond: ONE_SMMU_TEST, lacks: true }]);
    expect(s.invs("d1")?.entries).toEqual([{ smmu: "smmu0", type: "S1_ASID", id: 1, ssid: 0, users: 1 }]);
  });

  test("a second SMMU: -EINVAL for ->set_dev_pasid() (arm_smmu_s1_set_dev_pasid()), nothing sent", () => {
    const s = sim(TWO, variant(name));
    const r = reports(s);
    s.attach("dev0", "d1");
    let ret = 0;
    expect(during(s, () => (ret = s.attachPasid("dev1", "d1", 1)))).toEqual({ smmu0: [], smmu1: [] });
    expect(ret).toBe(-22);
    expect(r.errnos).toEqual([{ fn: "arm_smmu_s1_set_dev_pasid", errno: 22, cond: ONE_SMMU_TEST, lacks: true }]);
  });

  test("a vSMMU on another SMMU than its S2 parent: arm_vsmmu_init() refuses it, so its nested domains cannot attach", () => {
    const s = sim(TWO, variant(name));
    const r = reports(s);
    /* vs0 came first: the VMM allocated the S2 for smmu0, VMID 1 there */
    expect(s.attach("dev0", "n0")).toBe(0);
    let ret = 0;
    expect(during(s, () => (ret = s.attach("dev1", "n1")))).toEqual({ smmu0: [], smmu1: [] });
    expect(ret).toBe(-22);
    expect(r.errnos).toEqual([{ fn: "arm_vsmmu_init", errno: 22, cond: "s2_parent->smmu != smmu (vs1: its S2 parent s2 is on smmu0, not smmu1)", lacks: true }]);
    expect(r.warnings).toEqual([]);
    expect(s.invs("s2")?.entries).toEqual([
      { smmu: "smmu0", type: "S2_VMID", id: 1, ssid: 0, users: 1 },
      { smmu: "smmu0", type: "S2_VMID_S1_CLEAR", id: 1, ssid: 0, users: 1 },
    ]);
  });
});

describe("share: attach_dev and vsmmu_init test arm_smmu_domain_can_share(); PASID and nested attaches keep one SMMU (v4 as posted)", () => {
  test("->attach_dev() on a second SMMU: a tag of its own there, the next ASID of the global space", () => {
    const s = sim(TWO, variant("share"));
    expect(s.attach("dev0", "d1")).toBe(0);
    expect(s.attach("dev1", "d1")).toBe(0);
    expect(s.invs("d1")?.entries).toEqual([
      { smmu: "smmu0", type: "S1_ASID", id: 1, ssid: 0, users: 1 },
      { smmu: "smmu1", type: "S1_ASID", id: 2, ssid: 0, users: 1 },
    ]);
  });

  test("->set_dev_pasid() on a second SMMU is still -EINVAL (the review asked for can_share there too)", () => {
    const s = sim(TWO, variant("share"));
    const r = reports(s);
    s.attach("dev0", "d1");
    expect(s.attachPasid("dev1", "d1", 1)).toBe(-22);
    expect(r.errnos).toEqual([{ fn: "arm_smmu_s1_set_dev_pasid", errno: 22, cond: ONE_SMMU_TEST, lacks: true }]);
  });

  test("a vSMMU over another SMMU's S2 is accepted with its own VMID; a device behind another SMMU than its vSMMU is still -EINVAL", () => {
    const s = sim(TWO, variant("share"));
    const r = reports(s);
    expect(s.attach("dev1", "n1")).toBe(0);
    expect(s.invs("s2")?.entries).toEqual([
      { smmu: "smmu1", type: "S2_VMID_VSMMU", id: 1, ssid: 0, users: 1 },
      { smmu: "smmu1", type: "S2_VMID_S1_CLEAR", id: 1, ssid: 0, users: 1 },
    ]);
    expect(s.attach("dev0", "n1")).toBe(-22);
    expect(r.errnos).toEqual([{ fn: "arm_smmu_attach_dev_nested", errno: 22, cond: "nested_domain->vsmmu->smmu != master->smmu", lacks: true }]);
  });
});

describe.each([
  /* mainline: p1's declaration reserved ASID 1 for its first SVA domain, d1 took 2, the second SVA domain allocates 3 */
  ["mainline", 3],
  /* share: no ASID at declaration (v4 patch 09); each SVA domain's first attach allocates one: 1, then 2 */
  ["share", 2],
] as const)("%s: an SVA process on two SMMUs gets an SVA domain per SMMU from the iommu core", (name, second) => {
  const topo: Topology = {
    smmus: ["smmu0", "smmu1"].map((n) => ({ name: n, features: ["ats", "sva", "cd2l"] })),
    devices: [
      { name: "acc0", smmu: "smmu0", sids: [0x100], ats: true, pasidBits: 20 },
      { name: "acc1", smmu: "smmu1", sids: [0x200], ats: true, pasidBits: 20 },
      { name: "acc2", smmu: "smmu0", sids: [0x300], ats: true, pasidBits: 20 },
    ],
    domains: [
      { name: "p1", stage: "sva" },
      { name: "d1", stage: "s1" },
    ],
  };
  const bound = (s: Simulator) => {
    expect(s.attachPasid("acc0", "p1", 1)).toBe(0);
    expect(s.attachPasid("acc1", "p1", 1)).toBe(0);
  };

  test("two domains with two ASIDs, each with its own array; `expect invs p1` lists both, in the order allocated", () => {
    const s = sim(topo, variant(name));
    bound(s);
    expect(["acc0", "acc1"].map((d) => s.driver.attached(d, 1))).toEqual(["p1@smmu0", "p1@smmu1"]);
    expect(s.invs("p1@smmu1")?.entries).toEqual([
      { smmu: "smmu1", type: "S1_ASID", id: second, ssid: 0, users: 1 },
      { smmu: "smmu1", type: "ATS", id: 0x200, ssid: 1, users: 1 },
    ]);
    expect(s.invs("p1")?.entries).toEqual([
      { smmu: "smmu0", type: "S1_ASID", id: 1, ssid: 0, users: 1 },
      { smmu: "smmu0", type: "ATS", id: 0x100, ssid: 1, users: 1 },
      { smmu: "smmu1", type: "S1_ASID", id: second, ssid: 0, users: 1 },
      { smmu: "smmu1", type: "ATS", id: 0x200, ssid: 1, users: 1 },
    ]);
    s.map("p1", 0x10000, 0x1000);
    expect(during(s, () => s.unmap("p1", 0x10000, 0x1000))).toEqual({
      smmu0: [nhVa(1, 0x10000n, { leaf: false }), SYNC, atcInv(0x100, { ssid: 1, size: 0, addr: 0x10000n }), SYNC],
      smmu1: [nhVa(second, 0x10000n, { leaf: false }), SYNC, atcInv(0x200, { ssid: 1, size: 0, addr: 0x10000n }), SYNC],
    });
  });

  test("a bind tries the newest domain first and skips its -EINVAL: acc2 (smmu0) joins p1@smmu0 after p1@smmu1 refused it", () => {
    const s = sim(topo, variant(name));
    bound(s);
    const r = reports(s);
    expect(s.attachPasid("acc2", "p1", 1)).toBe(0);
    expect(r.errnos).toEqual([{ fn: "arm_smmu_set_pasid", errno: 22, cond: ONE_SMMU_TEST, lacks: true }]);
    expect(s.driver.attached("acc2", 1)).toBe("p1@smmu0");
    expect(s.invs("p1@smmu0")?.entries).toEqual([
      { smmu: "smmu0", type: "S1_ASID", id: 1, ssid: 0, users: 2 },
      { smmu: "smmu0", type: "ATS", id: 0x100, ssid: 1, users: 1 },
      { smmu: "smmu0", type: "ATS", id: 0x300, ssid: 1, users: 1 },
    ]);
  });

  test("the last unbind from a domain flushes its ASID and frees the domain; a new bind allocates another, with that ASID again", () => {
    const s = sim(topo, variant(name));
    bound(s);
    expect(during(s, () => s.detachPasid("acc1", 1)).smmu1).toEqual([
      ...cdWrite([0x200], 1, 2),
      atcInv(0x200, { ssid: 1 }),
      SYNC,
      /* the tag's last user: arm_smmu_inv_flush_iotlb_tag(), or with v4 arm_smmu_iotlb_tag_free() */
      nhAsid(second),
      SYNC,
      /* no PASID left on a blocked RID: back to the abort STE, ATS off */
      ...steWrite(0x200, 2),
      atcInv(0x200),
      SYNC,
    ]);
    expect(() => s.driver.domain("p1@smmu1")).toThrow('no domain named "p1@smmu1"');
    expect(s.invs("p1")?.entries.map((e) => `${e.smmu} ${e.type} ${e.id}`)).toEqual(["smmu0 S1_ASID 1", "smmu0 ATS 256"]);
    expect(s.attachPasid("acc1", "p1", 1)).toBe(0);
    expect(s.invs("p1@smmu1")?.entries[0]).toEqual({ smmu: "smmu1", type: "S1_ASID", id: second, ssid: 0, users: 1 });
    expect(s.violations).toEqual([]);
  });
});

describe("share: a tag whose last user goes is flushed, its id freed and reused by the next attach", () => {
  const topo: Topology = {
    smmus: [{ name: "smmu0", features: [] }],
    devices: [
      { name: "dev0", smmu: "smmu0", sids: [0x10] },
      { name: "dev1", smmu: "smmu0", sids: [0x11] },
    ],
    domains: [
      { name: "d1", stage: "s1" },
      { name: "d2", stage: "s1" },
      { name: "d3", stage: "s1" },
      { name: "s2a", stage: "s2" },
      { name: "s2b", stage: "s2" },
    ],
  };

  test("ASIDs: d1's detach flushes ASID 1 (after the STE, before CD 0 is cleared); d3 then gets ASID 1 (under mainline d3 holds 3 from its declaration)", () => {
    const s = sim(topo, variant("share"));
    s.attach("dev0", "d1");
    s.attach("dev1", "d2");
    expect(s.invs("d2")?.entries).toEqual([{ smmu: "smmu0", type: "S1_ASID", id: 2, ssid: 0, users: 1 }]);
    expect(during(s, () => s.attach("dev0", "blocked"))).toEqual({ smmu0: [...steWrite(0x10, 2), nhAsid(1), SYNC, ...cdWrite([0x10], 0, 2)] });
    expect(s.invs("d1")).toEqual({ entries: [], trashes: 0, hasAts: false });
    expect(s.attach("dev0", "d3")).toBe(0);
    expect(s.invs("d3")?.entries).toEqual([{ smmu: "smmu0", type: "S1_ASID", id: 1, ssid: 0, users: 1 }]);
    /* a domain that has a live tag on the SMMU reuses it: d2 from dev0 too */
    expect(s.attach("dev0", "d2")).toBe(0);
    expect(s.invs("d2")?.entries).toEqual([{ smmu: "smmu0", type: "S1_ASID", id: 2, ssid: 0, users: 2 }]);
    expect(s.violations).toEqual([]);

    const m = sim(topo);
    m.attach("dev0", "d3");
    expect(m.invs("d3")?.entries).toEqual([{ smmu: "smmu0", type: "S1_ASID", id: 3, ssid: 0, users: 1 }]);
  });

  test("VMIDs: s2a's detach flushes VMID 1 with TLBI_S12_VMALL; s2b then gets VMID 1 (under mainline 2: s2a keeps its own)", () => {
    const s = sim(topo, variant("share"));
    s.attach("dev0", "s2a");
    expect(during(s, () => s.attach("dev0", "blocked"))).toEqual({ smmu0: [...steWrite(0x10, 2), s12Vmall(1), SYNC] });
    s.attach("dev0", "s2b");
    expect(s.invs("s2b")?.entries).toEqual([{ smmu: "smmu0", type: "S2_VMID", id: 1, ssid: 0, users: 1 }]);

    const m = sim(topo);
    m.attach("dev0", "s2a");
    m.attach("dev0", "blocked");
    m.attach("dev0", "s2b");
    expect(m.invs("s2b")?.entries).toEqual([{ smmu: "smmu0", type: "S2_VMID", id: 2, ssid: 0, users: 1 }]);
  });

  test("a prepare that fails after the merge (master_domain) frees the tag it allocated; having no opcode yet, the flush is not issued", () => {
    const s = sim(topo, variant("share"));
    const r = reports(s);
    s.failAllocs("master_domain");
    let ret = 0;
    expect(during(s, () => (ret = s.attach("dev0", "d1")))).toEqual({ smmu0: [] });
    expect(ret).toBe(-12);
    expect(r.errnos).toEqual([{ fn: "arm_smmu_attach_prepare", errno: 12, cond: "!kzalloc(sizeof(*master_domain))" }]);
    /* __arm_smmu_cmdq_issue_cmd() refuses opcode 0 with a dev_warn(), no WARN */
    expect(r.logs).toEqual(["warn __arm_smmu_cmdq_issue_cmd: smmu0: ignoring unknown CMDQ opcode 0x0"]);
    expect(r.warnings).toEqual([]);
    expect(s.attach("dev0", "d1")).toBe(0);
    expect(s.invs("d1")?.entries).toEqual([{ smmu: "smmu0", type: "S1_ASID", id: 1, ssid: 0, users: 1 }]);
  });

  test("v4 as posted: a merge that fails (-ENOMEM) returns before err_unprepare_invs, so the ASID it allocated is never freed", () => {
    const s = sim(topo, variant("share"));
    s.failAllocs("invs");
    expect(s.attach("dev0", "d1")).toBe(-12);
    expect(s.attach("dev0", "d1")).toBe(0);
    expect(s.invs("d1")?.entries).toEqual([{ smmu: "smmu0", type: "S1_ASID", id: 2, ssid: 0, users: 1 }]);
  });
});

describe("nest parents with the follow-up series (v4 as posted)", () => {
  test("a nest parent attached directly: S2_VMID and ATS_FULL, no S2_VMID_S1_CLEAR (v4 builds it for the vSMMU tag only); mainline has it", () => {
    const topo: Topology = {
      smmus: [{ name: "smmu0", features: ["ats", "nesting"] }],
      devices: [{ name: "gpu0", smmu: "smmu0", sids: [0x100], ats: true }],
      domains: [{ name: "s2", stage: "s2", nestParent: true }],
    };
    const types = (s: Simulator) => s.invs("s2")?.entries.map((e) => `${e.type} ${e.id}`);
    const share = sim(topo, variant("share"));
    share.attach("gpu0", "s2");
    expect(types(share)).toEqual(["S2_VMID 1", "ATS_FULL 256"]);
    const mainline = sim(topo);
    mainline.attach("gpu0", "s2");
    expect(types(mainline)).toEqual(["S2_VMID 1", "S2_VMID_S1_CLEAR 1", "ATS_FULL 256"]);
  });

  /*
   * arm_smmu_find_iotlb_tag() searches the S2's array for an S2_VMID_VSMMU
   * entry of the SMMU: with two vSMMUs on one SMMU, vsB's device gets vsA's
   * VMID in its STE and entries, while vsB's guest invalidates with vsB's
   * own. The review asked that the vSMMU's VMID be taken directly.
   */
  test("two vSMMUs on one SMMU over one S2: the second one's device gets the first's VMID, and its guest's TLBI misses it: stale", () => {
    const topo: Topology = {
      smmus: [{ name: "smmu0", features: ["nesting"] }],
      devices: [
        { name: "devA", smmu: "smmu0", sids: [0x10] },
        { name: "devB", smmu: "smmu0", sids: [0x20] },
      ],
      vsmmus: [
        { name: "vsA", smmu: "smmu0", parent: "s2" },
        { name: "vsB", smmu: "smmu0", parent: "s2" },
      ],
      domains: [
        { name: "s2", stage: "s2", nestParent: true },
        { name: "nA", stage: "nested", vsmmu: "vsA" },
        { name: "nB", stage: "nested", vsmmu: "vsB" },
      ],
    };
    const run = (name: string): Simulator => {
      const s = sim(topo, variant(name));
      s.attach("devA", "nA");
      s.attach("devB", "nB");
      s.map("s2", 0x4000_0000, 0x1000, { pa: 0x9_0000_0000 });
      s.map("nB", 0x10000, 0x1000, { pa: 0x4000_0000 });
      expect(s.dma("devB", "read", 0x10000)).toMatchObject({ kind: "ok", via: "walk" });
      /* the guest unmaps and invalidates through its vSMMU: TLBI_NH_VA with the vSMMU's VMID */
      expect(during(s, () => s.unmap("nB", 0x10000, 0x1000)).smmu0).toEqual([{ ...nhVa(1, 0x10000n), vmid: name === "share" ? 2 : 1 }, SYNC]);
      s.dma("devB", "read", 0x10000);
      return s;
    };
    const share = run("share");
    expect(share.invs("s2")?.entries).toEqual([
      { smmu: "smmu0", type: "S2_VMID_VSMMU", id: 1, ssid: 0, users: 2 },
      { smmu: "smmu0", type: "S2_VMID_S1_CLEAR", id: 1, ssid: 0, users: 2 },
    ]);
    expect(share.violations.map((v) => v.kind)).toEqual(["stale-translation"]);
    /* mainline: both vSMMUs use the S2's VMID */
    expect(run("mainline").violations).toEqual([]);
  });
});
