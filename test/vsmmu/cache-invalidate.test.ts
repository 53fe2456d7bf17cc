/**
 * arm_vsmmu_cache_invalidate() (arm-smmu-v3-iommufd.c, v7.1), as the
 * vsmmu statement and a nested domain's unmap drive it:
 *
 *   while (cur != end) {
 *     ret = arm_vsmmu_convert_user_cmd(vsmmu, cur);  if (ret) goto out;
 *     cur++;
 *     if (cur != end && (cur - last) != CMDQ_BATCH_ENTRIES - 1) continue;
 *     ret = arm_smmu_cmdq_issue_cmdlist(smmu, &smmu->cmdq, last->cmd, cur - last, true);
 *     if (ret) { cur--; goto out; }
 *     last = cur;
 *   }
 *   out: array->entry_num = cur - cmds;
 *
 * and arm_vsmmu_convert_user_cmd(): TLBI_NSNH_ALL becomes TLBI_NH_ALL with
 * the vSMMU's VMID; TLBI_NH_VA / NH_VAA / NH_ALL / NH_ASID get that VMID;
 * ATC_INV, CFGI_CD and CFGI_CD_ALL get the physical StreamID of the vDEVICE
 * their vSID names (none: -EIO); every other opcode is -EIO.
 */
import { describe, expect, test } from "vitest";
import { loadSmmu } from "../../src/engine/load.js";
import { runFile } from "../../src/engine/runner.js";
import { builtinRegistry, type Cmd, type Simulator } from "../../src/index.js";
import type { Topology } from "../../src/model/topology.js";
import { atcInv, nhAll, nhVa, SYNC } from "../helpers/cmds.js";
import { during, sim } from "../helpers/sim.js";

/** gpu0 (two StreamIDs, ATS) and nic0 behind smmu0, both given to the guest of vsmmu0 over the nest parent s2. */
const NESTED: Topology = {
  smmus: [{ name: "smmu0", features: ["ats", "nesting", "range_inv"] }],
  devices: [
    { name: "gpu0", smmu: "smmu0", sids: [0x100, 0x101], ats: true },
    { name: "nic0", smmu: "smmu0", sids: [0x200] },
  ],
  vsmmus: [{ name: "vsmmu0", smmu: "smmu0", parent: "s2" }],
  domains: [
    { name: "s2", stage: "s2", nestParent: true },
    { name: "g0", stage: "nested", vsmmu: "vsmmu0" },
    { name: "g1", stage: "nested", vsmmu: "vsmmu0" },
  ],
};

/** The guest's vSMMU has VMID 1: the S2 parent's on smmu0. */
const VMID = 1;

function nested(): Simulator {
  const s = sim(NESTED);
  expect(s.attach("gpu0", "g0")).toBe(0);
  expect(s.attach("nic0", "g1")).toBe(0);
  return s;
}

/** The commands smmu0 received while the guest's `cmds` went through, and what the driver returned. */
function invalidate(s: Simulator, cmds: Cmd[]): { smmu0: Cmd[]; ret: number; entryNum: number } {
  let r = { ret: 0, entryNum: 0 };
  const { smmu0 } = during(s, () => (r = s.vsmmuInvalidate("vsmmu0", cmds)));
  return { smmu0: smmu0!, ...r };
}

/** A guest's TLBI_NH_VA of one 4 KiB page (no range: the guest driver's own choice), VMID 0 as a guest writes it. */
const guestVa = (addr: number): Cmd => nhVa(1, BigInt(addr), { leaf: true });
const withVmid = (c: Cmd): Cmd => ({ ...c, vmid: VMID }) as Cmd;

