/**
 * The in-memory layout of SMMUv3 Stream Table Entries and Context Descriptors
 * (IHI0070, as drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h defines it).
 *
 * An entry is eight little-endian u64 qwords; here a `Qwords` array of eight
 * bigints, each kept in [0, 2^64). The driver builds entries with the field
 * descriptors and fieldPrep(); the emulated SMMU (plugins/smmu-v3/decode.ts)
 * reads them back with fieldGet(), each side on its own.
 *
 * Every descriptor names the qword it lives in (`qword`), its bit mask within
 * that qword (`mask`) and the shift of its lowest bit (`shift`). Address
 * fields (the *_MASK names) hold the address in place: the driver writes
 * `addr & F.mask` and the hardware reads `q & F.mask`, as the kernel does.
 * The VTCR sub-fields are positions inside the 19-bit VTCR value, not inside
 * qword 2 (`parent` is STRTAB_STE_2_VTCR), exactly like the kernel's
 * STRTAB_STE_2_VTCR_* masks.
 */

import { NUM_ENTRY_QWORDS, type Qwords } from "./tables.js";

export const U64_MASK = (1n << 64n) - 1n;

/** A bit field of an entry (a kernel GENMASK_ULL()/BIT() mask with its qword). */
export interface Field {
  readonly name: string;
  /** Qword index within the entry. */
  readonly qword: number;
  /** Bits of the field in place (for a sub-field: in place within its parent's value). */
  readonly mask: bigint;
  /** Position of the lowest bit of `mask`. */
  readonly shift: bigint;
  readonly width: number;
  /** For a sub-field (STRTAB_STE_2_VTCR_*): the field whose value it is part of. */
  readonly parent?: Field;
}

/** GENMASK_ULL(h, l) as a descriptor. */
function genmask(name: string, qword: number, h: number, l: number, parent?: Field): Field {
  const width = h - l + 1;
  const mask = ((1n << BigInt(width)) - 1n) << BigInt(l);
  return Object.freeze({ name, qword, mask, shift: BigInt(l), width, ...(parent ? { parent } : {}) });
}

/** BIT(n) / (1UL << n) as a one-bit descriptor. */
function bit(name: string, qword: number, n: number): Field {
  return genmask(name, qword, n, n);
}

/** FIELD_PREP(field, value): the value shifted into place and masked (u64 arithmetic). */
export function fieldPrep(field: Field, value: bigint | number | boolean): bigint {
  const v = typeof value === "bigint" ? value : BigInt(Number(value));
  return ((v & U64_MASK) << field.shift) & field.mask;
}

/** FIELD_GET(field, qword): the field's value taken out of `qword`. */
export function fieldGet(qword: bigint, field: Field): bigint {
  return (qword & field.mask) >> field.shift;
}

/** FIELD_GET() as a JS number, for fields narrower than 53 bits. */
export function fieldGetNum(qword: bigint, field: Field): number {
  return Number(fieldGet(qword, field));
}

/** True when any bit of the (one-bit or wider) field is set in `qword`. */
export function fieldTest(qword: bigint, field: Field): boolean {
  return (qword & field.mask) !== 0n;
}

/* ---------------------------------------------------------------------------
 * Common memory attribute values
 */
export const ARM_SMMU_SH_NSH = 0n;
export const ARM_SMMU_SH_OSH = 2n;
export const ARM_SMMU_SH_ISH = 3n;

/* ---------------------------------------------------------------------------
 * Stream Table Entry
 */

/* qword 0 */
export const STRTAB_STE_0_V = bit("STRTAB_STE_0_V", 0, 0);
export const STRTAB_STE_0_CFG = genmask("STRTAB_STE_0_CFG", 0, 3, 1);
export const STRTAB_STE_0_CFG_ABORT = 0n;
export const STRTAB_STE_0_CFG_BYPASS = 4n;
export const STRTAB_STE_0_CFG_S1_TRANS = 5n;
export const STRTAB_STE_0_CFG_S2_TRANS = 6n;
export const STRTAB_STE_0_CFG_NESTED = 7n;

