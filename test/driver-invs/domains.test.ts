/**
 * Nested domains over a shared nest-parent S2 (the follow-up series, the
 * `share` variant: mainline refuses a vSMMU over another SMMU's S2), SVA
 * across SMMUs (an SVA domain per SMMU) and the lifetime of an SVA
 * process's mm, PASID attachments and ATS changing on re-attach, under the
 * mainline driver; and where v9 as posted goes wrong.
 */
import { describe, expect, test } from "vitest";
import type { SmmuDomain } from "../../plugins/arm-smmu-v3/domain.js";
import { KernelBugError } from "../../src/core/rcu.js";
import type { Step, Steps } from "../../src/model/step.js";
import type { Simulator } from "../../src/index.js";
import type { Cmd } from "../../src/model/commands.js";
import type { Topology } from "../../src/model/topology.js";
import { atcInv, cdWrite, cfgiCd, nhAll, nhAsid, nhVa, s2Ipa, steWrite, SYNC } from "../helpers/cmds.js";
import { during, sim } from "../helpers/sim.js";
import { finish, stepTo, watched } from "../helpers/steps.js";
import { SVA_TWO_ON_ONE_SMMU } from "../helpers/topologies.js";

const N = 8;
const cover: Topology = {
  smmus: Array.from({ length: N }, (_, i) => ({ name: `smmu${i}`, features: ["nesting"] })),
  devices: Array.from({ length: N }, (_, i) => ({ name: `gpu${i}`, smmu: `smmu${i}`, sids: [0x100 + i] })),
  vsmmus: Array.from({ length: N }, (_, i) => ({ name: `vsmmu${i}`, smmu: `smmu${i}`, parent: "s2" })),
  domains: [
    { name: "s2", stage: "s2", nestParent: true },
    ...Array.from({ length: N }, (_, i) => ({ name: `n${i}`, stage: "nested" as const, vsmmu: `vsmmu${i}` })),
  ],
};

describe("one nest-parent S2 shared by 8 vSMMUs on 8 SMMUs (the cover letter's case, `share`)", () => {
  const share = { driver: { variant: "share" } };

  test("one S2 array holds each vSMMU's S2_VMID_VSMMU (its own VMID, 1 in each SMMU's space) and S2_VMID_S1_CLEAR for every SMMU", () => {
    const s = sim(cover, share);
    for (let i = 0; i < N; i++) expect(s.attach(`gpu${i}`, `n${i}`)).toBe(0);
    expect(s.invs("s2")?.entries).toEqual(
      Array.from({ length: N }, (_, i) => [
        { smmu: `smmu${i}`, type: "S2_VMID_VSMMU", id: 1, ssid: 0, users: 1 },
        { smmu: `smmu${i}`, type: "S2_VMID_S1_CLEAR", id: 1, ssid: 0, users: 1 },
      ]).flat(),
    );
  });

  test("an S2 unmap reaches every SMMU: S2_IPA and sync, then NH_ALL and sync", () => {
    const s = sim(cover, share);
    for (let i = 0; i < N; i++) s.attach(`gpu${i}`, `n${i}`);
    s.map("s2", 0x4000_0000, 0x1000);
    const expected = Object.fromEntries(
      Array.from({ length: N }, (_, i) => [`smmu${i}`, [s2Ipa(1, 0x4000_0000n), SYNC, nhAll(1), SYNC]]),
    );
    expect(during(s, () => s.unmap("s2", 0x4000_0000, 0x1000))).toEqual(expected);
  });

  test("DMA translates stage 1 over stage 2; a guest unmap reaches only its SMMU, with the vSMMU's VMID", () => {
    const s = sim(cover, share);
    for (let i = 0; i < N; i++) s.attach(`gpu${i}`, `n${i}`);
    s.map("s2", 0x4000_0000, 0x1000, { pa: 0x9_0000_0000 });
    s.map("n3", 0x10000, 0x1000, { pa: 0x4000_0000 });
    expect(s.dma("gpu3", "write", 0x10000)).toMatchObject({ kind: "ok", via: "walk", t: { pa: 0x9_0000_0000 } });
    expect(s.dma("gpu3", "write", 0x10000)).toMatchObject({ kind: "ok", via: "iotlb" });
    const cmds = during(s, () => s.unmap("n3", 0x10000, 0x1000));
    expect(cmds.smmu3).toEqual([{ ...nhVa(1, 0x10000n), vmid: 1 }, SYNC]);
    expect(Object.entries(cmds).filter(([, c]) => c.length > 0).map(([n]) => n)).toEqual(["smmu3"]);
    expect(s.dma("gpu3", "read", 0x10000)).toMatchObject({ kind: "fault", event: "F_TRANSLATION" });
    expect(s.violations).toEqual([]);
  });

  test("mainline: arm_vsmmu_init() refuses vsmmu1..7 (the S2 is smmu0's), so only gpu0 attaches; v9 as posted refuses alike", () => {
    for (const variant of ["mainline", "v9"]) {
      const s = sim(cover, { driver: { variant } });
      expect(Array.from({ length: N }, (_, i) => s.attach(`gpu${i}`, `n${i}`))).toEqual([0, -22, -22, -22, -22, -22, -22, -22]);
      expect(s.invs("s2")?.entries).toEqual([
        { smmu: "smmu0", type: "S2_VMID", id: 1, ssid: 0, users: 1 },
        { smmu: "smmu0", type: "S2_VMID_S1_CLEAR", id: 1, ssid: 0, users: 1 },
      ]);
    }
  });
});

