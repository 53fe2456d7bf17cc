/**
 * The driver's STE and CD make functions (arm-smmu-v3.c, arm-smmu-v3-sva.c,
 * arm-smmu-v3-iommufd.c; mainline). Each builds a complete target entry from
 * scratch; arm_smmu_write_entry() (entry-writer.ts) then installs it.
 *
 * Instead of kernel structs they take small parameter objects: the SMMU
 * features that matter, the master's stall/ATS state, and the domain's
 * page-table configuration. Entries are built for a little-endian kernel, so
 * CTXDESC_CD_0_ENDI and STRTAB_STE_2_S2ENDI are never set.
 */
import { ARM_LPAE_TCR_RGN_WBWA, ARM_LPAE_TCR_SH_IS, ARM_LPAE_TCR_TG0_4K, ARM_SMMU_SH_ISH, CTXDESC_CD_0_A, CTXDESC_CD_0_AA64, CTXDESC_CD_0_ASET, CTXDESC_CD_0_ASID, CTXDESC_CD_0_R, CTXDESC_CD_0_S, CTXDESC_CD_0_TCR_EPD0, CTXDESC_CD_0_TCR_EPD1, CTXDESC_CD_0_TCR_HA, CTXDESC_CD_0_TCR_HD, CTXDESC_CD_0_TCR_IPS, CTXDESC_CD_0_TCR_IRGN0, CTXDESC_CD_0_TCR_ORGN0, CTXDESC_CD_0_TCR_SH0, CTXDESC_CD_0_TCR_T0SZ, CTXDESC_CD_0_TCR_TG0, CTXDESC_CD_0_V, CTXDESC_CD_1_TTB0_MASK, fieldGet, fieldPrep, newEntry, type Qwords, STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_ABORT, STRTAB_STE_0_CFG_BYPASS, STRTAB_STE_0_CFG_NESTED, STRTAB_STE_0_CFG_S1_TRANS, STRTAB_STE_0_CFG_S2_TRANS, STRTAB_STE_0_S1CDMAX, STRTAB_STE_0_S1CTXPTR_MASK, STRTAB_STE_0_S1FMT, STRTAB_STE_0_V, STRTAB_STE_1_EATS, STRTAB_STE_1_EATS_TRANS, STRTAB_STE_1_MEV, STRTAB_STE_1_S1C_CACHE_WBRA, STRTAB_STE_1_S1CIR, STRTAB_STE_1_S1COR, STRTAB_STE_1_S1CSH, STRTAB_STE_1_S1DSS, STRTAB_STE_1_S1DSS_BYPASS, STRTAB_STE_1_S1STALLD, STRTAB_STE_1_S2FWB, STRTAB_STE_1_SHCFG, STRTAB_STE_1_SHCFG_INCOMING, STRTAB_STE_1_STRW, STRTAB_STE_1_STRW_EL2, STRTAB_STE_1_STRW_NSEL1, STRTAB_STE_2_S2AA64, STRTAB_STE_2_S2PTW, STRTAB_STE_2_S2R, STRTAB_STE_2_S2S, STRTAB_STE_2_S2VMID, STRTAB_STE_2_VTCR, STRTAB_STE_2_VTCR_S2IR0, STRTAB_STE_2_VTCR_S2OR0, STRTAB_STE_2_VTCR_S2PS, STRTAB_STE_2_VTCR_S2SH0, STRTAB_STE_2_VTCR_S2SL0, STRTAB_STE_2_VTCR_S2T0SZ, STRTAB_STE_2_VTCR_S2TG, STRTAB_STE_3_S2TTB_MASK, U64_MASK } from "../../src/index.js";

/** The smmu->features bits the make functions read. */
export interface SteSmmuFeatures {
  /** ARM_SMMU_FEAT_E2H: STRW EL2 for CD-table STEs. */
  e2h: boolean;
  /** ARM_SMMU_FEAT_ATTR_TYPES_OVR: SHCFG "use incoming" where it applies. */
  attrTypesOvr: boolean;
  /** ARM_SMMU_FEAT_STALLS: S1STALLD when the master does not use stalls. */
  stalls: boolean;
}

/** master->cd_table as the CD-table STE uses it. */
export interface CdTableParams {
  /** cd_table->cdtab_dma: the CD table's (L1 or linear) DMA address. */
  cdtabDma: bigint;
  /** cd_table->s1fmt: STRTAB_STE_0_S1FMT_LINEAR or STRTAB_STE_0_S1FMT_64K_L2. */
  s1fmt: bigint;
  /** cd_table->s1cdmax: log2 of the number of CDs (FIELD_PREP keeps 5 bits). */
  s1cdmax: number;
  /** master->stall_enabled */
  stallEnabled: boolean;
}

