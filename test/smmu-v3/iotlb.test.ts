/**
 * plugins/smmu-v3/iotlb.ts: the SMMU's TLB. Which entries each TLBI_* command
 * removes (IHI0070 4.4): by ASID and VMID for stage 1 (nested stage 1+2
 * entries are stage 1 entries of their VMID), by IPA for stage 2 only, by
 * VMID for both stages, EL2 entries only by the EL2 forms; and the span a
 * range command covers, (NUM + 1) x 2^SCALE granules of TG.
 */
import { describe, expect, test } from "vitest";
import type { Cmd, Translation } from "../../src/index.js";
import { Iotlb, tagText, type TlbTag } from "../../plugins/smmu-v3/iotlb.js";

const s1 = (asid: number, vmid = 0): TlbTag => ({ stage: "s1", asid, vmid });
const el2 = (asid: number): TlbTag => ({ stage: "s1", asid, vmid: -1 });
const s2 = (vmid: number): TlbTag => ({ stage: "s2", asid: -1, vmid });
const nested = (asid: number, vmid: number): TlbTag => ({ stage: "nested", asid, vmid });

/** A translation of [base, base + size) to 0x4000_0000 + base. */
function region(base: number, size = 0x1000, writable = true): Translation {
  return { base, size, pa: 0x4000_0000 + base, writable, backing: [] };
}

/** What the TLB holds, one "tag base" line per entry, in its order. */
function held(tlb: Iotlb): string[] {
  return tlb.entries().map((e) => `${tagText(e)} 0x${e.t.base.toString(16)}`);
}

function tlbWith(entries: Array<[TlbTag, number]>, size = 0x1000): Iotlb {
  const tlb = new Iotlb();
  for (const [tag, base] of entries) tlb.fill(tag, region(base, size));
  return tlb;
}

/** A range-less (TG 0) VA or IPA field set. */
const NO_RANGE = { num: 0, scale: 0, leaf: true, ttl: 0, tg: 0 };

describe("tags", () => {
  test("as cache:fill names them: stage, then EL2 or ASID and VMID", () => {
    expect([s1(1), el2(1), s2(2), nested(1, 2)].map(tagText)).toEqual(["s1 asid 1 vmid 0", "s1 el2 asid 1", "s2 vmid 2", "nested asid 1 vmid 2"]);
  });

  test("a lookup hits inside the entry's region under its own tag only", () => {
    const tlb = new Iotlb();
    tlb.fill(s1(1), region(0x20_0000, 0x20_0000));
    expect(tlb.lookup(s1(1), 0x20_0000)?.t.base).toBe(0x20_0000);
    expect(tlb.lookup(s1(1), 0x3f_ffff)?.t.base).toBe(0x20_0000);
    expect(tlb.lookup(s1(1), 0x40_0000)).toBeUndefined();
    expect(tlb.lookup(s1(1), 0x1f_ffff)).toBeUndefined();
    /* the same ASID under another VMID, at EL2 or nested is another context */
    expect([s1(1, 1), el2(1), nested(1, 0), s1(2)].map((t) => tlb.lookup(t, 0x20_0000))).toEqual([undefined, undefined, undefined, undefined]);
  });

  test("a fill at a base the tag already holds replaces that entry; each fill is heard with its tag", () => {
    const heard: string[] = [];
    const tlb = new Iotlb((tag, t) => heard.push(`${tag} 0x${t.base.toString(16)}`));
    tlb.fill(s1(1), region(0x10000));
    tlb.fill(s1(1), { ...region(0x10000), pa: 0x5000_0000 });
    tlb.fill(s2(3), region(0x10000));
    expect(tlb.size).toBe(2);
    expect(tlb.lookup(s1(1), 0x10000)?.t.pa).toBe(0x5000_0000);
    expect(heard).toEqual(["s1 asid 1 vmid 0 0x10000", "s1 asid 1 vmid 0 0x10000", "s2 vmid 3 0x10000"]);
  });

  test("the tags an invalidation array must cover: the ASID of stage-1 entries, the VMID of the others, while some entry holds them", () => {
    const tlb = tlbWith([
      [s1(1), 0x10000],
      [s1(1), 0x11000],
      [el2(4), 0x10000],
      [s2(3), 0x10000],
      [nested(7, 5), 0x10000],
    ]);
    expect(tlb.coverTags()).toEqual(["asid 1", "asid 4", "vmid 3", "vmid 5"]);
    tlb.invalidate({ op: "TLBI_NH_VA", asid: 1, vmid: 0, addr: 0x10000n, ...NO_RANGE });
    expect(tlb.coverTags()).toEqual(["asid 1", "asid 4", "vmid 3", "vmid 5"]);
    tlb.invalidate({ op: "TLBI_NH_VA", asid: 1, vmid: 0, addr: 0x11000n, ...NO_RANGE });
    tlb.invalidate({ op: "TLBI_S12_VMALL", vmid: 5 });
    expect(tlb.coverTags()).toEqual(["asid 4", "vmid 3"]);
  });
});