describe("re-attaching the same S2 parent with a different ATS state", () => {
  const topo: Topology = {
    smmus: [{ name: "smmu0", features: ["ats", "nesting"] }],
    devices: [{ name: "gpu0", smmu: "smmu0", sids: [0x100], ats: true }],
    vsmmus: [{ name: "vsmmu0", smmu: "smmu0", parent: "s2" }],
    domains: [
      { name: "s2", stage: "s2", nestParent: true },
      { name: "n-ats", stage: "nested", vsmmu: "vsmmu0" },
      { name: "n-noats", stage: "nested", vsmmu: "vsmmu0", ats: false },
    ],
  };

  test("the freshly merged array is the old one: ATS_FULL goes, S2 entries keep one user", () => {
    const s = sim(topo);
    s.attach("gpu0", "n-ats");
    expect(s.invs("s2")?.entries.map((e) => `${e.type}/${e.id}/${e.users}`)).toEqual([
      "S2_VMID/1/1",
      "S2_VMID_S1_CLEAR/1/1",
      "ATS_FULL/256/1",
    ]);
    const atsEvents: boolean[] = [];
    s.bus.on("ep:ats", "test", (e) => atsEvents.push(e.enabled));
    /*
     * ATS off before the STE changes, a whole-ATC flush after, and nothing to
     * flush in the TLB. The STE change is hitless in two steps: EATS (safe to
     * change in any order) with the unused bits, then the guest's CD table
     * pointer in qword 0.
     */
    expect(during(s, () => s.attach("gpu0", "n-noats"))).toEqual({
      smmu0: [...steWrite(0x100, 2), atcInv(0x100), SYNC],
    });
    expect(atsEvents).toEqual([false]);
    expect(s.invs("s2")).toEqual({
      entries: [
        { smmu: "smmu0", type: "S2_VMID", id: 1, ssid: 0, users: 1 },
        { smmu: "smmu0", type: "S2_VMID_S1_CLEAR", id: 1, ssid: 0, users: 1 },
      ],
      trashes: 0,
      hasAts: true,
    });
    /* and back: the whole-ATC flush comes before ATS is enabled again */
    expect(during(s, () => s.attach("gpu0", "n-ats"))).toEqual({
      smmu0: [...steWrite(0x100, 2), atcInv(0x100), SYNC],
    });
    expect(atsEvents).toEqual([false, true]);
    expect(s.invs("s2")?.entries.map((e) => `${e.type}/${e.id}/${e.users}`)).toEqual([
      "S2_VMID/1/1",
      "S2_VMID_S1_CLEAR/1/1",
      "ATS_FULL/256/1",
    ]);
  });
});

