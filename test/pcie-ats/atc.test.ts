/**
 * plugins/pcie-ats/atc.ts: the endpoint's ATC, and the span an ATC
 * Invalidate Request covers: 2^size 4 KiB pages from addr (size 52,
 * ATC_INV_SIZE_ALL, for everything), as arm_smmu_atc_inv_to_cmd() encodes
 * it: pages 8-11 are addr 0x8000 size 2; pages 7-10 round out to pages 0-15,
 * addr 0 size 4. With a PASID (SSV) only that PASID's entries go; without,
 * every entry in the span, PASID-tagged or not.
 */
import { describe, expect, test } from "vitest";
import { ATC_INV_SIZE_ALL, type Translation } from "../../src/index.js";
import { Atc, atcTag } from "../../plugins/pcie-ats/atc.js";

function region(base: number, size = 0x1000): Translation {
  return { base, size, pa: 0x4000_0000 + base, writable: true, backing: [] };
}

/** What the ATC holds, as "tag base" lines in fill order. */
function held(atc: Atc): string[] {
  return atc.list().map((e) => `${atcTag(e.sid, e.pasid)} 0x${e.t.base.toString(16)}`);
}

/** Pages 0 to 15 of StreamID 0x40, without a PASID. */
function sixteenPages(): Atc {
  const atc = new Atc();
  for (let p = 0; p < 16; p++) atc.fill(0x40, null, region(p * 0x1000));
  return atc;
}

const pagesLeft = (atc: Atc): number[] => atc.list().map((e) => e.t.base / 0x1000);

test("tags as cache:fill names them", () => {
  expect([atcTag(0x40, null), atcTag(0x40, 0), atcTag(0x1ff, 7)]).toEqual(["sid 0x40", "sid 0x40 pasid 0", "sid 0x1ff pasid 7"]);
});

describe("fill and lookup", () => {
  test("by StreamID and PASID (none is not PASID 0), inside the region", () => {
    const atc = new Atc();
    atc.fill(0x40, null, region(0x20_0000, 0x20_0000));
    atc.fill(0x40, 1, region(0x10000));
    expect(atc.lookup(0x40, null, 0x3f_ffff)?.t.base).toBe(0x20_0000);
    expect(atc.lookup(0x40, null, 0x40_0000)).toBeUndefined();
    expect(atc.lookup(0x40, 0, 0x20_0000)).toBeUndefined();
    expect(atc.lookup(0x41, null, 0x20_0000)).toBeUndefined();
    expect(atc.lookup(0x40, 1, 0x10fff)?.t.base).toBe(0x10000);
    expect(atc.lookup(0x40, null, 0x10000)).toBeUndefined();
  });

  test("a fill at a base the tag already holds replaces it, in place; each fill heard with its tag", () => {
    const heard: string[] = [];
    const atc = new Atc((tag, t) => heard.push(`${tag} 0x${t.pa.toString(16)}`));
    atc.fill(0x40, null, region(0x10000));
    atc.fill(0x40, 2, region(0x10000));
    atc.fill(0x40, null, { ...region(0x10000), pa: 0x5000_0000 });
    expect(atc.size).toBe(2);
    expect(held(atc)).toEqual(["sid 0x40 0x10000", "sid 0x40 pasid 2 0x10000"]);
    expect(atc.lookup(0x40, null, 0x10000)?.t.pa).toBe(0x5000_0000);
    expect(heard).toEqual(["sid 0x40 0x40010000", "sid 0x40 pasid 2 0x40010000", "sid 0x40 0x50000000"]);
  });
});

describe("the span of an invalidation", () => {
  test("size 0: one page", () => {
    const atc = sixteenPages();
    expect(atc.invalidate(0x40, false, 0, 0x3000, 0)).toBe(1);
    expect(pagesLeft(atc)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  test("pages 8-11: addr 0x8000, size 2", () => {
    const atc = sixteenPages();
    expect(atc.invalidate(0x40, false, 0, 0x8000, 2)).toBe(4);
    expect(pagesLeft(atc)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15]);
  });

  test("pages 7-10 round out to pages 0-15: addr 0, size 4", () => {
    const atc = sixteenPages();
    atc.fill(0x40, null, region(0x10000));
    expect(atc.invalidate(0x40, false, 0, 0, 4)).toBe(16);
    expect(pagesLeft(atc)).toEqual([16]);
  });

  test("ATC_INV_SIZE_ALL: everything of that StreamID, wherever it is", () => {
    const atc = sixteenPages();
    atc.fill(0x40, 3, region(0xffff_f000));
    atc.fill(0x41, null, region(0));
    expect(ATC_INV_SIZE_ALL).toBe(52);
    expect(atc.invalidate(0x40, false, 0, 0, ATC_INV_SIZE_ALL)).toBe(17);
    expect(held(atc)).toEqual(["sid 0x41 0x0"]);
  });

  test("an entry reaching into the span goes whole (a 2 MiB one for one page)", () => {
    const atc = new Atc();
    atc.fill(0x40, null, region(0x20_0000, 0x20_0000));
    expect(atc.invalidate(0x40, false, 0, 0x3f_f000, 0)).toBe(1);
    expect(atc.size).toBe(0);
  });
});

describe("PASIDs", () => {
  function tagged(): Atc {
    const atc = new Atc();
    atc.fill(0x40, null, region(0x10000));
    atc.fill(0x40, 1, region(0x10000));
    atc.fill(0x40, 2, region(0x10000));
    atc.fill(0x40, 2, region(0x20000));
    return atc;
  }

  test("with SSV: that PASID's entries in the span only", () => {
    const atc = tagged();
    expect(atc.invalidate(0x40, true, 2, 0x10000, 0)).toBe(1);
    expect(held(atc)).toEqual(["sid 0x40 0x10000", "sid 0x40 pasid 1 0x10000", "sid 0x40 pasid 2 0x20000"]);
    expect(atc.invalidate(0x40, true, 2, 0, ATC_INV_SIZE_ALL)).toBe(1);
    expect(held(atc)).toEqual(["sid 0x40 0x10000", "sid 0x40 pasid 1 0x10000"]);
  });

  test("without SSV: every entry in the span, with a PASID or without", () => {
    const atc = tagged();
    expect(atc.invalidate(0x40, false, 0, 0x10000, 0)).toBe(3);
    expect(held(atc)).toEqual(["sid 0x40 pasid 2 0x20000"]);
  });

  test("another StreamID's entries stay", () => {
    const atc = tagged();
    expect(atc.invalidate(0x41, false, 0, 0, ATC_INV_SIZE_ALL)).toBe(0);
    expect(atc.size).toBe(4);
  });
});