export const STRTAB_STE_0_S1FMT = genmask("STRTAB_STE_0_S1FMT", 0, 5, 4);
export const STRTAB_STE_0_S1FMT_LINEAR = 0n;
/** From the spec (S1Fmt 0b01, 2-level with 4KB leaf tables); the driver never uses it. */
export const STRTAB_STE_0_S1FMT_4K_L2 = 1n;
export const STRTAB_STE_0_S1FMT_64K_L2 = 2n;
export const STRTAB_STE_0_S1CTXPTR_MASK = genmask("STRTAB_STE_0_S1CTXPTR_MASK", 0, 51, 6);
export const STRTAB_STE_0_S1CDMAX = genmask("STRTAB_STE_0_S1CDMAX", 0, 63, 59);

/* qword 1 */
export const STRTAB_STE_1_S1DSS = genmask("STRTAB_STE_1_S1DSS", 1, 1, 0);
export const STRTAB_STE_1_S1DSS_TERMINATE = 0n;
export const STRTAB_STE_1_S1DSS_BYPASS = 1n;
export const STRTAB_STE_1_S1DSS_SSID0 = 2n;

export const STRTAB_STE_1_S1C_CACHE_NC = 0n;
export const STRTAB_STE_1_S1C_CACHE_WBRA = 1n;
export const STRTAB_STE_1_S1C_CACHE_WT = 2n;
export const STRTAB_STE_1_S1C_CACHE_WB = 3n;
export const STRTAB_STE_1_S1CIR = genmask("STRTAB_STE_1_S1CIR", 1, 3, 2);
export const STRTAB_STE_1_S1COR = genmask("STRTAB_STE_1_S1COR", 1, 5, 4);
export const STRTAB_STE_1_S1CSH = genmask("STRTAB_STE_1_S1CSH", 1, 7, 6);

export const STRTAB_STE_1_MEV = bit("STRTAB_STE_1_MEV", 1, 19);
export const STRTAB_STE_1_S2FWB = bit("STRTAB_STE_1_S2FWB", 1, 25);
export const STRTAB_STE_1_S1STALLD = bit("STRTAB_STE_1_S1STALLD", 1, 27);

export const STRTAB_STE_1_EATS = genmask("STRTAB_STE_1_EATS", 1, 29, 28);
export const STRTAB_STE_1_EATS_ABT = 0n;
export const STRTAB_STE_1_EATS_TRANS = 1n;
export const STRTAB_STE_1_EATS_S1CHK = 2n;

export const STRTAB_STE_1_STRW = genmask("STRTAB_STE_1_STRW", 1, 31, 30);
export const STRTAB_STE_1_STRW_NSEL1 = 0n;
export const STRTAB_STE_1_STRW_EL2 = 2n;

export const STRTAB_STE_1_SHCFG = genmask("STRTAB_STE_1_SHCFG", 1, 45, 44);
export const STRTAB_STE_1_SHCFG_INCOMING = 1n;

