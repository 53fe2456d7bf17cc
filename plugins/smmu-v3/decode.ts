/**
 * Decoding STEs and CDs as the emulated SMMU reads them from memory (IHI0070
 * 5.2 and 5.4), from the field layout in src/model/entries.ts. The driver
 * builds entries with its own code; only the layout is shared.
 */
import { CTXDESC_CD_0_A, CTXDESC_CD_0_AA64, CTXDESC_CD_0_ASET, CTXDESC_CD_0_ASID, CTXDESC_CD_0_ENDI, CTXDESC_CD_0_R, CTXDESC_CD_0_S, CTXDESC_CD_0_TCR_EPD0, CTXDESC_CD_0_TCR_EPD1, CTXDESC_CD_0_TCR_HA, CTXDESC_CD_0_TCR_HD, CTXDESC_CD_0_TCR_IPS, CTXDESC_CD_0_TCR_IRGN0, CTXDESC_CD_0_TCR_ORGN0, CTXDESC_CD_0_TCR_SH0, CTXDESC_CD_0_TCR_T0SZ, CTXDESC_CD_0_TCR_TBI0, CTXDESC_CD_0_TCR_TG0, CTXDESC_CD_0_V, CTXDESC_CD_1_TTB0_MASK, fieldGet, fieldGetNum, fieldTest, STRTAB_STE_0_CFG, STRTAB_STE_0_S1CDMAX, STRTAB_STE_0_S1CTXPTR_MASK, STRTAB_STE_0_S1FMT, STRTAB_STE_0_V, STRTAB_STE_1_EATS, STRTAB_STE_1_MEV, STRTAB_STE_1_S1CIR, STRTAB_STE_1_S1COR, STRTAB_STE_1_S1CSH, STRTAB_STE_1_S1DSS, STRTAB_STE_1_S1STALLD, STRTAB_STE_1_S2FWB, STRTAB_STE_1_SHCFG, STRTAB_STE_1_STRW, STRTAB_STE_2_S2AA64, STRTAB_STE_2_S2ENDI, STRTAB_STE_2_S2PTW, STRTAB_STE_2_S2R, STRTAB_STE_2_S2S, STRTAB_STE_2_S2VMID, STRTAB_STE_2_VTCR, STRTAB_STE_2_VTCR_S2IR0, STRTAB_STE_2_VTCR_S2OR0, STRTAB_STE_2_VTCR_S2PS, STRTAB_STE_2_VTCR_S2SH0, STRTAB_STE_2_VTCR_S2SL0, STRTAB_STE_2_VTCR_S2T0SZ, STRTAB_STE_2_VTCR_S2TG, STRTAB_STE_3_S2TTB_MASK } from "../../src/index.js";

type SteCfg = "abort" | "bypass" | "s1" | "s2" | "nested" | "reserved";
type SteS1Fmt = "linear" | "4k_l2" | "64k_l2" | "reserved";
type SteS1Dss = "terminate" | "bypass" | "ssid0" | "reserved";
type SteEats = "abt" | "trans" | "s1chk" | "reserved";
/** STRW: 0b00 EL1 (NS-EL1 here), 0b10 EL2 or EL2-E2H (per SMMU_CR2.E2H), 0b11 EL3. */
type SteStrw = "nsel1" | "reserved" | "el2" | "el3";

interface DecodedVtcr {
  t0sz: number;
  sl0: number;
  ir0: number;
  or0: number;
  sh0: number;
  tg: number;
  ps: number;
}

export interface DecodedSte {
  valid: boolean;
  cfg: SteCfg;
  /** Raw CFG field. */
  cfgRaw: number;
  /** CD table address (S1ContextPtr, bits 51:6 in place). */
  s1ctxptr: bigint;
  /** log2 of the number of CDs. */
  s1cdmax: number;
  s1fmt: SteS1Fmt;
  s1dss: SteS1Dss;
  s1cir: number;
  s1cor: number;
  s1csh: number;
  s1stalld: boolean;
  mev: boolean;
  s2fwb: boolean;
  eats: SteEats;
  strw: SteStrw;
  /** SHCFG raw: 0 non-shareable, 1 use incoming, 2 outer, 3 inner. */
  shcfg: number;
  s2vmid: number;
  vtcr: DecodedVtcr;
  s2aa64: boolean;
  s2endi: boolean;
  s2ptw: boolean;
  s2s: boolean;
  s2r: boolean;
  /** Stage-2 translation table base (bits 51:4 in place). */
  s2ttb: bigint;
}

const CFG_NAMES: readonly SteCfg[] = ["abort", "reserved", "reserved", "reserved", "bypass", "s1", "s2", "nested"];
const S1FMT_NAMES: readonly SteS1Fmt[] = ["linear", "4k_l2", "64k_l2", "reserved"];
const S1DSS_NAMES: readonly SteS1Dss[] = ["terminate", "bypass", "ssid0", "reserved"];
const EATS_NAMES: readonly SteEats[] = ["abt", "trans", "s1chk", "reserved"];
const STRW_NAMES: readonly SteStrw[] = ["nsel1", "reserved", "el2", "el3"];

