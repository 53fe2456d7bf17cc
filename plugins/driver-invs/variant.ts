/**
 * The driver variants: the series as merged in mainline (Linux v7.1, the
 * default) and v9 as posted in the seed thread. Every behavioural difference
 * between the two lives in this one table; the driver code reads flags from
 * it instead of forking.
 */
export interface DriverVariant {
  readonly name: "mainline" | "v9";
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
}

export const MAINLINE: DriverVariant = Object.freeze({
  name: "mainline",
  cmpSsid: true,
  unref: "writeback",
  purgeKeepsHasAts: true,
  purgeAllocFailure: "null",
  skipEntry: "break",
  readLock: "read_lock_irqsave",
  publishBarrier: false,
});

export const V9: DriverVariant = Object.freeze({
  name: "v9",
  cmpSsid: false,
  unref: "free_fn",
  purgeKeepsHasAts: false,
  purgeAllocFailure: "err_ptr",
  skipEntry: "continue",
  readLock: "read_lock",
  publishBarrier: true,
});

export const VARIANTS: Readonly<Record<DriverVariant["name"], DriverVariant>> = Object.freeze({
  mainline: MAINLINE,
  v9: V9,
});