/* qword 2 */
export const STRTAB_STE_2_S2VMID = genmask("STRTAB_STE_2_S2VMID", 2, 15, 0);
export const STRTAB_STE_2_VTCR = genmask("STRTAB_STE_2_VTCR", 2, 50, 32);
/* Sub-fields of the VTCR value (FIELD_PREP'd into it, then it into qword 2) */
export const STRTAB_STE_2_VTCR_S2T0SZ = genmask("STRTAB_STE_2_VTCR_S2T0SZ", 2, 5, 0, STRTAB_STE_2_VTCR);
export const STRTAB_STE_2_VTCR_S2SL0 = genmask("STRTAB_STE_2_VTCR_S2SL0", 2, 7, 6, STRTAB_STE_2_VTCR);
export const STRTAB_STE_2_VTCR_S2IR0 = genmask("STRTAB_STE_2_VTCR_S2IR0", 2, 9, 8, STRTAB_STE_2_VTCR);
export const STRTAB_STE_2_VTCR_S2OR0 = genmask("STRTAB_STE_2_VTCR_S2OR0", 2, 11, 10, STRTAB_STE_2_VTCR);
export const STRTAB_STE_2_VTCR_S2SH0 = genmask("STRTAB_STE_2_VTCR_S2SH0", 2, 13, 12, STRTAB_STE_2_VTCR);
export const STRTAB_STE_2_VTCR_S2TG = genmask("STRTAB_STE_2_VTCR_S2TG", 2, 15, 14, STRTAB_STE_2_VTCR);
export const STRTAB_STE_2_VTCR_S2PS = genmask("STRTAB_STE_2_VTCR_S2PS", 2, 18, 16, STRTAB_STE_2_VTCR);
export const STRTAB_STE_2_S2AA64 = bit("STRTAB_STE_2_S2AA64", 2, 51);
export const STRTAB_STE_2_S2ENDI = bit("STRTAB_STE_2_S2ENDI", 2, 52);
export const STRTAB_STE_2_S2PTW = bit("STRTAB_STE_2_S2PTW", 2, 54);
export const STRTAB_STE_2_S2S = bit("STRTAB_STE_2_S2S", 2, 57);
export const STRTAB_STE_2_S2R = bit("STRTAB_STE_2_S2R", 2, 58);

/* qword 3 */
export const STRTAB_STE_3_S2TTB_MASK = genmask("STRTAB_STE_3_S2TTB_MASK", 3, 51, 4);

/** STRTAB_STE_0_NESTING_ALLOWED: qword 0 bits userspace controls in a nested vSTE. */
export const STRTAB_STE_0_NESTING_ALLOWED =
  STRTAB_STE_0_V.mask |
  STRTAB_STE_0_CFG.mask |
  STRTAB_STE_0_S1FMT.mask |
  STRTAB_STE_0_S1CTXPTR_MASK.mask |
  STRTAB_STE_0_S1CDMAX.mask;
/** STRTAB_STE_1_NESTING_ALLOWED: qword 1 bits userspace controls in a nested vSTE. */
export const STRTAB_STE_1_NESTING_ALLOWED =
  STRTAB_STE_1_S1DSS.mask |
  STRTAB_STE_1_S1CIR.mask |
  STRTAB_STE_1_S1COR.mask |
  STRTAB_STE_1_S1CSH.mask |
  STRTAB_STE_1_S1STALLD.mask |
  STRTAB_STE_1_EATS.mask;

/* ---------------------------------------------------------------------------
 * Context Descriptor
 */