/*
 * The same under `share`: v4 keeps arm_smmu_set_pasid()'s one-SMMU test, so
 * the core allocates an SVA domain per SMMU there too, and each one's first
 * attach allocates its ASID from the same global space: 1 to 4 again.
 */
describe.each(["mainline", "share"])("%s: SVA, one process on devices behind several SMMUs: an SVA domain (and an ASID) per SMMU", (variant) => {
  const M = 4;
  const topo: Topology = {
    smmus: Array.from({ length: M }, (_, i) => ({ name: `smmu${i}`, features: ["ats", "sva", "cd2l"] })),
    devices: Array.from({ length: M }, (_, i) => ({ name: `acc${i}`, smmu: `smmu${i}`, sids: [0x100 * (i + 1)], ats: true, pasidBits: 20 })),
    domains: [{ name: "p1", stage: "sva" }],
  };
  const each = (f: (i: number, sid: number) => unknown[]) =>
    Object.fromEntries(Array.from({ length: M }, (_, i) => [`smmu${i}`, f(i, 0x100 * (i + 1))]));

  test("bind: a new L2 CD table (CFGI_CD leaf 0), the CD at the PASID, the CD-table STE, then ATS on", () => {
    const s = sim(topo, { driver: { variant } });
    expect(during(s, () => s.attachPasid("acc0", "p1", 1))).toEqual({
      smmu0: [cfgiCd(0x100, 1, false), SYNC, ...cdWrite([0x100], 1, 2), ...steWrite(0x100, 2), atcInv(0x100), SYNC],
      smmu1: [],
      smmu2: [],
      smmu3: [],
    });
    for (let i = 1; i < M; i++) s.attachPasid(`acc${i}`, "p1", 1);
    /* the ASIDs of one global space: p1's declaration reserved 1 for the first domain, the others take 2, 3, 4 */
    expect(s.invs("p1")?.entries).toEqual(
      Array.from({ length: M }, (_, i) => [
        { smmu: `smmu${i}`, type: "S1_ASID", id: i + 1, ssid: 0, users: 1 },
        { smmu: `smmu${i}`, type: "ATS", id: 0x100 * (i + 1), ssid: 1, users: 1 },
      ]).flat(),
    );
    expect(Array.from({ length: M }, (_, i) => s.driver.attached(`acc${i}`, 1))).toEqual(["p1@smmu0", "p1@smmu1", "p1@smmu2", "p1@smmu3"]);
  });

  test("munmap: non-leaf TLBI and an ATC_INV at the PASID on every SMMU; release: EPD0 CDs, then full flushes", () => {
    const s = sim(topo, { driver: { variant } });
    for (let i = 0; i < M; i++) s.attachPasid(`acc${i}`, "p1", 1);
    s.map("p1", 0x10000, 0x1000);
    expect(s.dma("acc2", "read", 0x10000, { pasid: 1 })).toMatchObject({ kind: "ok" });
    expect(during(s, () => s.unmap("p1", 0x10000, 0x1000))).toEqual(
      each((i, sid) => [nhVa(i + 1, 0x10000n, { leaf: false }), SYNC, atcInv(sid, { ssid: 1, size: 0, addr: 0x10000n }), SYNC]),
    );
    expect(during(s, () => s.mmRelease("p1"))).toEqual(
      each((i, sid) => [...cdWrite([sid], 1, 2), nhAsid(i + 1), SYNC, atcInv(sid, { ssid: 1 }), SYNC]),
    );
    s.map("p1", 0x20000, 0x1000);
    expect(s.dma("acc2", "read", 0x20000, { pasid: 1 })).toEqual({
      kind: "fault",
      event: "F_TRANSLATION",
      detail: "CD 1 of sid 0x300 has EPD0 set",
    });
  });

  test("unbinding every device empties the array, flushing the ASID on each SMMU", () => {
    const s = sim(topo, { driver: { variant } });
    for (let i = 0; i < M; i++) s.attachPasid(`acc${i}`, "p1", 1);
    for (let i = 0; i < M; i++) {
      const sid = 0x100 * (i + 1);
      expect(during(s, () => s.detachPasid(`acc${i}`, 1))[`smmu${i}`]).toEqual([
        ...cdWrite([sid], 1, 2),
        atcInv(sid, { ssid: 1 }),
        SYNC,
        nhAsid(i + 1),
        SYNC,
        /* no PASID left on a blocked RID: back to the abort STE, ATS off */
        ...steWrite(sid, 2),
        atcInv(sid),
        SYNC,
      ]);
    }
    expect(s.invs("p1")?.entries).toEqual([]);
    expect(s.violations).toEqual([]);
  });
});