/** Decode an STE as the SMMU reads it (no validity checks beyond naming reserved encodings). */
export function decodeSte(q: readonly bigint[]): DecodedSte {
  const q0 = q[0] ?? 0n;
  const q1 = q[1] ?? 0n;
  const q2 = q[2] ?? 0n;
  const q3 = q[3] ?? 0n;
  const cfgRaw = fieldGetNum(q0, STRTAB_STE_0_CFG);
  const vtcr = fieldGet(q2, STRTAB_STE_2_VTCR);
  return {
    valid: fieldTest(q0, STRTAB_STE_0_V),
    cfg: CFG_NAMES[cfgRaw]!,
    cfgRaw,
    s1ctxptr: q0 & STRTAB_STE_0_S1CTXPTR_MASK.mask,
    s1cdmax: fieldGetNum(q0, STRTAB_STE_0_S1CDMAX),
    s1fmt: S1FMT_NAMES[fieldGetNum(q0, STRTAB_STE_0_S1FMT)]!,
    s1dss: S1DSS_NAMES[fieldGetNum(q1, STRTAB_STE_1_S1DSS)]!,
    s1cir: fieldGetNum(q1, STRTAB_STE_1_S1CIR),
    s1cor: fieldGetNum(q1, STRTAB_STE_1_S1COR),
    s1csh: fieldGetNum(q1, STRTAB_STE_1_S1CSH),
    s1stalld: fieldTest(q1, STRTAB_STE_1_S1STALLD),
    mev: fieldTest(q1, STRTAB_STE_1_MEV),
    s2fwb: fieldTest(q1, STRTAB_STE_1_S2FWB),
    eats: EATS_NAMES[fieldGetNum(q1, STRTAB_STE_1_EATS)]!,
    strw: STRW_NAMES[fieldGetNum(q1, STRTAB_STE_1_STRW)]!,
    shcfg: fieldGetNum(q1, STRTAB_STE_1_SHCFG),
    s2vmid: fieldGetNum(q2, STRTAB_STE_2_S2VMID),
    vtcr: {
      t0sz: fieldGetNum(vtcr, STRTAB_STE_2_VTCR_S2T0SZ),
      sl0: fieldGetNum(vtcr, STRTAB_STE_2_VTCR_S2SL0),
      ir0: fieldGetNum(vtcr, STRTAB_STE_2_VTCR_S2IR0),
      or0: fieldGetNum(vtcr, STRTAB_STE_2_VTCR_S2OR0),
      sh0: fieldGetNum(vtcr, STRTAB_STE_2_VTCR_S2SH0),
      tg: fieldGetNum(vtcr, STRTAB_STE_2_VTCR_S2TG),
      ps: fieldGetNum(vtcr, STRTAB_STE_2_VTCR_S2PS),
    },
    s2aa64: fieldTest(q2, STRTAB_STE_2_S2AA64),
    s2endi: fieldTest(q2, STRTAB_STE_2_S2ENDI),
    s2ptw: fieldTest(q2, STRTAB_STE_2_S2PTW),
    s2s: fieldTest(q2, STRTAB_STE_2_S2S),
    s2r: fieldTest(q2, STRTAB_STE_2_S2R),
    s2ttb: q3 & STRTAB_STE_3_S2TTB_MASK.mask,
  };
}

export interface DecodedCd {
  valid: boolean;
  t0sz: number;
  tg0: number;
  irgn0: number;
  orgn0: number;
  sh0: number;
  /** Walks of TTB0 disabled: every access through TTB0 faults. */
  epd0: boolean;
  epd1: boolean;
  endi: boolean;
  ips: number;
  tbi0: boolean;
  aa64: boolean;
  hd: boolean;
  ha: boolean;
  /** S: stall on fault. */
  s: boolean;
  /** R: record faults. */
  r: boolean;
  /** A: abort (vs. RAZ/WI) on fault. */
  a: boolean;
  aset: boolean;
  asid: number;
  /** TTB0 (bits 51:4 in place). */
  ttb0: bigint;
  mair: bigint;
}

/** Decode a CD as the SMMU reads it. */
export function decodeCd(q: readonly bigint[]): DecodedCd {
  const q0 = q[0] ?? 0n;
  const q1 = q[1] ?? 0n;
  const q3 = q[3] ?? 0n;
  return {
    valid: fieldTest(q0, CTXDESC_CD_0_V),
    t0sz: fieldGetNum(q0, CTXDESC_CD_0_TCR_T0SZ),
    tg0: fieldGetNum(q0, CTXDESC_CD_0_TCR_TG0),
    irgn0: fieldGetNum(q0, CTXDESC_CD_0_TCR_IRGN0),
    orgn0: fieldGetNum(q0, CTXDESC_CD_0_TCR_ORGN0),
    sh0: fieldGetNum(q0, CTXDESC_CD_0_TCR_SH0),
    epd0: fieldTest(q0, CTXDESC_CD_0_TCR_EPD0),
    epd1: fieldTest(q0, CTXDESC_CD_0_TCR_EPD1),
    endi: fieldTest(q0, CTXDESC_CD_0_ENDI),
    ips: fieldGetNum(q0, CTXDESC_CD_0_TCR_IPS),
    tbi0: fieldTest(q0, CTXDESC_CD_0_TCR_TBI0),
    aa64: fieldTest(q0, CTXDESC_CD_0_AA64),
    hd: fieldTest(q0, CTXDESC_CD_0_TCR_HD),
    ha: fieldTest(q0, CTXDESC_CD_0_TCR_HA),
    s: fieldTest(q0, CTXDESC_CD_0_S),
    r: fieldTest(q0, CTXDESC_CD_0_R),
    a: fieldTest(q0, CTXDESC_CD_0_A),
    aset: fieldTest(q0, CTXDESC_CD_0_ASET),
    asid: fieldGetNum(q0, CTXDESC_CD_0_ASID),
    ttb0: q1 & CTXDESC_CD_1_TTB0_MASK.mask,
    mair: q3,
  };
}
