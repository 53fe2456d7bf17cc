/**
 * plugins/smmu-v3/decode.ts: STEs and CDs as the SMMU reads them. Entries
 * are built here two ways: with the field layout of src/model/entries.ts
 * (FIELD_PREP, as the driver builds them), and bit by bit at the positions
 * IHI0070 5.2 (STE) and 5.4 (CD) give, so that the decoder and the layout
 * are both held to the architecture. Every field of the result is asserted.
 */
import { describe, expect, test } from "vitest";
import {
  ARM_LPAE_TCR_RGN_WBWA,
  ARM_LPAE_TCR_SH_IS,
  ARM_LPAE_TCR_TG0_64K,
  ARM_SMMU_SH_ISH,
  CTXDESC_CD_0_A,
  CTXDESC_CD_0_AA64,
  CTXDESC_CD_0_ASET,
  CTXDESC_CD_0_ASID,
  CTXDESC_CD_0_R,
  CTXDESC_CD_0_TCR_EPD1,
  CTXDESC_CD_0_TCR_IPS,
  CTXDESC_CD_0_TCR_IRGN0,
  CTXDESC_CD_0_TCR_ORGN0,
  CTXDESC_CD_0_TCR_SH0,
  CTXDESC_CD_0_TCR_T0SZ,
  CTXDESC_CD_0_TCR_TG0,
  CTXDESC_CD_0_V,
  CTXDESC_CD_1_TTB0_MASK,
  fieldPrep,
  newEntry,
  STRTAB_STE_0_CFG,
  STRTAB_STE_0_CFG_NESTED,
  STRTAB_STE_0_CFG_S1_TRANS,
  STRTAB_STE_0_S1CDMAX,
  STRTAB_STE_0_S1CTXPTR_MASK,
  STRTAB_STE_0_S1FMT,
  STRTAB_STE_0_S1FMT_64K_L2,
  STRTAB_STE_0_V,
  STRTAB_STE_1_EATS,
  STRTAB_STE_1_EATS_TRANS,
  STRTAB_STE_1_S1C_CACHE_WBRA,
  STRTAB_STE_1_S1CIR,
  STRTAB_STE_1_S1COR,
  STRTAB_STE_1_S1CSH,
  STRTAB_STE_1_S1DSS,
  STRTAB_STE_1_S1DSS_SSID0,
  STRTAB_STE_1_S1STALLD,
  STRTAB_STE_1_SHCFG,
  STRTAB_STE_1_SHCFG_INCOMING,
  STRTAB_STE_1_STRW,
  STRTAB_STE_1_STRW_EL2,
  STRTAB_STE_2_S2AA64,
  STRTAB_STE_2_S2PTW,
  STRTAB_STE_2_S2R,
  STRTAB_STE_2_S2VMID,
  STRTAB_STE_2_VTCR,
  STRTAB_STE_2_VTCR_S2PS,
  STRTAB_STE_2_VTCR_S2SH0,
  STRTAB_STE_2_VTCR_S2SL0,
  STRTAB_STE_2_VTCR_S2T0SZ,
  STRTAB_STE_2_VTCR_S2TG,
  STRTAB_STE_3_S2TTB_MASK,
  type Qwords,
} from "../../src/index.js";
import { decodeCd, decodeSte, type DecodedCd, type DecodedSte } from "../../plugins/smmu-v3/decode.js";

const CDTAB = 0x8_1234_5000n;
const S2TTB = 0x8_0abc_d000n;
const TTB0 = 0x8_0008_8000n;

/** An all-zero STE, decoded: V clear, Config abort, everything else zero. */
const ZERO_STE: DecodedSte = {
  valid: false,
  cfg: "abort",
  cfgRaw: 0,
  s1ctxptr: 0n,
  s1cdmax: 0,
  s1fmt: "linear",
  s1dss: "terminate",
  s1cir: 0,
  s1cor: 0,
  s1csh: 0,
  s1stalld: false,
  mev: false,
  s2fwb: false,
  eats: "abt",
  strw: "nsel1",
  shcfg: 0,
  s2vmid: 0,
  vtcr: { t0sz: 0, sl0: 0, ir0: 0, or0: 0, sh0: 0, tg: 0, ps: 0 },
  s2aa64: false,
  s2endi: false,
  s2ptw: false,
  s2s: false,
  s2r: false,
  s2ttb: 0n,
};