describe("what each TLBI removes", () => {
  /* stage 1 at VMID 0 (two pages of ASID 1), under VMID 3, at EL2, stage 2 and nested entries */
  const POPULATION: Array<[TlbTag, number]> = [
    [s1(1), 0x10000],
    [s1(1), 0x11000],
    [s1(2), 0x10000],
    [s1(1, 3), 0x10000],
    [el2(1), 0x10000],
    [s2(3), 0x10000],
    [s2(4), 0x10000],
    [nested(1, 3), 0x10000],
  ];
  const ALL = held(tlbWith(POPULATION));

  const cases: Array<[string, Cmd, string[]]> = [
    ["TLBI_NH_VA: the page of that ASID and VMID, stage 1 or nested", { op: "TLBI_NH_VA", asid: 1, vmid: 3, addr: 0x10000n, ...NO_RANGE }, ["nested asid 1 vmid 3 0x10000", "s1 asid 1 vmid 3 0x10000"]],
    ["TLBI_NH_VA at VMID 0: not the EL2 entry of the same ASID", { op: "TLBI_NH_VA", asid: 1, vmid: 0, addr: 0x10000n, ...NO_RANGE }, ["s1 asid 1 vmid 0 0x10000"]],
    ["TLBI_NH_ASID: every page of that ASID and VMID", { op: "TLBI_NH_ASID", asid: 1, vmid: 0 }, ["s1 asid 1 vmid 0 0x10000", "s1 asid 1 vmid 0 0x11000"]],
    ["TLBI_NH_ALL: every stage-1 entry of the VMID, not its stage-2 ones", { op: "TLBI_NH_ALL", vmid: 3 }, ["nested asid 1 vmid 3 0x10000", "s1 asid 1 vmid 3 0x10000"]],
    ["TLBI_EL2_VA: the EL2 page of that ASID", { op: "TLBI_EL2_VA", asid: 1, addr: 0x10000n, ...NO_RANGE }, ["s1 el2 asid 1 0x10000"]],
    ["TLBI_EL2_ASID: the EL2 entries of that ASID", { op: "TLBI_EL2_ASID", asid: 1 }, ["s1 el2 asid 1 0x10000"]],
    ["TLBI_EL2_ALL: every EL2 entry", { op: "TLBI_EL2_ALL" }, ["s1 el2 asid 1 0x10000"]],
    /* a combined stage 1+2 entry needs TLBI_NH_ALL or S12_VMALL (hence the driver's S2_VMID_S1_CLEAR) */
    ["TLBI_S2_IPA: stage-2-only entries of the VMID, not nested ones", { op: "TLBI_S2_IPA", vmid: 3, addr: 0x10000n, ...NO_RANGE }, ["s2 vmid 3 0x10000"]],
    ["TLBI_S12_VMALL: both stages of the VMID", { op: "TLBI_S12_VMALL", vmid: 3 }, ["nested asid 1 vmid 3 0x10000", "s1 asid 1 vmid 3 0x10000", "s2 vmid 3 0x10000"]],
    ["TLBI_NSNH_ALL: everything but EL2", { op: "TLBI_NSNH_ALL" }, ALL.filter((e) => !e.includes("el2"))],
    ["CFGI_STE: nothing (the configuration cache, not the TLB)", { op: "CFGI_STE", sid: 0x40, leaf: true }, []],
    ["ATC_INV: nothing (the endpoint's ATC)", { op: "ATC_INV", sid: 0x40, ssid: 0, ssv: false, global: false, size: 52, addr: 0n }, []],
  ];

  test.each(cases)("%s", (_name, cmd, removed) => {
    const tlb = tlbWith(POPULATION);
    expect(tlb.invalidate(cmd)).toBe(removed.length);
    expect(held(tlb)).toEqual(ALL.filter((e) => !removed.includes(e)));
  });
});

