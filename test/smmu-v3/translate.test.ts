/**
 * plugins/smmu-v3/translate.ts: one transaction through STE -> CD -> TLB ->
 * table walk (IHI0070 chapter 3), on a unit whose STEs, CD tables and page
 * tables are built here. Each result is exact: the translation and where it
 * came from, or the event (C_BAD_STE, F_TRANSLATION, ...) with its detail.
 */
import { beforeEach, describe, expect, test } from "vitest";
import { Memory } from "../../src/core/memory.js";
import { runSteps } from "../../src/core/steps.js";
import type { UnmapOps } from "../../src/model/page-table.js";
import {
  CdTable,
  CTXDESC_CD_0_ASID,
  CTXDESC_CD_0_TCR_EPD0,
  CTXDESC_CD_0_V,
  CTXDESC_CD_1_TTB0_MASK,
  fieldPrep,
  newEntry,
  PageTable,
  pgsizeBitmapFor,
  STRTAB_STE_0_CFG,
  STRTAB_STE_0_CFG_ABORT,
  STRTAB_STE_0_CFG_BYPASS,
  STRTAB_STE_0_CFG_NESTED,
  STRTAB_STE_0_CFG_S1_TRANS,
  STRTAB_STE_0_CFG_S2_TRANS,
  STRTAB_STE_0_S1CDMAX,
  STRTAB_STE_0_S1CTXPTR_MASK,
  STRTAB_STE_0_V,
  STRTAB_STE_1_EATS,
  STRTAB_STE_1_EATS_TRANS,
  STRTAB_STE_1_S1DSS,
  STRTAB_STE_1_S1DSS_BYPASS,
  STRTAB_STE_1_S1DSS_SSID0,
  STRTAB_STE_1_S1DSS_TERMINATE,
  STRTAB_STE_1_STRW,
  STRTAB_STE_1_STRW_EL2,
  STRTAB_STE_2_S2VMID,
  STRTAB_STE_3_S2TTB_MASK,
  type Qwords,
  type TranslateRequest,
  type TranslateResult,
} from "../../src/index.js";
import { Iotlb, tagText } from "../../plugins/smmu-v3/iotlb.js";
import { cdTableAt, translate, type TranslationUnit } from "../../plugins/smmu-v3/translate.js";

const SID = 0x40;

/** A map's table callbacks, none of which a fresh table's map calls. */
const NO_OPS: UnmapOps = {
  *flushWalk() {},
  addPage: null,
  cleared: () => undefined,
  freed: () => undefined,
  warn: () => undefined,
};

/** An SMMU's translation state without its queue or walk cache: STEs by StreamID, CDs straight from their tables. */
class Unit implements TranslationUnit {
  readonly memory = new Memory();
  readonly iotlb = new Iotlb();
  readonly walkCache = null;
  readonly tlbLocation = "unit.tlb";
  readonly generation = 0;
  readonly stes = new Map<number, Qwords>();
  walkCached(): void {}
  walked(): void {}
  fetchSte(sid: number): Qwords {
    return this.stes.get(sid) ?? [1n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];
  }
  fetchCd(_sid: number, cdtab: bigint, ssid: number): Qwords | undefined {
    return cdTableAt(this.memory, cdtab)?.fetch(ssid);
  }
  /** A 4K-granule page table in memory, its address, and a map into it. */
  table(stage: "s1" | "s2" = "s1"): { pa: bigint; map: (iova: number, size: number, pa: number, writable: boolean) => void } {
    const pt = new PageTable(pgsizeBitmapFor(0x1000), this.memory, stage);
    return { pa: pt.pa, map: (iova, size, pa, writable) => void runSteps(pt.map(iova, size, pa, writable, NO_OPS)) };
  }
  /** The TLB's entries, as "tag base" lines. */
  held(): string[] {
    return this.iotlb.entries().map((e) => `${tagText(e)} 0x${e.t.base.toString(16)}`);
  }
}

type Cfg = bigint;
interface SteFields {
  cfg: Cfg;
  valid?: boolean;
  cdtab?: bigint;
  s1cdmax?: number;
  s1dss?: bigint;
  eats?: bigint;
  el2?: boolean;
  vmid?: number;
  s2ttb?: bigint;
}