const ZERO_CD: DecodedCd = {
  valid: false,
  t0sz: 0,
  tg0: 0,
  irgn0: 0,
  orgn0: 0,
  sh0: 0,
  epd0: false,
  epd1: false,
  endi: false,
  ips: 0,
  tbi0: false,
  aa64: false,
  hd: false,
  ha: false,
  s: false,
  r: false,
  a: false,
  aset: false,
  asid: 0,
  ttb0: 0n,
  mair: 0n,
};

function entry(q0: bigint, q1 = 0n, q2 = 0n, q3 = 0n): Qwords {
  const e = newEntry();
  [e[0], e[1], e[2], e[3]] = [q0, q1, q2, q3];
  return e;
}

describe("STE", () => {
  test("all zero: not valid", () => {
    expect(decodeSte(newEntry())).toEqual(ZERO_STE);
  });

  test("a CD-table STE built with the layout, every field read back", () => {
    const ste = entry(
      fieldPrep(STRTAB_STE_0_V, true) |
        fieldPrep(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_S1_TRANS) |
        fieldPrep(STRTAB_STE_0_S1FMT, STRTAB_STE_0_S1FMT_64K_L2) |
        (CDTAB & STRTAB_STE_0_S1CTXPTR_MASK.mask) |
        fieldPrep(STRTAB_STE_0_S1CDMAX, 20),
      fieldPrep(STRTAB_STE_1_S1DSS, STRTAB_STE_1_S1DSS_SSID0) |
        fieldPrep(STRTAB_STE_1_S1CIR, STRTAB_STE_1_S1C_CACHE_WBRA) |
        fieldPrep(STRTAB_STE_1_S1COR, STRTAB_STE_1_S1C_CACHE_WBRA) |
        fieldPrep(STRTAB_STE_1_S1CSH, ARM_SMMU_SH_ISH) |
        fieldPrep(STRTAB_STE_1_S1STALLD, true) |
        fieldPrep(STRTAB_STE_1_EATS, STRTAB_STE_1_EATS_TRANS) |
        fieldPrep(STRTAB_STE_1_STRW, STRTAB_STE_1_STRW_EL2) |
        fieldPrep(STRTAB_STE_1_SHCFG, STRTAB_STE_1_SHCFG_INCOMING),
    );
    expect(decodeSte(ste)).toEqual({
      ...ZERO_STE,
      valid: true,
      cfg: "s1",
      cfgRaw: 5,
      s1ctxptr: CDTAB,
      s1cdmax: 20,
      s1fmt: "64k_l2",
      s1dss: "ssid0",
      s1cir: 1,
      s1cor: 1,
      s1csh: 3,
      s1stalld: true,
      eats: "trans",
      strw: "el2",
      shcfg: 1,
    });
  });

  test("a nested STE built with the layout: the S2 half, with its VTCR sub-fields inside the VTCR value", () => {
    const vtcr =
      fieldPrep(STRTAB_STE_2_VTCR_S2T0SZ, 16) |
      fieldPrep(STRTAB_STE_2_VTCR_S2SL0, 2) |
      fieldPrep(STRTAB_STE_2_VTCR_S2SH0, ARM_LPAE_TCR_SH_IS) |
      fieldPrep(STRTAB_STE_2_VTCR_S2TG, 0) |
      fieldPrep(STRTAB_STE_2_VTCR_S2PS, 5);
    const ste = entry(
      fieldPrep(STRTAB_STE_0_V, true) | fieldPrep(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_NESTED),
      0n,
      fieldPrep(STRTAB_STE_2_S2VMID, 0xbeef) | fieldPrep(STRTAB_STE_2_VTCR, vtcr) | fieldPrep(STRTAB_STE_2_S2AA64, true) | fieldPrep(STRTAB_STE_2_S2PTW, true) | fieldPrep(STRTAB_STE_2_S2R, true),
      S2TTB & STRTAB_STE_3_S2TTB_MASK.mask,
    );
    expect(decodeSte(ste)).toEqual({
      ...ZERO_STE,
      valid: true,
      cfg: "nested",
      cfgRaw: 7,
      s2vmid: 0xbeef,
      vtcr: { t0sz: 16, sl0: 2, ir0: 0, or0: 0, sh0: 3, tg: 0, ps: 5 },
      s2aa64: true,
      s2ptw: true,
      s2r: true,
      s2ttb: S2TTB,
    });
  });

  test("the architecture's bit positions: qword 0", () => {
    /* V bit 0, Config 3:1, S1Fmt 5:4, S1ContextPtr 51:6, S1CDMax 63:59; bits 58:52 are not the S1ContextPtr */
    const d = decodeSte(entry(0b1n | (0b110n << 1n) | (0b10n << 4n) | (0xf_ffff_ffff_ffc0n) | (0x7fn << 52n) | (0b10100n << 59n)));
    expect(d).toEqual({ ...ZERO_STE, valid: true, cfgRaw: 6, cfg: "s2", s1fmt: "64k_l2", s1ctxptr: 0xf_ffff_ffff_ffc0n, s1cdmax: 20 });
  });

  test("the architecture's bit positions: qwords 1 to 3", () => {
    const q1 = 0b10n | (0b01n << 2n) | (0b10n << 4n) | (0b11n << 6n) | (1n << 19n) | (1n << 25n) | (1n << 27n) | (0b10n << 28n) | (0b11n << 30n) | (0b11n << 44n);
    /* VTCR is qword 2 bits 50:32: S2T0SZ 5:0, S2SL0 7:6, S2IR0 9:8, S2OR0 11:10, S2SH0 13:12, S2TG 15:14, S2PS 18:16 of it */
    const vtcr = 25n | (1n << 6n) | (1n << 8n) | (2n << 10n) | (3n << 12n) | (2n << 14n) | (4n << 16n);
    const q2 = 0x1234n | (vtcr << 32n) | (1n << 51n) | (1n << 52n) | (1n << 54n) | (1n << 57n) | (1n << 58n);
    const q3 = 0xffff_ffff_ffff_ffffn;
    expect(decodeSte(entry(1n, q1, q2, q3))).toEqual({
      ...ZERO_STE,
      valid: true,
      s1dss: "ssid0",
      s1cir: 1,
      s1cor: 2,
      s1csh: 3,
      mev: true,
      s2fwb: true,
      s1stalld: true,
      eats: "s1chk",
      strw: "el3",
      shcfg: 3,
      s2vmid: 0x1234,
      vtcr: { t0sz: 25, sl0: 1, ir0: 1, or0: 2, sh0: 3, tg: 2, ps: 4 },
      s2aa64: true,
      s2endi: true,
      s2ptw: true,
      s2s: true,
      s2r: true,
      /* S2TTB is bits 51:4 in place */
      s2ttb: 0xf_ffff_ffff_fff0n,
    });
  });

  test("every encoding of Config, S1Fmt, S1DSS, EATS and STRW by name, the reserved ones as reserved", () => {
    const cfg = [0, 1, 2, 3, 4, 5, 6, 7].map((v) => decodeSte(entry(BigInt(v) << 1n)).cfg);
    expect(cfg).toEqual(["abort", "reserved", "reserved", "reserved", "bypass", "s1", "s2", "nested"]);
    const q1 = (shift: bigint) => [0, 1, 2, 3].map((v) => decodeSte(entry(0n, BigInt(v) << shift)));
    expect([0, 1, 2, 3].map((v) => decodeSte(entry(BigInt(v) << 4n)).s1fmt)).toEqual(["linear", "4k_l2", "64k_l2", "reserved"]);
    expect(q1(0n).map((d) => d.s1dss)).toEqual(["terminate", "bypass", "ssid0", "reserved"]);
    expect(q1(28n).map((d) => d.eats)).toEqual(["abt", "trans", "s1chk", "reserved"]);
    expect(q1(30n).map((d) => d.strw)).toEqual(["nsel1", "reserved", "el2", "el3"]);
  });

  test("the abort STE every unused StreamID holds (arm_smmu_init_initial_stes): valid, Config abort", () => {
    expect(decodeSte([1n, 0n, 0n, 0n, 0n, 0n, 0n, 0n])).toEqual({ ...ZERO_STE, valid: true });
  });

  test("qwords beyond those given read as zero", () => {
    expect(decodeSte([0b1011n])).toEqual({ ...ZERO_STE, valid: true, cfg: "s1", cfgRaw: 5 });
  });
});