/** io_pgtable_cfg.arm_lpae_s2_cfg.vtcr, field by field (the kernel's bitfields). */
export interface S2Vtcr {
  tsz: number;
  sl: number;
  irgn: number;
  orgn: number;
  sh: number;
  tg: number;
  ps: number;
}

/** An S2 domain: s2_cfg.vmid and its io-pgtable configuration. */
export interface S2DomainParams {
  vmid: number;
  /** arm_lpae_s2_cfg.vttbr */
  vttbr: bigint;
  vtcr: S2Vtcr;
  /** pgtbl_cfg->quirks & IO_PGTABLE_QUIRK_ARM_S2FWB */
  s2fwb: boolean;
}

/** io_pgtable_cfg.arm_lpae_s1_cfg.tcr, field by field. */
export interface S1Tcr {
  tsz: number;
  tg: number;
  irgn: number;
  orgn: number;
  sh: number;
  ips: number;
}

/** An S1 paging domain: cd.asid and its io-pgtable configuration. */
export interface S1CdParams {
  asid: number;
  /** arm_lpae_s1_cfg.ttbr */
  ttbr: bigint;
  tcr: S1Tcr;
  /** arm_lpae_s1_cfg.mair */
  mair: bigint;
  /** pgtbl_cfg->quirks & IO_PGTABLE_QUIRK_ARM_HD: set HA and HD (default false). */
  hd?: boolean;
}

/** An SVA binding: the mm's page table, or null for the mm-released entry. */
export interface SvaCdParams {
  asid: number;
  /** virt_to_phys(mm->pgd); null: no mm, the entry faults everything (EPD0). */
  ttb0: bigint | null;
  /** master->stall_enabled (default false). */
  stallEnabled?: boolean;
  /** smmu->features & ARM_SMMU_FEAT_STALL_FORCE: the released CD keeps S and R (default false). */
  stallForce?: boolean;
  /** ID_AA64MMFR0_EL1.PARANGE of the CPUs (default 5: 48 bits). */
  ips?: number;
  /** vabits_actual (default 48). */
  vaBits?: number;
  /** TG0 encoding of PAGE_SIZE (default ARM_LPAE_TCR_TG0_4K). */
  tg0?: bigint;
  /** mair_el1 of the CPU (default 0). */
  mair?: bigint;
}

/** struct arm_smmu_nested_domain as its STE uses it: the vSMMU's S2 parent and the guest's vSTE. */
export interface NestedDomainParams {
  /** nested_domain->vsmmu->s2_parent */
  s2Parent: S2DomainParams;
  /**
   * nested_domain->ste: the vSTE's qwords 0 and 1 as
   * arm_vsmmu_alloc_domain_nested() keeps them after arm_smmu_validate_vste()
   * (only the NESTING_ALLOWED bits, EATS cleared, all zero for a non-valid vSTE).
   */
  ste: readonly [bigint, bigint];
}

// arm_smmu_make_abort_ste()
export function makeAbortSte(): Qwords {
  const t = newEntry();
  t[0] = STRTAB_STE_0_V.mask | fieldPrep(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_ABORT);
  return t;
}

// arm_smmu_make_bypass_ste()
export function makeBypassSte(features: SteSmmuFeatures): Qwords {
  const t = newEntry();
  t[0] = STRTAB_STE_0_V.mask | fieldPrep(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_BYPASS);
  if (features.attrTypesOvr) t[1] = fieldPrep(STRTAB_STE_1_SHCFG, STRTAB_STE_1_SHCFG_INCOMING);
  return t;
}

