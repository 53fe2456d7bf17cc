/**
 * What `show ste`, `show cd` and `show iotlb` print of an SMMU: an STE or CD
 * decoded as the SMMU reads it (decode.ts), each field named as
 * arm-smmu-v3.h names it (STRTAB_STE_0_CFG, CTXDESC_CD_0_ASID, ...) with the
 * kernel's name of its value, then the raw qwords; and the TLB's and walk
 * cache's entries, tagged as `cache:fill` tags them.
 */
import {
  CTXDESC_CD_0_A,
  CTXDESC_CD_0_AA64,
  CTXDESC_CD_0_ASET,
  CTXDESC_CD_0_ASID,
  CTXDESC_CD_0_ENDI,
  CTXDESC_CD_0_R,
  CTXDESC_CD_0_S,
  CTXDESC_CD_0_TCR_EPD0,
  CTXDESC_CD_0_TCR_EPD1,
  CTXDESC_CD_0_TCR_HA,
  CTXDESC_CD_0_TCR_HD,
  CTXDESC_CD_0_TCR_IPS,
  CTXDESC_CD_0_TCR_IRGN0,
  CTXDESC_CD_0_TCR_ORGN0,
  CTXDESC_CD_0_TCR_SH0,
  CTXDESC_CD_0_TCR_T0SZ,
  CTXDESC_CD_0_TCR_TBI0,
  CTXDESC_CD_0_TCR_TG0,
  CTXDESC_CD_0_V,
  CTXDESC_CD_1_TTB0_MASK,
  CTXDESC_CD_3_MAIR,
  formatTranslation,
  hex,
  type Qwords,
  STRTAB_STE_0_CFG,
  STRTAB_STE_0_S1CDMAX,
  STRTAB_STE_0_S1CTXPTR_MASK,
  STRTAB_STE_0_S1FMT,
  STRTAB_STE_0_V,
  STRTAB_STE_1_EATS,
  STRTAB_STE_1_MEV,
  STRTAB_STE_1_S1CIR,
  STRTAB_STE_1_S1COR,
  STRTAB_STE_1_S1CSH,
  STRTAB_STE_1_S1DSS,
  STRTAB_STE_1_S1STALLD,
  STRTAB_STE_1_S2FWB,
  STRTAB_STE_1_SHCFG,
  STRTAB_STE_1_STRW,
  STRTAB_STE_2_S2AA64,
  STRTAB_STE_2_S2ENDI,
  STRTAB_STE_2_S2PTW,
  STRTAB_STE_2_S2R,
  STRTAB_STE_2_S2S,
  STRTAB_STE_2_S2VMID,
  STRTAB_STE_2_VTCR_S2IR0,
  STRTAB_STE_2_VTCR_S2OR0,
  STRTAB_STE_2_VTCR_S2PS,
  STRTAB_STE_2_VTCR_S2SH0,
  STRTAB_STE_2_VTCR_S2SL0,
  STRTAB_STE_2_VTCR_S2T0SZ,
  STRTAB_STE_2_VTCR_S2TG,
  STRTAB_STE_3_S2TTB_MASK,
} from "../../src/index.js";
import { decodeCd, decodeSte, type DecodedCd, type DecodedSte } from "./decode.js";
import { tagText, type Iotlb } from "./iotlb.js";
import type { WalkCache } from "./walk-cache.js";

/** One field of an entry: the kernel's name of it, its value, and the kernel's name of that value where it has one. */
type Shown = readonly [name: string, value: number | bigint | boolean, meaning?: string];

/** The kernel's names of STE values (STRTAB_STE_0_CFG_S1_TRANS, ...), by what decodeSte() calls them. */
const CFG = { abort: "ABORT", bypass: "BYPASS", s1: "S1_TRANS", s2: "S2_TRANS", nested: "NESTED", reserved: "reserved" } as const;
const S1FMT = { linear: "LINEAR", "4k_l2": "4K_L2", "64k_l2": "64K_L2", reserved: "reserved" } as const;
const S1DSS = { terminate: "TERMINATE", bypass: "BYPASS", ssid0: "SSID0", reserved: "reserved" } as const;
const EATS = { abt: "ABT", trans: "TRANS", s1chk: "S1CHK", reserved: "reserved" } as const;
const STRW = { nsel1: "NSEL1", reserved: "reserved", el2: "EL2", el3: "EL3" } as const;

