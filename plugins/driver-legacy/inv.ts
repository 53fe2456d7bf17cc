/**
 * Invalidation before the series, as patch 7 of the seed removes it: a
 * domain's TLB entries are invalidated on its one SMMU, in a batch with its
 * own CMD_SYNC; then, if any master on the domain has ATS on, its devices
 * list is walked under devices_lock for one ATC_INV per StreamID of each
 * ATS-enabled master, in a second batch with its own CMD_SYNC.
 * arm_smmu_tlb_inv_range_domain(), __arm_smmu_tlb_inv_range(),
 * arm_smmu_atc_inv_domain(), arm_smmu_tlb_inv_context() and the SVA
 * notifier's callers of them (arm-smmu-v3-sva.c).
 */
import { CMDQ_OP, type CmdqEnt, ffs, site, type SmmuNode, type Steps, writeLock, writeUnlock } from "../../src/index.js";
import { atcInvToCmd, batchAdd, batchAddRange, batchInit, batchSubmit, CmdqBatch, type DriverContext, IOMMU_NO_PASID, issueCmd, SIZE_MAX, U64, writeReleasedSvaCds } from "../arm-smmu-v3/index.js";
import type { LegacyDomain } from "./domain.js";

/** PAGE_SIZE and PAGE_SHIFT of the kernel (4K pages): the granule of SVA invalidations. */
const PAGE_SIZE = 0x1000;
const PAGE_SHIFT = 12;
/**
 * CMDQ_MAX_TLBI_OPS (arm-smmu-v3-sva.c, cloned from arm64's MAX_TLBI_OPS):
 * beyond this many per-page TLBIs an SVA invalidation without RANGE_INV
 * becomes one TLBI by ASID.
 */
const CMDQ_MAX_TLBI_OPS = 1n << BigInt(PAGE_SHIFT - 3);

const S_MB = site("arm_smmu_atc_inv_domain", "smp_mb()");
const S_NR_ATS = site("arm_smmu_atc_inv_domain", "atomic_read(&smmu_domain->nr_ats_masters)");
const S_LOCK = site("arm_smmu_atc_inv_domain", "spin_lock_irqsave(&smmu_domain->devices_lock)");
const S_MASTER = site("arm_smmu_atc_inv_domain", "read master_domain->master->ats_enabled");

/** smmu_domain->smmu of a domain the driver invalidates: always set in the kernel (finalised at allocation). */
function smmuOf(domain: LegacyDomain): SmmuNode {
  if (!domain.smmu) throw new Error(`driver-legacy: domain ${domain.name} is bound to no SMMU`);
  return domain.smmu;
}

/** TLBI_NH_VA, or TLBI_EL2_VA when the host runs at EL2 (E2H). */
function vaOpcode(smmu: SmmuNode): number {
  return smmu.features.has("e2h") ? CMDQ_OP.TLBI_EL2_VA : CMDQ_OP.TLBI_NH_VA;
}

/**
 * arm_smmu_atc_inv_domain(): the ATCs of the domain's ATS-enabled masters,
 * over [iova, iova + size) (size 0: all), one batch and its CMD_SYNC;
 * nothing when no master on the domain has ATS. 0 or -ETIMEDOUT.
 */
function* atcInvDomain(ctx: DriverContext, domain: LegacyDomain, iova: bigint, size: bigint): Steps<number> {
  const smmu = smmuOf(domain);
  if (!smmu.features.has("ats")) return 0;

  /*
   * Ensure that we've completed prior invalidation of the main TLBs
   * before we read 'nr_ats_masters' in case of a concurrent call to
   * arm_smmu_enable_ats():
   *
   *	// unmap()			// arm_smmu_enable_ats()
   *	TLBI+SYNC			atomic_inc(&nr_ats_masters);
   *	smp_mb();			[...]
   *	atomic_read(&nr_ats_masters);	pci_enable_ats() // writel()
   *
   * Ensures that we always see the incremented 'nr_ats_masters' count if
   * ATS was enabled at the PCI device before completion of the TLBI.
   */
  yield S_MB;
  yield S_NR_ATS;
  if (domain.nrAtsMasters === 0) return 0;

  const cmds = new CmdqBatch();
  batchInit(cmds);
  yield* writeLock(domain.devicesLock, S_LOCK);
  try {
    /* list_for_each_entry(): list_add() put the newest master_domain first */
    for (let i = domain.devices.length - 1; i >= 0; i--) {
      const md = domain.devices[i]!;
      yield S_MASTER;
      if (!md.master.atsEnabled) continue;
      /* If a S2 used as a nesting parent is changed we have no option but to completely flush the ATC */
      const ent = md.nestedAtsFlush ? atcInvToCmd(IOMMU_NO_PASID, 0n, 0n) : atcInvToCmd(md.ssid, iova, size);
      for (const sid of md.master.streams) {
        ent.atc!.sid = sid;
        yield* batchAdd(ctx, smmu, cmds, ent);
      }
    }
  } finally {
    writeUnlock(domain.devicesLock);
  }
  /* A master counted but not yet enabled (attach in progress) leaves the batch empty: a lone CMD_SYNC */
  return yield* batchSubmit(ctx, smmu, cmds);
}