// arm_smmu_make_cdtable_ste()
export function makeCdtableSte(
  cdTable: CdTableParams,
  features: SteSmmuFeatures,
  atsEnabled: boolean,
  s1dss: bigint,
): Qwords {
  const t = newEntry();
  t[0] =
    STRTAB_STE_0_V.mask |
    fieldPrep(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_S1_TRANS) |
    fieldPrep(STRTAB_STE_0_S1FMT, cdTable.s1fmt) |
    (cdTable.cdtabDma & STRTAB_STE_0_S1CTXPTR_MASK.mask) |
    fieldPrep(STRTAB_STE_0_S1CDMAX, cdTable.s1cdmax);

  t[1] =
    fieldPrep(STRTAB_STE_1_S1DSS, s1dss) |
    fieldPrep(STRTAB_STE_1_S1CIR, STRTAB_STE_1_S1C_CACHE_WBRA) |
    fieldPrep(STRTAB_STE_1_S1COR, STRTAB_STE_1_S1C_CACHE_WBRA) |
    fieldPrep(STRTAB_STE_1_S1CSH, ARM_SMMU_SH_ISH) |
    (features.stalls && !cdTable.stallEnabled ? STRTAB_STE_1_S1STALLD.mask : 0n) |
    fieldPrep(STRTAB_STE_1_EATS, atsEnabled ? STRTAB_STE_1_EATS_TRANS : 0n);

  if (features.attrTypesOvr && s1dss === STRTAB_STE_1_S1DSS_BYPASS) {
    t[1] |= fieldPrep(STRTAB_STE_1_SHCFG, STRTAB_STE_1_SHCFG_INCOMING);
  }

  if (features.e2h) {
    /* BTM needs the StreamWorld to match the CPU's: EL2-E2H for the host */
    t[1] |= fieldPrep(STRTAB_STE_1_STRW, STRTAB_STE_1_STRW_EL2);
  } else {
    t[1] |= fieldPrep(STRTAB_STE_1_STRW, STRTAB_STE_1_STRW_NSEL1);
    /* VMID 0 is reserved for stage-2 bypass EL1 STEs */
    t[2] = fieldPrep(STRTAB_STE_2_S2VMID, 0);
  }
  return t;
}

// arm_smmu_make_s2_domain_ste()
export function makeS2DomainSte(
  domain: S2DomainParams,
  features: SteSmmuFeatures,
  stallEnabled: boolean,
  atsEnabled: boolean,
): Qwords {
  const t = newEntry();
  const v = domain.vtcr;
  t[0] = STRTAB_STE_0_V.mask | fieldPrep(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_S2_TRANS);

  t[1] = fieldPrep(STRTAB_STE_1_EATS, atsEnabled ? STRTAB_STE_1_EATS_TRANS : 0n);
  if (domain.s2fwb) t[1] |= STRTAB_STE_1_S2FWB.mask;
  if (features.attrTypesOvr) t[1] |= fieldPrep(STRTAB_STE_1_SHCFG, STRTAB_STE_1_SHCFG_INCOMING);

  const vtcr =
    fieldPrep(STRTAB_STE_2_VTCR_S2T0SZ, v.tsz) |
    fieldPrep(STRTAB_STE_2_VTCR_S2SL0, v.sl) |
    fieldPrep(STRTAB_STE_2_VTCR_S2IR0, v.irgn) |
    fieldPrep(STRTAB_STE_2_VTCR_S2OR0, v.orgn) |
    fieldPrep(STRTAB_STE_2_VTCR_S2SH0, v.sh) |
    fieldPrep(STRTAB_STE_2_VTCR_S2TG, v.tg) |
    fieldPrep(STRTAB_STE_2_VTCR_S2PS, v.ps);
  t[2] =
    fieldPrep(STRTAB_STE_2_S2VMID, domain.vmid) |
    fieldPrep(STRTAB_STE_2_VTCR, vtcr) |
    STRTAB_STE_2_S2AA64.mask |
    STRTAB_STE_2_S2PTW.mask |
    (stallEnabled ? STRTAB_STE_2_S2S.mask : 0n) |
    STRTAB_STE_2_S2R.mask;

  t[3] = domain.vttbr & STRTAB_STE_3_S2TTB_MASK.mask;
  return t;
}

// arm_smmu_make_nested_cd_table_ste()
export function makeNestedCdTableSte(nested: NestedDomainParams, features: SteSmmuFeatures, stallEnabled: boolean, atsEnabled: boolean): Qwords {
  const t = makeS2DomainSte(nested.s2Parent, features, stallEnabled, atsEnabled);
  t[0] = STRTAB_STE_0_V.mask | fieldPrep(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_NESTED);
  t[0] |= nested.ste[0] & ~STRTAB_STE_0_CFG.mask & U64_MASK;
  t[1] = t[1]! | nested.ste[1];
  /* Merge events for DoS mitigation on the event queue */
  t[1] |= STRTAB_STE_1_MEV.mask;
  return t;
}