function ste(f: SteFields): Qwords {
  const e = newEntry();
  e[0] =
    fieldPrep(STRTAB_STE_0_V, f.valid ?? true) |
    fieldPrep(STRTAB_STE_0_CFG, f.cfg) |
    ((f.cdtab ?? 0n) & STRTAB_STE_0_S1CTXPTR_MASK.mask) |
    fieldPrep(STRTAB_STE_0_S1CDMAX, f.s1cdmax ?? 0);
  e[1] = fieldPrep(STRTAB_STE_1_S1DSS, f.s1dss ?? STRTAB_STE_1_S1DSS_SSID0) | fieldPrep(STRTAB_STE_1_EATS, f.eats ?? 0n) | (f.el2 ? fieldPrep(STRTAB_STE_1_STRW, STRTAB_STE_1_STRW_EL2) : 0n);
  e[2] = fieldPrep(STRTAB_STE_2_S2VMID, f.vmid ?? 0);
  e[3] = (f.s2ttb ?? 0n) & STRTAB_STE_3_S2TTB_MASK.mask;
  return e;
}

/** Write a CD (V set unless `valid` is false) at `ssid` of `table`. */
function writeCd(table: CdTable, ssid: number, asid: number, ttb0: bigint, o: { valid?: boolean; epd0?: boolean } = {}): void {
  const cd = table.cd(ssid);
  cd[0] = fieldPrep(CTXDESC_CD_0_V, o.valid ?? true) | fieldPrep(CTXDESC_CD_0_ASID, asid) | fieldPrep(CTXDESC_CD_0_TCR_EPD0, o.epd0 ?? false);
  cd[1] = ttb0 & CTXDESC_CD_1_TTB0_MASK.mask;
}

const read = (iova: number, o: Partial<TranslateRequest> = {}): TranslateRequest => ({ sid: SID, ssid: null, iova, access: "read", ats: false, ...o });
const write = (iova: number, o: Partial<TranslateRequest> = {}): TranslateRequest => read(iova, { access: "write", ...o });
const fault = (event: string, detail: string): TranslateResult => ({ kind: "fault", event, detail });

let u: Unit;
beforeEach(() => {
  u = new Unit();
});

describe("the STE", () => {
  test("V clear: C_BAD_STE", () => {
    u.stes.set(SID, ste({ cfg: STRTAB_STE_0_CFG_BYPASS, valid: false }));
    expect(translate(u, read(0x10000))).toEqual(fault("C_BAD_STE", "STE for sid 0x40 is not valid"));
  });

  test("a reserved Config: C_BAD_STE", () => {
    u.stes.set(SID, ste({ cfg: 2n }));
    expect(translate(u, read(0x10000))).toEqual(fault("C_BAD_STE", "STE for sid 0x40 has a reserved Config"));
  });

  test("Config abort, as every StreamID the driver has not written: terminated without an event", () => {
    expect(translate(u, read(0x10000))).toEqual({ kind: "abort", detail: "STE for sid 0x40 aborts" });
    u.stes.set(SID, ste({ cfg: STRTAB_STE_0_CFG_ABORT }));
    expect(translate(u, write(0x10000))).toEqual({ kind: "abort", detail: "STE for sid 0x40 aborts" });
  });

  test("Config bypass: the address as is, writable, from no table, nothing cached", () => {
    u.stes.set(SID, ste({ cfg: STRTAB_STE_0_CFG_BYPASS }));
    expect(translate(u, write(0x10000))).toEqual({ kind: "ok", t: { base: 0x10000, size: 0x1000, pa: 0x10000, writable: true, backing: [] }, via: "bypass" });
    expect(u.iotlb.size).toBe(0);
  });

  test("an ATS Translation Request needs EATS=trans, whatever the Config: F_BAD_ATS_TREQ", () => {
    u.stes.set(SID, ste({ cfg: STRTAB_STE_0_CFG_BYPASS }));
    expect(translate(u, read(0x10000, { ats: true }))).toEqual(fault("F_BAD_ATS_TREQ", "ATS translation request on sid 0x40 with STE.EATS=abt"));
    u.stes.set(SID, ste({ cfg: STRTAB_STE_0_CFG_BYPASS, eats: STRTAB_STE_1_EATS_TRANS }));
    expect(translate(u, read(0x10000, { ats: true }))).toMatchObject({ kind: "ok", via: "bypass" });
  });
});