/** A field as a line: "STRTAB_STE_0_CFG 5 (S1_TRANS)"; numbers in decimal, addresses (and MAIR) in hex, flags as 0/1. */
function fieldLine([name, value, meaning]: Shown): string {
  const v = typeof value === "boolean" ? (value ? "1" : "0") : typeof value === "bigint" ? hex(value) : String(value);
  return `${name} ${v}${meaning ? ` (${meaning})` : ""}`;
}

/** A value worth a line: anything but 0 (or false). */
function set(f: Shown): boolean {
  return f[1] !== 0 && f[1] !== 0n && f[1] !== false;
}

function steFields(d: DecodedSte): Shown[] {
  return [
    [STRTAB_STE_0_S1FMT.name, Object.keys(S1FMT).indexOf(d.s1fmt), d.s1fmt === "linear" ? undefined : S1FMT[d.s1fmt]],
    [STRTAB_STE_0_S1CTXPTR_MASK.name, d.s1ctxptr],
    [STRTAB_STE_0_S1CDMAX.name, d.s1cdmax],
    [STRTAB_STE_1_S1DSS.name, Object.keys(S1DSS).indexOf(d.s1dss), d.s1dss === "terminate" ? undefined : S1DSS[d.s1dss]],
    [STRTAB_STE_1_S1CIR.name, d.s1cir],
    [STRTAB_STE_1_S1COR.name, d.s1cor],
    [STRTAB_STE_1_S1CSH.name, d.s1csh],
    [STRTAB_STE_1_S1STALLD.name, d.s1stalld],
    [STRTAB_STE_1_MEV.name, d.mev],
    [STRTAB_STE_1_S2FWB.name, d.s2fwb],
    [STRTAB_STE_1_EATS.name, Object.keys(EATS).indexOf(d.eats), d.eats === "abt" ? undefined : EATS[d.eats]],
    [STRTAB_STE_1_STRW.name, Object.keys(STRW).indexOf(d.strw), d.strw === "nsel1" ? undefined : STRW[d.strw]],
    [STRTAB_STE_1_SHCFG.name, d.shcfg, d.shcfg === 1 ? "INCOMING" : undefined],
    [STRTAB_STE_2_S2VMID.name, d.s2vmid],
    [STRTAB_STE_2_VTCR_S2T0SZ.name, d.vtcr.t0sz],
    [STRTAB_STE_2_VTCR_S2SL0.name, d.vtcr.sl0],
    [STRTAB_STE_2_VTCR_S2IR0.name, d.vtcr.ir0],
    [STRTAB_STE_2_VTCR_S2OR0.name, d.vtcr.or0],
    [STRTAB_STE_2_VTCR_S2SH0.name, d.vtcr.sh0],
    [STRTAB_STE_2_VTCR_S2TG.name, d.vtcr.tg],
    [STRTAB_STE_2_VTCR_S2PS.name, d.vtcr.ps],
    [STRTAB_STE_2_S2AA64.name, d.s2aa64],
    [STRTAB_STE_2_S2ENDI.name, d.s2endi],
    [STRTAB_STE_2_S2PTW.name, d.s2ptw],
    [STRTAB_STE_2_S2S.name, d.s2s],
    [STRTAB_STE_2_S2R.name, d.s2r],
    [STRTAB_STE_3_S2TTB_MASK.name, d.s2ttb],
  ];
}