// arm_smmu_make_nested_domain_ste()
export function makeNestedDomainSte(nested: NestedDomainParams, features: SteSmmuFeatures, stallEnabled: boolean, atsEnabled: boolean): Qwords {
  let cfg = fieldGet(nested.ste[0], STRTAB_STE_0_CFG);

  /* A non-valid vSTE becomes an abort STE (C_BAD_STE can then go to the guest) */
  if ((nested.ste[0] & STRTAB_STE_0_V.mask) === 0n) cfg = STRTAB_STE_0_CFG_ABORT;

  switch (cfg) {
    case STRTAB_STE_0_CFG_S1_TRANS:
      return makeNestedCdTableSte(nested, features, stallEnabled, atsEnabled);
    case STRTAB_STE_0_CFG_BYPASS:
      return makeS2DomainSte(nested.s2Parent, features, stallEnabled, atsEnabled);
    default:
      return makeAbortSte();
  }
}

// arm_smmu_make_s1_cd()
export function makeS1Cd(domain: S1CdParams, stallEnabled: boolean): Qwords {
  const t = newEntry();
  const tcr = domain.tcr;
  t[0] =
    fieldPrep(CTXDESC_CD_0_TCR_T0SZ, tcr.tsz) |
    fieldPrep(CTXDESC_CD_0_TCR_TG0, tcr.tg) |
    fieldPrep(CTXDESC_CD_0_TCR_IRGN0, tcr.irgn) |
    fieldPrep(CTXDESC_CD_0_TCR_ORGN0, tcr.orgn) |
    fieldPrep(CTXDESC_CD_0_TCR_SH0, tcr.sh) |
    CTXDESC_CD_0_TCR_EPD1.mask |
    CTXDESC_CD_0_V.mask |
    fieldPrep(CTXDESC_CD_0_TCR_IPS, tcr.ips) |
    CTXDESC_CD_0_AA64.mask |
    (stallEnabled ? CTXDESC_CD_0_S.mask : 0n) |
    CTXDESC_CD_0_R.mask |
    CTXDESC_CD_0_A.mask |
    CTXDESC_CD_0_ASET.mask |
    fieldPrep(CTXDESC_CD_0_ASID, domain.asid);

  /* Dirty tracking needs both the access flag and dirty state updates */
  if (domain.hd) t[0] |= CTXDESC_CD_0_TCR_HA.mask | CTXDESC_CD_0_TCR_HD.mask;

  t[1] = domain.ttbr & CTXDESC_CD_1_TTB0_MASK.mask;
  t[3] = domain.mair & U64_MASK;
  return t;
}

// arm_smmu_make_sva_cd()
export function makeSvaCd(p: SvaCdParams): Qwords {
  const t = newEntry();
  t[0] =
    CTXDESC_CD_0_TCR_EPD1.mask |
    CTXDESC_CD_0_V.mask |
    fieldPrep(CTXDESC_CD_0_TCR_IPS, p.ips ?? 5) |
    CTXDESC_CD_0_AA64.mask |
    (p.stallEnabled ? CTXDESC_CD_0_S.mask : 0n) |
    CTXDESC_CD_0_R.mask |
    CTXDESC_CD_0_A.mask |
    CTXDESC_CD_0_ASET.mask |
    fieldPrep(CTXDESC_CD_0_ASID, p.asid);

  if (p.ttb0 !== null) {
    t[0] |=
      fieldPrep(CTXDESC_CD_0_TCR_T0SZ, 64 - (p.vaBits ?? 48)) |
      fieldPrep(CTXDESC_CD_0_TCR_TG0, p.tg0 ?? ARM_LPAE_TCR_TG0_4K) |
      fieldPrep(CTXDESC_CD_0_TCR_IRGN0, ARM_LPAE_TCR_RGN_WBWA) |
      fieldPrep(CTXDESC_CD_0_TCR_ORGN0, ARM_LPAE_TCR_RGN_WBWA) |
      fieldPrep(CTXDESC_CD_0_TCR_SH0, ARM_LPAE_TCR_SH_IS);
    t[1] = p.ttb0 & CTXDESC_CD_1_TTB0_MASK.mask;
  } else {
    /* No mm: a valid CD that faults everything; TTB0 is ignored under EPD0 */
    t[0] |= CTXDESC_CD_0_TCR_EPD0.mask;
    /* Without STALL_FORCE, abort at once instead of stalling (faster unclean exit) */
    if (!p.stallForce) t[0] &= ~(CTXDESC_CD_0_S.mask | CTXDESC_CD_0_R.mask) & U64_MASK;
  }

  t[3] = (p.mair ?? 0n) & U64_MASK;
  return t;
}