describe("stage 2 only", () => {
  test("a walk, then the TLB under the VMID; a fault when unmapped, read-only or not a table", () => {
    const { map, pa } = u.table("s2");
    map(0x10000, 0x1000, 0x4000_0000, true);
    map(0x11000, 0x1000, 0x4000_1000, false);
    u.stes.set(SID, ste({ cfg: STRTAB_STE_0_CFG_S2_TRANS, vmid: 5, s2ttb: pa }));
    const t = { base: 0x10000, size: 0x1000, pa: 0x4000_0000, writable: true, backing: [{ table: pa, addr: 0x10000, pa: 0x4000_0000 }] };
    expect(translate(u, read(0x10234))).toEqual({ kind: "ok", t, via: "walk" });
    expect(u.held()).toEqual(["s2 vmid 5 0x10000"]);
    expect(translate(u, write(0x10ffc))).toEqual({ kind: "ok", t, via: "iotlb" });
    expect(translate(u, read(0x12000))).toEqual(fault("F_TRANSLATION", "stage 2 0x12000 is not mapped"));
    expect(translate(u, write(0x11000))).toEqual(fault("F_PERMISSION", "stage 2 0x11000 is read-only"));
    /* faults cache nothing */
    expect(u.held()).toEqual(["s2 vmid 5 0x10000"]);
    u.stes.set(SID, ste({ cfg: STRTAB_STE_0_CFG_S2_TRANS, vmid: 5, s2ttb: 0x9000_0000n }));
    expect(translate(u, read(0x20000))).toEqual(fault("F_WALK_EABT", "stage 2 table at 0x90000000 is not a page table"));
  });

  test("a read-only translation in the TLB refuses a write without walking", () => {
    const { map, pa } = u.table("s2");
    map(0x10000, 0x1000, 0x4000_0000, false);
    u.stes.set(SID, ste({ cfg: STRTAB_STE_0_CFG_S2_TRANS, vmid: 5, s2ttb: pa }));
    translate(u, read(0x10000));
    expect(translate(u, write(0x10000))).toEqual(fault("F_PERMISSION", "0x10000 is read-only"));
  });
});

describe("stage 1", () => {
  /** A CD table of 2^8 CDs: CD 0 (ASID 7) and CD 3 (ASID 9) over two page tables mapping 0x10000 differently. */
  function s1Setup(o: { s1dss?: bigint; el2?: boolean; twoLevel?: boolean } = {}) {
    const cds = new CdTable(8, o.twoLevel ?? false);
    const cdtab = u.memory.alloc(cds);
    const a = u.table();
    const b = u.table();
    a.map(0x10000, 0x1000, 0x4000_0000, true);
    b.map(0x10000, 0x1000, 0x5000_0000, false);
    writeCd(cds, 0, 7, a.pa);
    writeCd(cds, 3, 9, b.pa);
    u.stes.set(SID, ste({ cfg: STRTAB_STE_0_CFG_S1_TRANS, cdtab, s1cdmax: 8, s1dss: o.s1dss, el2: o.el2 }));
    return { cds, a, b };
  }

  test("no PASID with S1DSS=SSID0 uses CD 0; a PASID its own CD; each cached under its CD's ASID", () => {
    const { a, b } = s1Setup();
    expect(translate(u, read(0x10000))).toEqual({ kind: "ok", t: { base: 0x10000, size: 0x1000, pa: 0x4000_0000, writable: true, backing: [{ table: a.pa, addr: 0x10000, pa: 0x4000_0000 }] }, via: "walk" });
    expect(translate(u, read(0x10000, { ssid: 3 }))).toEqual({ kind: "ok", t: { base: 0x10000, size: 0x1000, pa: 0x5000_0000, writable: false, backing: [{ table: b.pa, addr: 0x10000, pa: 0x5000_0000 }] }, via: "walk" });
    expect(translate(u, read(0x10000, { ssid: 0 }))).toMatchObject({ kind: "ok", t: { pa: 0x4000_0000 }, via: "iotlb" });
    expect(u.held()).toEqual(["s1 asid 7 vmid 0 0x10000", "s1 asid 9 vmid 0 0x10000"]);
    expect(translate(u, write(0x10000, { ssid: 3 }))).toEqual(fault("F_PERMISSION", "0x10000 is read-only"));
  });

  test("no PASID with S1DSS=terminate aborts; with S1DSS=bypass passes through", () => {
    s1Setup({ s1dss: STRTAB_STE_1_S1DSS_TERMINATE });
    expect(translate(u, read(0x10000))).toEqual({ kind: "abort", detail: "sid 0x40 without PASID: S1DSS terminate" });
    s1Setup({ s1dss: STRTAB_STE_1_S1DSS_BYPASS });
    expect(translate(u, read(0x10000))).toEqual({ kind: "ok", t: { base: 0x10000, size: 0x1000, pa: 0x10000, writable: true, backing: [] }, via: "bypass" });
    /* a PASID still goes through its CD */
    expect(translate(u, read(0x10000, { ssid: 3 }))).toMatchObject({ kind: "ok", t: { pa: 0x5000_0000 }, via: "walk" });
  });

  test("an SSID beyond S1CDMAX: C_BAD_SUBSTREAMID", () => {
    s1Setup();
    expect(translate(u, read(0x10000, { ssid: 256 }))).toEqual(fault("C_BAD_SUBSTREAMID", "ssid 256 beyond S1CDMAX 8"));
  });

  test("a CD no table reaches (2-level, no L2 table for it): F_CD_FETCH; a CD with V clear: C_BAD_CD; EPD0 set: F_TRANSLATION", () => {
    const { cds, a } = s1Setup({ twoLevel: true });
    expect(translate(u, read(0x10000, { ssid: 5 }))).toEqual(fault("F_CD_FETCH", "no CD table holds ssid 5 of sid 0x40"));
    cds.l2.add(0);
    expect(translate(u, read(0x10000, { ssid: 5 }))).toEqual(fault("C_BAD_CD", "CD 5 of sid 0x40 is not valid"));
    writeCd(cds, 5, 11, a.pa, { epd0: true });
    expect(translate(u, read(0x10000, { ssid: 5 }))).toEqual(fault("F_TRANSLATION", "CD 5 of sid 0x40 has EPD0 set"));
    expect(u.iotlb.size).toBe(0);
  });

  test("STRW=EL2: cached as an EL2 entry of the ASID, which only TLBI_EL2_* reach", () => {
    s1Setup({ el2: true });
    translate(u, read(0x10000));
    expect(u.held()).toEqual(["s1 el2 asid 7 0x10000"]);
    expect(u.iotlb.invalidate({ op: "TLBI_NH_ASID", asid: 7, vmid: 0 })).toBe(0);
    expect(u.iotlb.invalidate({ op: "TLBI_EL2_ASID", asid: 7 })).toBe(1);
  });

  test("a stage-1 fault names the stage", () => {
    s1Setup();
    expect(translate(u, read(0x20000))).toEqual(fault("F_TRANSLATION", "stage 1 0x20000 is not mapped"));
  });
});