describe("the span of a TLBI", () => {
  /** Stage-1 pages of ASID 1 at 0x10000, 0x11000, ... (`count` of them). */
  const pages = (count: number): Iotlb => tlbWith(Array.from({ length: count }, (_, i): [TlbTag, number] => [s1(1), 0x10000 + i * 0x1000]));
  const va = (addr: number, r: { num: number; scale: number; tg: number }): Cmd => ({ op: "TLBI_NH_VA", asid: 1, vmid: 0, addr: BigInt(addr), leaf: true, ttl: 0, ...r });
  const bases = (tlb: Iotlb): number[] => tlb.entries().map((e) => e.t.base);

  test("without a range (TG 0): the entry holding the address, a block whole", () => {
    const tlb = tlbWith([[s1(1), 0x20_0000]], 0x20_0000);
    tlb.fill(s1(1), region(0x40_0000));
    expect(tlb.invalidate(va(0x3f_f000, { num: 0, scale: 0, tg: 0 }))).toBe(1);
    expect(bases(tlb)).toEqual([0x40_0000]);
  });

  test("NUM is the count less one: NUM 2, SCALE 0 of 4K is three pages", () => {
    const tlb = pages(5);
    expect(tlb.invalidate(va(0x11000, { num: 2, scale: 0, tg: 1 }))).toBe(3);
    expect(bases(tlb)).toEqual([0x10000, 0x14000]);
  });

  test("33 pages as the driver sends them with RANGE_INV: 1 page, then 32 as SCALE 5", () => {
    const tlb = pages(34);
    tlb.invalidate(va(0x10000, { num: 0, scale: 0, tg: 1 }));
    tlb.invalidate(va(0x11000, { num: 0, scale: 5, tg: 1 }));
    expect(bases(tlb)).toEqual([0x10000 + 33 * 0x1000]);
  });

  test("TG is the granule: 16K (TG 2) and 64K (TG 3) for one NUM 0, SCALE 0 step", () => {
    const a = pages(20);
    expect(a.invalidate(va(0x10000, { num: 0, scale: 0, tg: 2 }))).toBe(4);
    const b = pages(20);
    expect(b.invalidate(va(0x10000, { num: 0, scale: 0, tg: 3 }))).toBe(16);
    expect(bases(b)).toEqual([0x20000, 0x21000, 0x22000, 0x23000]);
  });

  test("an entry partly inside the span goes", () => {
    const tlb = tlbWith([[s1(1), 0x20_0000]], 0x20_0000);
    expect(tlb.invalidate(va(0x3f_f000, { num: 0, scale: 0, tg: 1 }))).toBe(1);
  });

  test("TLBI_S2_IPA spans IPAs the same way", () => {
    const tlb = tlbWith(Array.from({ length: 4 }, (_, i): [TlbTag, number] => [s2(3), 0x10000 + i * 0x1000]));
    expect(tlb.invalidate({ op: "TLBI_S2_IPA", vmid: 3, addr: 0x11000n, num: 0, scale: 1, leaf: true, ttl: 3, tg: 1 })).toBe(2);
    expect(bases(tlb)).toEqual([0x10000, 0x13000]);
  });
});
