/**
 * plugins/vsmmu: the commands a guest's driver queues on its vSMMU after
 * unmapping from a nested stage 1, as the model has it: one TLBI_NH_VA per
 * 4 KiB page with the guest's ASID (VMID 0: a guest has none; the host
 * driver puts its own in, arm_vsmmu_cache_invalidate()), then one ATC_INV
 * over the range for each StreamID with ATS on, spanned as
 * arm_smmu_atc_inv_to_cmd() spans it: log2 of the pages from the first to
 * the last, the start rounded down to that many.
 */
import { describe, expect, test } from "vitest";
import { Simulator, type VsmmuNode } from "../../src/index.js";
import { atcInv, nhVa } from "../helpers/cmds.js";

function vsmmu(): VsmmuNode {
  const sim = new Simulator({
    smmus: [{ name: "smmu0", features: ["ats", "nesting"] }],
    devices: [],
    vsmmus: [{ name: "v0", smmu: "smmu0", parent: "s2" }],
    domains: [{ name: "s2", stage: "s2", nestParent: true }],
  });
  return sim.platform.vsmmu("v0");
}

/** The TLBI_NH_VA of each page of [iova, iova + size) for ASID `asid`. */
function pages(asid: number, iova: number, size: number): ReturnType<typeof nhVa>[] {
  return Array.from({ length: size / 0x1000 }, (_, i) => nhVa(asid, BigInt(iova + i * 0x1000)));
}

test("the node: on its SMMU, over its nest parent", () => {
  const v = vsmmu();
  expect([v.kind, v.name, v.smmu, v.parent]).toEqual(["vsmmu", "v0", "smmu0", "s2"]);
});

describe("guest invalidations", () => {
  test("one page, no ATS: one TLBI_NH_VA, leaf, without range fields", () => {
    expect(vsmmu().guestInvalidation(5, 0x10000, 0x1000, [])).toEqual([
      { op: "TLBI_NH_VA", asid: 5, vmid: 0, num: 0, scale: 0, leaf: true, ttl: 0, tg: 0, addr: 0x10000n },
    ]);
  });

  test("pages 8-11 with two ATS StreamIDs: four TLBIs, then ATC_INV addr 0x8000 size 2 for each", () => {
    expect(vsmmu().guestInvalidation(5, 0x8000, 0x4000, [0x40, 0x41])).toEqual([
      ...pages(5, 0x8000, 0x4000),
      atcInv(0x40, { size: 2, addr: 0x8000n }),
      atcInv(0x41, { size: 2, addr: 0x8000n }),
    ]);
  });

  test("pages 7-10 round out to pages 0-15: ATC_INV addr 0 size 4", () => {
    expect(vsmmu().guestInvalidation(1, 0x7000, 0x4000, [0x40])).toEqual([...pages(1, 0x7000, 0x4000), atcInv(0x40, { size: 4, addr: 0n })]);
  });

  test("one page with ATS: ATC_INV size 0 at the page", () => {
    expect(vsmmu().guestInvalidation(1, 0x3f_f000, 0x1000, [0x40])).toEqual([nhVa(1, 0x3f_f000n), atcInv(0x40, { size: 0, addr: 0x3f_f000n })]);
  });

  test("2 MiB, aligned: 512 TLBIs, one ATC_INV of size 9", () => {
    const cmds = vsmmu().guestInvalidation(2, 0x20_0000, 0x20_0000, [0x40]);
    expect(cmds).toEqual([...pages(2, 0x20_0000, 0x20_0000), atcInv(0x40, { size: 9, addr: 0x20_0000n })]);
    expect(cmds).toHaveLength(513);
  });
});