describe("CD", () => {
  test("all zero: not valid", () => {
    expect(decodeCd(newEntry())).toEqual(ZERO_CD);
  });

  test("a stage-1 CD built with the layout, every field read back", () => {
    const cd = entry(
      fieldPrep(CTXDESC_CD_0_TCR_T0SZ, 16) |
        fieldPrep(CTXDESC_CD_0_TCR_TG0, ARM_LPAE_TCR_TG0_64K) |
        fieldPrep(CTXDESC_CD_0_TCR_IRGN0, ARM_LPAE_TCR_RGN_WBWA) |
        fieldPrep(CTXDESC_CD_0_TCR_ORGN0, ARM_LPAE_TCR_RGN_WBWA) |
        fieldPrep(CTXDESC_CD_0_TCR_SH0, ARM_LPAE_TCR_SH_IS) |
        fieldPrep(CTXDESC_CD_0_TCR_IPS, 5) |
        fieldPrep(CTXDESC_CD_0_TCR_EPD1, true) |
        fieldPrep(CTXDESC_CD_0_V, true) |
        fieldPrep(CTXDESC_CD_0_AA64, true) |
        fieldPrep(CTXDESC_CD_0_R, true) |
        fieldPrep(CTXDESC_CD_0_A, true) |
        fieldPrep(CTXDESC_CD_0_ASET, true) |
        fieldPrep(CTXDESC_CD_0_ASID, 0xabcd),
      TTB0 & CTXDESC_CD_1_TTB0_MASK.mask,
      0n,
      0x0004_04ff_0044_ff04n,
    );
    expect(decodeCd(cd)).toEqual({
      ...ZERO_CD,
      valid: true,
      t0sz: 16,
      tg0: 1,
      irgn0: 1,
      orgn0: 1,
      sh0: 3,
      ips: 5,
      epd1: true,
      aa64: true,
      r: true,
      a: true,
      aset: true,
      asid: 0xabcd,
      ttb0: TTB0,
      mair: 0x0004_04ff_0044_ff04n,
    });
  });

  test("the architecture's bit positions", () => {
    /* T0SZ 5:0, TG0 7:6, IR0 9:8, OR0 11:10, SH0 13:12, EPD0 14, ENDI 15, EPD1 30, V 31, IPS 34:32, TBI0 38, AA64 41, HD 42, HA 43, S 44, R 45, A 46, ASET 47, ASID 63:48 */
    const q0 = 25n | (2n << 6n) | (3n << 8n) | (2n << 10n) | (2n << 12n) | (1n << 14n) | (1n << 15n) | (1n << 31n) | (3n << 32n) | (1n << 38n) | (1n << 42n) | (1n << 43n) | (1n << 44n) | (0x8001n << 48n);
    /* TTB0 is qword 1 bits 51:4 in place; MAIR the whole of qword 3 */
    expect(decodeCd(entry(q0, 0xffff_ffff_ffff_ffffn, 0xffff_ffff_ffff_ffffn, 0x1234_5678_9abc_def0n))).toEqual({
      ...ZERO_CD,
      valid: true,
      t0sz: 25,
      tg0: 2,
      irgn0: 3,
      orgn0: 2,
      sh0: 2,
      epd0: true,
      endi: true,
      ips: 3,
      tbi0: true,
      hd: true,
      ha: true,
      s: true,
      asid: 0x8001,
      ttb0: 0xf_ffff_ffff_fff0n,
      mair: 0x1234_5678_9abc_def0n,
    });
  });
});