describe("chunks of CMDQ_BATCH_ENTRIES - 1 = 63, each with its CMD_SYNC", () => {
  test("64 commands: 63 and a CMD_SYNC, then 1 and a CMD_SYNC", () => {
    const guest = Array.from({ length: 64 }, (_, i) => guestVa(0x10000 + i * 0x1000));
    const r = invalidate(nested(), guest);
    expect(r).toEqual({ smmu0: [...guest.slice(0, 63).map(withVmid), SYNC, withVmid(guest[63]!), SYNC], ret: 0, entryNum: 64 });
  });

  test("63 commands are one chunk; 126 are two; none is no submission", () => {
    const guest = Array.from({ length: 126 }, (_, i) => guestVa(0x10000 + i * 0x1000));
    expect(invalidate(nested(), guest.slice(0, 63)).smmu0).toEqual([...guest.slice(0, 63).map(withVmid), SYNC]);
    expect(invalidate(nested(), guest).smmu0).toEqual([...guest.slice(0, 63).map(withVmid), SYNC, ...guest.slice(63).map(withVmid), SYNC]);
    expect(invalidate(nested(), [])).toEqual({ smmu0: [], ret: 0, entryNum: 0 });
  });

  test("a guest's unmap of 64 pages: 63 TLBI_NH_VA and a CMD_SYNC, then the last one, the ATC_INV and a CMD_SYNC", () => {
    const s = nested();
    s.map("s2", 0x4000_0000, 0x20_0000);
    s.map("g0", 0x10000, 0x40000, { pa: 0x4000_0000 });
    const { smmu0 } = during(s, () => s.unmap("g0", 0x10000, 0x40000));
    const vas = Array.from({ length: 64 }, (_, i) => withVmid(guestVa(0x10000 + i * 0x1000)));
    /* the guest names gpu0 by its vSID 0x100 (streams[0]); 0x10000..0x4ffff rounds to 2^7 pages at 0 */
    expect(smmu0).toEqual([...vas.slice(0, 63), SYNC, vas[63], atcInv(0x100, { size: 7, addr: 0n }), SYNC]);
  });
});

describe("arm_vsmmu_convert_user_cmd()", () => {
  test("TLBI_NSNH_ALL arrives as TLBI_NH_ALL with the vSMMU's VMID", () => {
    expect(invalidate(nested(), [{ op: "TLBI_NSNH_ALL" }])).toEqual({ smmu0: [nhAll(VMID), SYNC], ret: 0, entryNum: 1 });
  });

  test("TLBI_NH_VA, NH_VAA, NH_ALL and NH_ASID get the vSMMU's VMID, whatever the guest wrote, and nothing else changes", () => {
    const guest: Cmd[] = [
      { op: "TLBI_NH_VA", asid: 3, vmid: 7, num: 1, scale: 2, leaf: true, ttl: 3, tg: 1, addr: 0x20000n },
      { op: "TLBI_NH_VAA", vmid: 7, num: 0, scale: 0, leaf: false, ttl: 0, tg: 0, addr: 0x30000n },
      { op: "TLBI_NH_ALL", vmid: 7 },
      { op: "TLBI_NH_ASID", asid: 3, vmid: 0 },
    ];
    expect(invalidate(nested(), guest).smmu0).toEqual([...guest.map(withVmid), SYNC]);
  });

  test("ATC_INV, CFGI_CD and CFGI_CD_ALL: the vSID becomes the vDEVICE's streams[0]", () => {
    const guest: Cmd[] = [atcInv(0x100, { size: 1, addr: 0x10000n }), { op: "CFGI_CD", sid: 0x200, ssid: 0, leaf: true }, { op: "CFGI_CD_ALL", sid: 0x100 }];
    expect(invalidate(nested(), guest)).toEqual({ smmu0: [...guest, SYNC], ret: 0, entryNum: 3 });
  });

  test("CFGI_STE is -EIO, nothing issued, entry_num at it", () => {
    expect(invalidate(nested(), [{ op: "CFGI_STE", sid: 0x100, leaf: true }])).toEqual({ smmu0: [], ret: -5, entryNum: 0 });
  });

  test.each<[string, Cmd]>([
    ["CFGI_ALL", { op: "CFGI_ALL" }],
    ["CMD_SYNC", { op: "CMD_SYNC" }],
    ["TLBI_S12_VMALL", { op: "TLBI_S12_VMALL", vmid: VMID }],
    ["TLBI_S2_IPA", { op: "TLBI_S2_IPA", vmid: VMID, num: 0, scale: 0, leaf: true, ttl: 0, tg: 0, addr: 0x4000_0000n }],
    ["TLBI_EL2_ALL", { op: "TLBI_EL2_ALL" }],
    ["PREFETCH_CFG", { op: "PREFETCH_CFG", sid: 0x100 }],
  ])("%s is -EIO", (_, cmd) => {
    expect(invalidate(nested(), [cmd])).toEqual({ smmu0: [], ret: -5, entryNum: 0 });
  });

  test("a vSID no vDEVICE has is -EIO: an unknown one, gpu0's second StreamID, a device on no nested domain of the vSMMU", () => {
    const s = nested();
    expect(invalidate(s, [atcInv(0x999)])).toEqual({ smmu0: [], ret: -5, entryNum: 0 });
    /* iommufd supports one SID per device: the kernel translates a vSID to streams[0] only */
    expect(invalidate(s, [atcInv(0x101)])).toEqual({ smmu0: [], ret: -5, entryNum: 0 });
    expect(s.attach("nic0", "blocked")).toBe(0);
    expect(invalidate(s, [{ op: "CFGI_CD_ALL", sid: 0x200 }])).toEqual({ smmu0: [], ret: -5, entryNum: 0 });
  });
});