describe("SVA: two devices behind one SMMU, and an SMMU without SVA", () => {
  const topo = SVA_TWO_ON_ONE_SMMU;

  test("mm release walks smmu_domain->devices under devices_lock, newest first: acc1's CD, then acc0's, then the full flush", () => {
    const s = sim(topo);
    s.attachPasid("acc0", "p1", 1);
    s.attachPasid("acc1", "p1", 1);
    expect(during(s, () => s.mmRelease("p1"))).toEqual({
      smmu0: [
        /* list_add() put acc1's master_domain at the head */
        ...cdWrite([0x200], 1, 2),
        ...cdWrite([0x100], 1, 2),
        /* arm_smmu_domain_inv(): the array's order, one ATS batch */
        nhAsid(1),
        SYNC,
        atcInv(0x100, { ssid: 1 }),
        atcInv(0x200, { ssid: 1 }),
        SYNC,
      ],
      smmu1: [],
    });
  });

  test("mm release holds devices_lock while it rewrites the CDs, and lets it go before the flush", () => {
    const s = sim(topo);
    s.attachPasid("acc0", "p1", 1);
    const p1 = s.driver.domain("p1@smmu0") as SmmuDomain;
    const release = s.ops.mmRelease("p1").path;
    let held = false;
    s.bus.on("cmd:queued", "test", (e) => {
      if (e.cmd.op === "CFGI_CD") held = p1.devicesLock.writer;
      else if (e.cmd.op === "TLBI_NH_ASID") expect(p1.devicesLock.writer).toBe(false);
    });
    for (let r = release.next(); !r.done; r = release.next()) {
      if (r.value.fn === "arm_smmu_mm_release") expect(r.value.access).toBe("spin_lock_irqsave(&smmu_domain->devices_lock)");
    }
    expect(held).toBe(true);
    expect(p1.devicesLock).toEqual({ readers: 0, writer: false });
  });

  test("a bind behind an SMMU without ARM_SMMU_FEAT_SVA: -EOPNOTSUPP (arm_smmu_sva_set_dev_pasid()), nothing written", () => {
    const s = sim(topo);
    s.attachPasid("acc0", "p1", 1);
    let ret = 0;
    expect(during(s, () => (ret = s.attachPasid("acc2", "p1", 1)))).toEqual({ smmu0: [], smmu1: [] });
    expect(ret).toBe(-95);
    expect(s.invs("p1")?.entries.map((e) => `${e.smmu} ${e.type}/${e.id}`)).toEqual(["smmu0 S1_ASID/1", "smmu0 ATS/256"]);
  });

  test("flush of an SVA domain: arm_smmu_sva_domain_ops has no flush_iotlb_all, so nothing is sent", () => {
    const s = sim(topo);
    s.attachPasid("acc0", "p1", 1);
    expect(during(s, () => s.invalidateAll("p1"))).toEqual({ smmu0: [], smmu1: [] });
  });
});