function cdFields(d: DecodedCd): Shown[] {
  return [
    [CTXDESC_CD_0_TCR_T0SZ.name, d.t0sz],
    [CTXDESC_CD_0_TCR_TG0.name, d.tg0, d.tg0 === 0 ? undefined : d.tg0 === 1 ? "64K" : d.tg0 === 2 ? "16K" : "reserved"],
    [CTXDESC_CD_0_TCR_IRGN0.name, d.irgn0],
    [CTXDESC_CD_0_TCR_ORGN0.name, d.orgn0],
    [CTXDESC_CD_0_TCR_SH0.name, d.sh0],
    [CTXDESC_CD_0_TCR_EPD0.name, d.epd0],
    [CTXDESC_CD_0_ENDI.name, d.endi],
    [CTXDESC_CD_0_TCR_EPD1.name, d.epd1],
    [CTXDESC_CD_0_TCR_IPS.name, d.ips],
    [CTXDESC_CD_0_TCR_TBI0.name, d.tbi0],
    [CTXDESC_CD_0_AA64.name, d.aa64],
    [CTXDESC_CD_0_TCR_HD.name, d.hd],
    [CTXDESC_CD_0_TCR_HA.name, d.ha],
    [CTXDESC_CD_0_S.name, d.s],
    [CTXDESC_CD_0_R.name, d.r],
    [CTXDESC_CD_0_A.name, d.a],
    [CTXDESC_CD_0_ASET.name, d.aset],
    [CTXDESC_CD_0_ASID.name, d.asid],
    [CTXDESC_CD_1_TTB0_MASK.name, d.ttb0],
    [CTXDESC_CD_3_MAIR.name, d.mair],
  ];
}

/** The raw qwords, as the entry holds them. */
function qwordsLine(q: Qwords): string {
  return `qwords ${q.map((x) => hex(x)).join(" ")}`;
}

/**
 * An STE as the SMMU would read it: V and Config, then every other field
 * that is set, then the qwords; and, when the SMMU's configuration cache
 * holds another copy (no CFGI_STE since the STE changed), that copy's qwords.
 */
export function steLines(ste: Qwords, cached?: Qwords): string[] {
  const d = decodeSte(ste);
  const lines = [
    fieldLine([STRTAB_STE_0_V.name, d.valid]),
    fieldLine([STRTAB_STE_0_CFG.name, d.cfgRaw, CFG[d.cfg]]),
    ...steFields(d).filter(set).map(fieldLine),
    qwordsLine(ste),
  ];
  if (cached && cached.some((q, i) => q !== ste[i])) lines.push(`the configuration cache holds an older copy: ${qwordsLine(cached)}`);
  return lines;
}

/** A CD as the SMMU would read it: V, then every other field that is set, then the qwords. */
function cdLines(cd: Qwords): string[] {
  const d = decodeCd(cd);
  return [fieldLine([CTXDESC_CD_0_V.name, d.valid]), ...cdFields(d).filter(set).map(fieldLine), qwordsLine(cd)];
}

/** The CD an STE leads to for `ssid`, or why it leads to none. */
export function cdOf(ste: Qwords, ssid: number, fetch: (cdtab: bigint) => Qwords | undefined): string[] {
  const d = decodeSte(ste);
  if (d.cfg !== "s1" && d.cfg !== "nested") return [`no CD: ${STRTAB_STE_0_CFG.name} is ${CFG[d.cfg]}`];
  if (ssid >= 2 ** d.s1cdmax) return [`no CD: ssid ${ssid} is beyond ${STRTAB_STE_0_S1CDMAX.name} ${d.s1cdmax}`];
  const cd = fetch(d.s1ctxptr);
  return cd ? cdLines(cd) : [`no CD: the CD table at ${hex(d.s1ctxptr)} holds no leaf table for ssid ${ssid}`];
}

/** The TLB's entries, then the walk cache's, each by tag and address. */
export function cacheLines(iotlb: Iotlb, walk: WalkCache | null): string[] {
  const tlb = iotlb.entries().map((e) => `iotlb ${tagText(e)}: ${formatTranslation(e.t)}`);
  const walks = walk
    ? walk.entries().map((e) => `walk ${tagText(e)}: level ${e.level} ${hex(e.base)} size ${hex(e.size)} -> table ${hex(e.next)}`)
    : ["walk: none (walk_cache: false)"];
  return [...(tlb.length ? tlb : ["iotlb: empty"]), ...(walks.length ? walks : ["walk: empty"])];
}
