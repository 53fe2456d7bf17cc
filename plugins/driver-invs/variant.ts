/**
 * The driver variants: the series as merged in mainline (Linux v7.1, the
 * default), v9 as posted in the seed thread, and mainline with the follow-up
 * series "iommu/arm-smmu-v3: Share domain across SMMU/vSMMU instances" as
 * posted in v4 (March 2026, not merged). Every behavioural difference
 * between them lives in this one table; the driver code reads flags from it
 * instead of forking.
 *
 * Where the review of v4 asked for a change, `share` models v4 as posted,
 * and the flag's comment says what the review asked.
 */
import type { Mutation } from "../arm-smmu-v3/index.js";

export interface DriverVariant {
  readonly name: "mainline" | "v9" | "share";
  /** arm_smmu_inv_cmp() also compares ssid for ATS and ATS_FULL entries (mainline). */
  readonly cmpSsid: boolean;
  /**
   * arm_smmu_invs_unref(): v9 calls a free_fn for each entry reaching 0 users;
   * mainline writes 1 or 0 back into the matching to_unref entry instead.
   */
  readonly unref: "free_fn" | "writeback";
  /** arm_smmu_invs_purge() recomputes has_ats from the kept entries (mainline; v9 leaves it false). */
  readonly purgeKeepsHasAts: boolean;
  /** arm_smmu_invs_purge() on allocation failure: v9 returns ERR_PTR(-ENOMEM), mainline NULL. */
  readonly purgeAllocFailure: "err_ptr" | "null";
  /**
   * __arm_smmu_domain_inv_range() for an S2_VMID_S1_CLEAR entry covered by a
   * too-big flush (and for an unknown type): v9 `continue`s without advancing
   * `cur`, mainline `break`s out of the switch and moves on.
   */
  readonly skipEntry: "continue" | "break";
  /** Reader lock on the ATS path. */
  readonly readLock: "read_lock" | "read_lock_irqsave";
  /** v9 issues smp_mb() after publishing an array; mainline relies on dma_wmb() in arm_smmu_write_entry(). */
  readonly publishBarrier: boolean;
  /**
   * The test arm_smmu_attach_dev() and arm_vsmmu_init() make of a domain
   * against the master's (or vSMMU's) SMMU. "smmu": `smmu_domain->smmu !=
   * smmu` is -EINVAL, one SMMU per domain and per nest parent (mainline, and
   * v9, which leaves these checks alone: sharing is the follow-up series).
   * "can_share": !arm_smmu_domain_can_share() is -EINVAL (v4 patch 10), so a
   * domain spans compatible SMMUs. v4 replaces only these two: PASID
   * attaches (arm_smmu_set_pasid(), so SVA too) and arm_smmu_attach_dev_nested()
   * keep their one-SMMU tests; the review asked that set_pasid use the new
   * helper, and that the page-size test only require the domain's smallest
   * page size.
   */
  readonly attachTest: "smmu" | "can_share";
  /**
   * Where the IOTLB tag (ASID or VMID) lives. "domain": in the domain
   * (cd.asid, s2_cfg.vmid), allocated with it; the tag entry losing its last
   * user is flushed (arm_smmu_inv_flush_iotlb_tag()) and the id stays the
   * domain's. "invs": one tag per SMMU per domain, held as the domain's
   * S1_ASID / S2_VMID / S2_VMID_VSMMU entry of that SMMU in the array:
   * an attach reuses a live entry's id (arm_smmu_find_iotlb_tag()) or
   * allocates one (arm_smmu_alloc_iotlb_tag(): ASIDs from the global space,
   * VMIDs from the SMMU's), and the last user's detach flushes it and frees
   * the id (arm_smmu_iotlb_tag_free()); v4 patches 03, 04, 05, 07, 09.
   */
  readonly iotlbTag: "domain" | "invs";
  /**
   * vsmmu->vmid. "s2_parent": the nest parent's s2_cfg.vmid, its entries
   * S2_VMID and, for a nest parent, S2_VMID_S1_CLEAR. "own": allocated by
   * arm_vsmmu_init() from the vSMMU's SMMU and freed by the vSMMU (v4 patch
   * 08); a master attached through it builds INV_TYPE_S2_VMID_VSMMU, and
   * S2_VMID_S1_CLEAR only for that tag type (patch 06), while ATS_FULL still
   * follows nest_parent: the review asked that ATS_FULL follow the tag type
   * too and that the vSMMU's VMID be taken directly instead of searched for
   * in the array.
   */
  readonly vsmmuVmid: "s2_parent" | "own";
  /** Deliberate breakages, for the explorer's tests only (plugins/arm-smmu-v3/context.ts); none in a real variant. */
  readonly mutations: ReadonlySet<Mutation>;
}

const NONE: ReadonlySet<Mutation> = new Set();

export const MAINLINE: DriverVariant = Object.freeze({
  name: "mainline",
  mutations: NONE,
  cmpSsid: true,
  unref: "writeback",
  purgeKeepsHasAts: true,
  purgeAllocFailure: "null",
  skipEntry: "break",
  readLock: "read_lock_irqsave",
  publishBarrier: false,
  attachTest: "smmu",
  iotlbTag: "domain",
  vsmmuVmid: "s2_parent",
});

export const V9: DriverVariant = Object.freeze({
  name: "v9",
  mutations: NONE,
  cmpSsid: false,
  unref: "free_fn",
  purgeKeepsHasAts: false,
  purgeAllocFailure: "err_ptr",
  skipEntry: "continue",
  readLock: "read_lock",
  publishBarrier: true,
  attachTest: "smmu",
  iotlbTag: "domain",
  vsmmuVmid: "s2_parent",
});

/** Mainline with the follow-up series v4 on top. */
export const SHARE: DriverVariant = Object.freeze({
  ...MAINLINE,
  name: "share",
  attachTest: "can_share",
  iotlbTag: "invs",
  vsmmuVmid: "own",
});

/** Every variant by its name; the first is the default. */
export const VARIANTS: ReadonlyMap<string, DriverVariant> = new Map([MAINLINE, V9, SHARE].map((v) => [v.name, v]));
export const VARIANT_NAMES = [...VARIANTS.keys()];