describe("PASID attachments", () => {
  const topo: Topology = {
    smmus: [{ name: "smmu0", features: ["ats", "cd2l"] }],
    devices: [{ name: "dev0", smmu: "smmu0", sids: [0x10], ats: true, pasidBits: 8 }],
    domains: [
      { name: "d1", stage: "s1" },
      { name: "s2", stage: "s2" },
    ],
  };

  test("an S2 on the RID has no CD table to hold a PASID: -EINVAL", () => {
    const s = sim(topo);
    s.attach("dev0", "s2");
    expect(s.attachPasid("dev0", "d1", 1)).toBe(-22);
    expect(s.attachPasid("dev0", "d1", 256)).toBe(-22);
  });

  test("identity RID: the CD-table STE gets S1DSS bypass, and RID traffic still bypasses", () => {
    const s = sim(topo);
    s.attach("dev0", "identity");
    expect(s.attachPasid("dev0", "d1", 1)).toBe(0);
    expect(s.dma("dev0", "read", 0x1234_5000)).toMatchObject({ kind: "ok", via: "bypass", t: { pa: 0x1234_5000 } });
  });

  for (const [variant, violations] of [
    ["mainline", []],
    ["v9", ["stale-translation"]],
  ] as const) {
    test(`${variant}: one domain at two PASIDs of an ATS device ${violations.length ? "loses" : "keeps"} the second PASID's ATS entry`, () => {
      const s = sim(topo, { driver: { variant } });
      s.attach("dev0", "blocked");
      s.attachPasid("dev0", "d1", 1);
      s.attachPasid("dev0", "d1", 2);
      s.map("d1", 0x10000, 0x1000);
      s.dma("dev0", "read", 0x10000, { pasid: 2 });
      s.unmap("d1", 0x10000, 0x1000);
      s.dma("dev0", "read", 0x10000, { pasid: 2 });
      expect(s.violations.map((v) => v.kind)).toEqual(violations);
    });
  }
});