/* qword 0 */
export const CTXDESC_CD_0_TCR_T0SZ = genmask("CTXDESC_CD_0_TCR_T0SZ", 0, 5, 0);
export const CTXDESC_CD_0_TCR_TG0 = genmask("CTXDESC_CD_0_TCR_TG0", 0, 7, 6);
export const CTXDESC_CD_0_TCR_IRGN0 = genmask("CTXDESC_CD_0_TCR_IRGN0", 0, 9, 8);
export const CTXDESC_CD_0_TCR_ORGN0 = genmask("CTXDESC_CD_0_TCR_ORGN0", 0, 11, 10);
export const CTXDESC_CD_0_TCR_SH0 = genmask("CTXDESC_CD_0_TCR_SH0", 0, 13, 12);
export const CTXDESC_CD_0_TCR_EPD0 = bit("CTXDESC_CD_0_TCR_EPD0", 0, 14);
export const CTXDESC_CD_0_ENDI = bit("CTXDESC_CD_0_ENDI", 0, 15);
export const CTXDESC_CD_0_TCR_EPD1 = bit("CTXDESC_CD_0_TCR_EPD1", 0, 30);
export const CTXDESC_CD_0_V = bit("CTXDESC_CD_0_V", 0, 31);
export const CTXDESC_CD_0_TCR_IPS = genmask("CTXDESC_CD_0_TCR_IPS", 0, 34, 32);
export const CTXDESC_CD_0_TCR_TBI0 = bit("CTXDESC_CD_0_TCR_TBI0", 0, 38);
export const CTXDESC_CD_0_AA64 = bit("CTXDESC_CD_0_AA64", 0, 41);
export const CTXDESC_CD_0_TCR_HD = bit("CTXDESC_CD_0_TCR_HD", 0, 42);
export const CTXDESC_CD_0_TCR_HA = bit("CTXDESC_CD_0_TCR_HA", 0, 43);
export const CTXDESC_CD_0_S = bit("CTXDESC_CD_0_S", 0, 44);
export const CTXDESC_CD_0_R = bit("CTXDESC_CD_0_R", 0, 45);
export const CTXDESC_CD_0_A = bit("CTXDESC_CD_0_A", 0, 46);
export const CTXDESC_CD_0_ASET = bit("CTXDESC_CD_0_ASET", 0, 47);
export const CTXDESC_CD_0_ASID = genmask("CTXDESC_CD_0_ASID", 0, 63, 48);

/* qword 1 */
export const CTXDESC_CD_1_TTB0_MASK = genmask("CTXDESC_CD_1_TTB0_MASK", 1, 51, 4);

/**
 * qword 3: MAIR0 (low 32 bits) and MAIR1 (high 32 bits), i.e. the whole
 * MAIR_EL1-format value. The kernel has no name for it; it writes the io-pgtable
 * (or CPU) MAIR straight into data[3].
 */
export const CTXDESC_CD_3_MAIR = genmask("CTXDESC_CD_3_MAIR", 3, 63, 0);

/* io-pgtable-arm.h encodings that the CD make functions use */
export const ARM_LPAE_TCR_TG0_4K = 0n;
export const ARM_LPAE_TCR_TG0_64K = 1n;
export const ARM_LPAE_TCR_TG0_16K = 2n;
export const ARM_LPAE_TCR_SH_NS = 0n;
export const ARM_LPAE_TCR_SH_OS = 2n;
export const ARM_LPAE_TCR_SH_IS = 3n;
export const ARM_LPAE_TCR_RGN_NC = 0n;
export const ARM_LPAE_TCR_RGN_WBWA = 1n;
export const ARM_LPAE_TCR_RGN_WT = 2n;
export const ARM_LPAE_TCR_RGN_WB = 3n;

/* ---------------------------------------------------------------------------
 * Entries
 */

/** A zeroed entry (memset(target, 0, sizeof(*target))). */
export function newEntry(): Qwords {
  return new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
}

/** A copy of an entry, normalised to NUM_ENTRY_QWORDS qwords. */
export function copyEntry(q: readonly bigint[]): Qwords {
  const out = newEntry();
  for (let i = 0; i < NUM_ENTRY_QWORDS; i++) out[i] = q[i] ?? 0n;
  return out;
}

/** Qword-wise equality of two entries. */
export function entriesEqual(a: readonly bigint[], b: readonly bigint[]): boolean {
  for (let i = 0; i < NUM_ENTRY_QWORDS; i++) if ((a[i] ?? 0n) !== (b[i] ?? 0n)) return false;
  return true;
}

function hex64(v: bigint): string {
  return "0x" + (v & U64_MASK).toString(16).padStart(16, "0");
}

/** The entry as hex qwords, for messages: "[0x0000000000000009 0x... ...]". */
export function formatEntry(q: readonly bigint[]): string {
  const parts: string[] = [];
  for (let i = 0; i < NUM_ENTRY_QWORDS; i++) parts.push(hex64(q[i] ?? 0n));
  return "[" + parts.join(" ") + "]";
}