/**
 * __arm_smmu_tlb_inv_range(): `ent` over [iova, iova + size) on the
 * domain's SMMU, in one batch (range commands with RANGE_INV, one per
 * granule without), then CMD_SYNC. Nothing for size 0.
 */
function* tlbInvRange(ctx: DriverContext, ent: CmdqEnt, iova: bigint, size: bigint, granule: number, domain: LegacyDomain): Steps {
  if (size === 0n) return;
  const smmu = smmuOf(domain);
  const cmds = new CmdqBatch();
  batchInit(cmds);
  /* Get the leaf page size (read only with RANGE_INV) */
  yield* batchAddRange(ctx, smmu, cmds, ent, iova, size, granule, ffs(domain.pgsizeBitmap));
  yield* batchSubmit(ctx, smmu, cmds);
}

/**
 * arm_smmu_tlb_inv_range_domain(): iotlb_sync and the walk flush. No
 * "too big" rule here: every granule of the range gets its command (or
 * range commands with RANGE_INV), however large the range.
 */
export function* tlbInvRangeDomain(ctx: DriverContext, iova: bigint, size: bigint, granule: number, leaf: boolean, domain: LegacyDomain): Steps {
  const smmu = smmuOf(domain);
  const ent: CmdqEnt =
    domain.stage === "S2"
      ? { opcode: CMDQ_OP.TLBI_S2_IPA, tlbi: { vmid: domain.vmid, leaf } }
      : { opcode: vaOpcode(smmu), tlbi: { asid: domain.asid, leaf } };
  yield* tlbInvRange(ctx, ent, iova, size, granule, domain);

  if (domain.nestParent) {
    /* When the S2 domain changes all the nested S1 ASIDs have to be flushed too */
    ent.opcode = CMDQ_OP.TLBI_NH_ALL;
    yield* issueCmd(ctx, smmu, ent, true);
  }

  /* Unfortunately, this can't be leaf-only since we may have zapped an entire table */
  yield* atcInvDomain(ctx, domain, iova, size);
}

/** arm_smmu_tlb_inv_asid(): TLBI_NH_ASID (TLBI_EL2_ASID with E2H) and CMD_SYNC. */
export function* tlbInvAsid(ctx: DriverContext, smmu: SmmuNode, asid: number): Steps {
  const opcode = smmu.features.has("e2h") ? CMDQ_OP.TLBI_EL2_ASID : CMDQ_OP.TLBI_NH_ASID;
  yield* issueCmd(ctx, smmu, { opcode, tlbi: { asid } }, true);
}

/**
 * arm_smmu_tlb_inv_context(): flush_iotlb_all and io-pgtable's
 * tlb_flush_all. The whole ASID (S1) or VMID (S2, which also covers a nest
 * parent's nested S1 entries), with its CMD_SYNC, then the whole ATCs.
 */
export function* tlbInvContext(ctx: DriverContext, domain: LegacyDomain): Steps {
  const smmu = smmuOf(domain);
  /*
   * NOTE: when io-pgtable is in non-strict mode, we may get here with PTEs
   * previously cleared by unmaps on the current CPU not yet visible to the
   * SMMU. We are relying on the dma_wmb() implicit during cmd insertion to
   * guarantee those are observed before the TLBI.
   */
  if (domain.stage === "S2") yield* issueCmd(ctx, smmu, { opcode: CMDQ_OP.TLBI_S12_VMALL, tlbi: { vmid: domain.vmid } }, true);
  else yield* tlbInvAsid(ctx, smmu, domain.asid);
  yield* atcInvDomain(ctx, domain, 0n, 0n);
}

/**
 * arm_smmu_mm_arch_invalidate_secondary_tlbs() for one SVA domain of the
 * mm: [start, end) by ASID, non-leaf (the CPU may have freed page tables),
 * or the whole ASID when the range is the whole mm or, without RANGE_INV,
 * CMDQ_MAX_TLBI_OPS pages or more; then the ATCs over the same range.
 */
export function* mmArchInvalidateSecondaryTlbs(ctx: DriverContext, domain: LegacyDomain, start: bigint, end: bigint): Steps {
  const smmu = smmuOf(domain);
  /* vm_end is the first byte after the range, where the IOMMU API takes the last */
  let size = (end - start) & U64;
  if (!smmu.features.has("range_inv")) {
    if (size >= CMDQ_MAX_TLBI_OPS * BigInt(PAGE_SIZE)) size = 0n;
  } else if (size === SIZE_MAX) {
    size = 0n;
  }

  if (size === 0n) yield* tlbInvAsid(ctx, smmu, domain.asid);
  /* arm_smmu_tlb_inv_range_asid() */
  else yield* tlbInvRange(ctx, { opcode: vaOpcode(smmu), tlbi: { asid: domain.asid, leaf: false } }, start, size, PAGE_SIZE, domain);

  yield* atcInvDomain(ctx, domain, start, size);
}

/**
 * arm_smmu_mm_release() for one SVA domain of the mm: DMA may still be
 * running, so under devices_lock every CD using it stays valid but stops
 * translating; then the whole ASID and the whole ATCs.
 */
export function* mmRelease(ctx: DriverContext, domain: LegacyDomain): Steps {
  yield* writeReleasedSvaCds(ctx, domain, () => domain.asid);
  yield* tlbInvAsid(ctx, smmuOf(domain), domain.asid);
  yield* atcInvDomain(ctx, domain, 0n, 0n);
}