describe("SVA: the process's mm, and its exit (`mm release`)", () => {
  const topo = SVA_TWO_ON_ONE_SMMU;
  const BUG = "kernel BUG in __mmu_notifier_register: BUG_ON(atomic_read(&mm->mm_users) <= 0)";
  const mmOf = (s: Simulator) => (s.driver.domain("p1") as SmmuDomain).mm!;
  /** acc1 bound, then p1 released: the commands of each, one after the other. */
  const bindThenRelease = (): Cmd[] => {
    const s = sim(topo);
    s.attachPasid("acc0", "p1", 1);
    s.clearCommands();
    s.attachPasid("acc1", "p1", 1);
    s.mmRelease("p1");
    return s.commands("smmu0");
  };

  test("a bind after the exit: the domain refuses it (mmget_not_zero(): -EINVAL), and the core's new domain BUGs in mmu_notifier_register(), nothing written", () => {
    const s = sim(topo);
    s.attachPasid("acc0", "p1", 1);
    s.mmRelease("p1");
    expect(mmOf(s)).toEqual({ users: 0, exited: true, released: true });
    const steps: Step[] = [];
    const bind = watched(s.ops.attachPasid("acc1", "p1", 1).path as Steps<number>, (st) => steps.push(st));
    expect(during(s, () => expect(() => finish(bind)).toThrow(new KernelBugError("atomic_read(&mm->mm_users) <= 0", "__mmu_notifier_register")))).toEqual({
      smmu0: [],
      smmu1: [],
    });
    /* tried on the existing domain first: its mmget_not_zero() failed before arm_smmu_set_pasid() */
    expect(steps.filter((st) => st.fn === "mmget_not_zero" || st.fn === "arm_smmu_set_pasid")).toEqual([
      { fn: "mmget_not_zero", access: "atomic_inc_not_zero(&mm->mm_users)" },
    ]);
    expect(s.invs("p1")?.entries.map((e) => `${e.type}/${e.id}/${e.ssid}`)).toEqual(["S1_ASID/1/0", "ATS/256/1"]);
    /* modelling choice: the oops lets go of iommu_sva_lock */
    expect(s.core.svaLock).toEqual({ readers: 0, writer: false });
  });

  test("a bind after the exit with the domain unused: straight to the allocation, which BUGs; behind an SMMU without SVA -EOPNOTSUPP first", () => {
    const s = sim(topo);
    s.mmRelease("p1");
    expect(() => s.attachPasid("acc0", "p1", 1)).toThrow(BUG);
    expect(s.attachPasid("acc2", "p1", 1)).toBe(-95);
    expect(s.commands("smmu0")).toEqual([]);
    expect(s.commands("smmu1")).toEqual([]);
  });

  test("-EINVAL: the exit between the core's allocation and arm_smmu_sva_set_dev_pasid()'s mmget_not_zero(); nothing written", () => {
    const s = sim(topo);
    const bind = s.ops.attachPasid("acc0", "p1", 1).path as Steps<number>;
    stepTo(bind, "mmget_not_zero", "atomic_inc_not_zero(&mm->mm_users)");
    finish(s.ops.mmRelease("p1").path);
    expect(finish(bind)).toBe(-22);
    expect([s.commands("smmu0"), s.commands("smmu1")]).toEqual([[], []]);
    expect(s.invs("p1")).toEqual({ entries: [], trashes: 0, hasAts: false });
  });

  test("the bind's mm reference keeps the mm alive through the attach: an exit during it leaves arm_smmu_mm_release() to the bind's mmput()", () => {
    const s = sim(topo);
    s.attachPasid("acc0", "p1", 1);
    s.clearCommands();
    const bind = s.ops.attachPasid("acc1", "p1", 1).path as Steps<number>;
    stepTo(bind, "arm_smmu_set_pasid", "mutex_lock(&arm_smmu_asid_lock)");
    expect(mmOf(s)).toEqual({ users: 2, exited: false, released: false });
    const beforeExit = s.commands("smmu0");
    expect(during(s, () => finish(s.ops.mmRelease("p1").path))).toEqual({ smmu0: [], smmu1: [] });
    expect(mmOf(s)).toEqual({ users: 1, exited: true, released: false });
    expect(finish(bind)).toBe(0);
    expect(mmOf(s)).toEqual({ users: 0, exited: true, released: true });
    /* the same commands as the bind and then the release */
    expect([...beforeExit, ...s.commands("smmu0")]).toEqual(bindThenRelease());
    s.map("p1", 0x10000, 0x1000);
    expect(s.dma("acc1", "read", 0x10000, { pasid: 1 })).toEqual({ kind: "fault", event: "F_TRANSLATION", detail: "CD 1 of sid 0x200 has EPD0 set" });
  });

  test("for 64 seeds, a bind racing the exit: the bind first (the release after it, at the exit or at the bind's mmput()), or the mm found dead and the BUG", () => {
    const serial = bindThenRelease();
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 64; seed++) {
      const s = sim(topo);
      s.attachPasid("acc0", "p1", 1);
      s.clearCommands();
      let results: unknown[] | undefined;
      try {
        results = s.runConcurrently([s.ops.attachPasid("acc1", "p1", 1), s.ops.mmRelease("p1")], seed);
      } catch (err) {
        expect(err).toEqual(new KernelBugError("atomic_read(&mm->mm_users) <= 0", "__mmu_notifier_register"));
      }
      if (results) {
        expect(results).toEqual([0, undefined]);
        expect(s.commands("smmu0")).toEqual(serial);
        outcomes.add("bound, then released");
      } else {
        /* the bind wrote nothing for acc1; the release ran for acc0 */
        expect(s.commands("smmu0").filter((c) => "sid" in c && c.sid === 0x200)).toEqual([]);
        expect(s.invs("p1")?.entries.map((e) => `${e.type}/${e.id}/${e.ssid}`)).toEqual(["S1_ASID/1/0", "ATS/256/1"]);
        outcomes.add("BUG");
      }
      expect(mmOf(s)).toMatchObject({ users: 0, exited: true });
      expect(s.violations).toEqual([]);
    }
    expect([...outcomes].sort()).toEqual(["BUG", "bound, then released"]);
  });

  test("after the exit the notifiers are unhooked: a munmap, an mm invalidate or a second release reaches no SMMU", () => {
    const s = sim(topo);
    s.attachPasid("acc0", "p1", 1);
    s.map("p1", 0x10000, 0x1000);
    s.mmRelease("p1");
    expect(
      during(s, () => {
        s.unmap("p1", 0x10000, 0x1000);
        s.mmInvalidate("p1");
        s.mmRelease("p1");
      }),
    ).toEqual({ smmu0: [], smmu1: [] });
    expect(mmOf(s)).toEqual({ users: 0, exited: true, released: true });
    expect(s.violations).toEqual([]);
  });
});