describe("where a bad command stops it", () => {
  test("at index 65: the first 63 went out with their CMD_SYNC, 63 and 64 are dropped unissued, entry_num 65", () => {
    const guest = Array.from({ length: 70 }, (_, i) => guestVa(0x10000 + i * 0x1000));
    guest[65] = { op: "CFGI_STE", sid: 0x100, leaf: true };
    expect(invalidate(nested(), guest)).toEqual({ smmu0: [...guest.slice(0, 63).map(withVmid), SYNC], ret: -5, entryNum: 65 });
  });

  test("at index 1 of a short list: the converted command before it is dropped too", () => {
    expect(invalidate(nested(), [{ op: "TLBI_NSNH_ALL" }, atcInv(0x999), { op: "TLBI_NSNH_ALL" }])).toEqual({ smmu0: [], ret: -5, entryNum: 1 });
  });

  test("a CMD_SYNC that times out: -ETIMEDOUT, entry_num at the last command of that chunk, which was queued", () => {
    const s = nested();
    s.inject("gpu0", "atc_no_response");
    const guest = [guestVa(0x10000), atcInv(0x100, { size: 0, addr: 0x10000n }), { op: "TLBI_NSNH_ALL" } as Cmd];
    expect(invalidate(s, guest)).toEqual({ smmu0: [withVmid(guest[0]!), guest[1], nhAll(VMID), SYNC], ret: -110, entryNum: 2 });
  });
});