describe("nested: stage 1 over stage 2", () => {
  /* the guest maps 2 MiB at IOVA 0x200000 to IPA 0x80200000; the host maps the 4K at IPA 0x80203000, read-only */
  function nestedSetup(s1dss?: bigint) {
    const cds = new CdTable(8, false);
    const cdtab = u.memory.alloc(cds);
    const s1 = u.table();
    const s2 = u.table("s2");
    s1.map(0x20_0000, 0x20_0000, 0x8020_0000, true);
    s2.map(0x8020_3000, 0x1000, 0x4000_0000, false);
    writeCd(cds, 0, 4, s1.pa);
    u.stes.set(SID, ste({ cfg: STRTAB_STE_0_CFG_NESTED, cdtab, s1cdmax: 8, s1dss, vmid: 6, s2ttb: s2.pa }));
    return { s1, s2 };
  }

  test("the region both leaves cover, writable only if both are; cached under ASID and VMID", () => {
    const { s1, s2 } = nestedSetup();
    expect(translate(u, read(0x20_3456))).toEqual({
      kind: "ok",
      t: {
        base: 0x20_3000,
        size: 0x1000,
        pa: 0x4000_0000,
        writable: false,
        backing: [
          { table: s1.pa, addr: 0x20_0000, pa: 0x8020_0000 },
          { table: s2.pa, addr: 0x8020_3000, pa: 0x4000_0000 },
        ],
      },
      via: "walk",
    });
    expect(u.held()).toEqual(["nested asid 4 vmid 6 0x203000"]);
    expect(translate(u, read(0x20_4000))).toEqual(fault("F_TRANSLATION", "stage 2 0x80204000 is not mapped"));
    expect(translate(u, write(0x20_3000))).toEqual(fault("F_PERMISSION", "0x203000 is read-only"));
  });

  test("a write that misses the TLB faults at stage 2, with the IPA", () => {
    nestedSetup();
    expect(translate(u, write(0x20_3456))).toEqual(fault("F_PERMISSION", "stage 2 0x80203456 is read-only"));
  });

  test("no PASID with S1DSS=bypass: stage 2 alone, cached as stage 2 of the VMID", () => {
    const { s2 } = nestedSetup(STRTAB_STE_1_S1DSS_BYPASS);
    expect(translate(u, read(0x8020_3000))).toEqual({
      kind: "ok",
      t: { base: 0x8020_3000, size: 0x1000, pa: 0x4000_0000, writable: false, backing: [{ table: s2.pa, addr: 0x8020_3000, pa: 0x4000_0000 }] },
      via: "walk",
    });
    expect(u.held()).toEqual(["s2 vmid 6 0x80203000"]);
  });
});