describe("the SMMU executes what arrives", () => {
  test("a guest's TLBI_NH_VAA removes its nested translation, for every ASID of the VMID", () => {
    const s = nested();
    s.map("s2", 0x4000_0000, 0x20_0000);
    s.map("g1", 0x10000, 0x1000, { pa: 0x4000_0000 });
    expect(s.dma("nic0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "walk" });
    expect(s.dma("nic0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "iotlb" });
    invalidate(s, [{ op: "TLBI_NH_VAA", vmid: 0, num: 0, scale: 0, leaf: true, ttl: 0, tg: 0, addr: 0x10000n }]);
    expect(s.dma("nic0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "walk" });
  });
});

/** A file's scenario "s", run: its failures as "line:column: message". */
function runBody(body: string, head = ""): string[] {
  const registry = builtinRegistry();
  const text = `${head}smmu smmu0 { features: ats, nesting, range_inv; }
device gpu0 { smmu: smmu0; sids: 0x100; ats: true; }
vsmmu vsmmu0 { smmu: smmu0; parent: s2; }
domain s2 { stage: s2; nest_parent: true; }
domain g0 { stage: nested; vsmmu: vsmmu0; }
scenario "s" {
  attach gpu0 g0;
  expect count smmu0 commands 7;
${body}
}
`;
  const [r] = runFile(loadSmmu("t.smmu", registry, text), { registry });
  return r!.failures.map((f) => `${f.span.line}:${f.span.column}: ${f.message}`);
}

describe("vsmmu NAME invalidate { ... }", () => {
  test("the guest's commands, written as command patterns, with loops; their stream exact", () => {
    expect(
      runBody(`  vsmmu vsmmu0 invalidate {
    for i in 0 .. 63 { TLBI_NH_VA asid 1 leaf 1 addr 0x10000 + i * 0x1000; }
    TLBI_NH_VAA addr 0x1000;
    TLBI_NH_ALL;
    TLBI_NSNH_ALL x 2;
    ATC_INV sid 0x100 size 52;
  }
  expect commands smmu0 {
    for i in 0 .. 62 { TLBI_NH_VA asid 1 vmid 1 leaf 1 addr 0x10000 + i * 0x1000; }
    CMD_SYNC;
    TLBI_NH_VA asid 1 vmid 1 leaf 1 addr 0x4f000;
    TLBI_NH_VAA vmid 1 addr 0x1000;
    TLBI_NH_ALL vmid 1 x 3;
    ATC_INV sid 0x100 size 52;
    CMD_SYNC;
  }`),
    ).toEqual([]);
  });

  test("a guest CFGI_STE is -EIO, which expect error matches; unexpected, it fails at the statement with entry_num", () => {
    expect(runBody(`  expect error -EIO { vsmmu vsmmu0 invalidate { CFGI_STE sid 0x100; } }\n  expect count smmu0 commands 0;`)).toEqual([]);
    expect(runBody(`  vsmmu vsmmu0 invalidate { TLBI_NSNH_ALL; CFGI_STE sid 0x100; }\n  expect count smmu0 commands 0;`)).toEqual([
      "9:3: vsmmu vsmmu0 invalidate failed: -EIO, entry_num 1 of 2 (entry 1: CFGI_STE sid 0x100 leaf 0)",
    ]);
  });

  test("under driver-legacy, a vSMMU arm_vsmmu_init() refused has nothing to invalidate through: -ENOENT", () => {
    const registry = builtinRegistry();
    const text = `driver legacy;
smmu smmu0 { features: nesting; }
smmu smmu1 { features: nesting; }
vsmmu vsmmu0 { smmu: smmu0; parent: s2; }
vsmmu vsmmu1 { smmu: smmu1; parent: s2; }
domain s2 { stage: s2; nest_parent: true; }
scenario "s" {
  expect error -ENOENT { vsmmu vsmmu1 invalidate { TLBI_NSNH_ALL; } }
  expect count smmu1 commands 0;
  vsmmu vsmmu0 invalidate { TLBI_NSNH_ALL; }
  expect commands smmu0 { TLBI_NH_ALL vmid 1; CMD_SYNC; }
}
`;
    const [r] = runFile(loadSmmu("t.smmu", registry, text), { registry });
    expect(r!.failures).toEqual([]);
    /* the kernel prints nothing: the reason is the failure's (driver:errno), a limit of the driver */
    expect(r!.warnings).toEqual([]);
    const [unexpected] = runFile(loadSmmu("t.smmu", registry, text.replace("expect error -ENOENT { vsmmu vsmmu1 invalidate { TLBI_NSNH_ALL; } }", "vsmmu vsmmu1 invalidate { TLBI_NSNH_ALL; }")), { registry });
    expect(unexpected!.failures.map((f) => [f.span.line, f.message, f.lacks])).toEqual([
      [
        8,
        "vsmmu vsmmu1 invalidate failed: -ENOENT, entry_num 0 of 1 (entry 0: TLBI_NSNH_ALL) (iommufd_viommu_find: no such vIOMMU: arm_vsmmu_init() refused it (s2_parent->smmu != smmu (vsmmu1: its S2 parent s2 is on smmu0, not smmu1)))",
        "-ENOENT",
      ],
    ]);
  });

  test("it runs concurrently with other operations", () => {
    expect(runBody(`  concurrently { vsmmu vsmmu0 invalidate { TLBI_NSNH_ALL; } map s2 0x40000000 size 4K; }
  expect commands smmu0 { TLBI_NH_ALL vmid 1; CMD_SYNC; }`)).toEqual([]);
  });

  test.each([
    ["an unknown vSMMU", "vsmmu vsmmu1 invalidate { TLBI_NSNH_ALL; }", `t.smmu:9:9: error: unknown vSMMU "vsmmu1" (did you mean "vsmmu0"?)`],
    ["an unknown opcode", "vsmmu vsmmu0 invalidate { TLBI_NH_VAAA; }", `t.smmu:9:29: error: unknown command "TLBI_NH_VAAA" (did you mean "TLBI_NH_VAA"?)`],
    ["a field the opcode has not", "vsmmu vsmmu0 invalidate { TLBI_NH_VAA asid 1; }", `t.smmu:9:41: error: TLBI_NH_VAA has no field "asid" (it has: vmid, num, scale, leaf, ttl, tg, addr)`],
    ["a field too wide", "vsmmu vsmmu0 invalidate { TLBI_NH_ASID asid 0x10000; }", "t.smmu:9:47: error: asid 65536 does not fit its 16 bits (0..65535)"],
    ["a negative field", "vsmmu vsmmu0 invalidate { CFGI_CD sid -1; }", "t.smmu:9:41: error: sid -1 does not fit its 32 bits (0..4294967295)"],
    ["an address not 4 KiB aligned", "vsmmu vsmmu0 invalidate { TLBI_NH_VAA addr 0x1800; }", "t.smmu:9:46: error: addr 0x1800 is not 4 KiB aligned: the command holds address bits 63:12"],
    ["an expectation among concurrent operations", "concurrently { vsmmu vsmmu0 invalidate { } expect count smmu0 commands 0; }", "t.smmu:9:46: error: only operations (attach, detach, map, unmap, flush, dma, mm, vsmmu invalidate, thread) run concurrently"],
    ["'...'", "vsmmu vsmmu0 invalidate { TLBI_NSNH_ALL ...; }", "t.smmu:9:43: error: a guest's command is written out: it has no '...' (a field it does not give is 0)"],
  ])("%s is an error at its position", (_, stmt, message) => {
    expect(() => runBody(`  ${stmt}`)).toThrow(message);
  });
});
