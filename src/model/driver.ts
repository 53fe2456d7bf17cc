/**
 * The IOMMU driver as the iommu core and the scenario engine call it: the
 * driver-invs and driver-legacy plugins (and a user's driver plugin) provide
 * this. Every entry point that touches shared state is a stepped path.
 */
import type { Cmd } from "./commands.js";
import type { Steps } from "../model/step.js";
import type { PageTable } from "./page-table.js";
import type { DomainSpec } from "./topology.js";

/** struct iommu_iotlb_gather: the range unmapped so far and its page size. */
export interface Gather {
  start: number;
  /** inclusive */
  end: number;
  pgsize: number;
}

/** A paging or SVA domain as the core sees it: a page table the driver invalidates for. */
export interface DriverDomain {
  readonly name: string;
  readonly spec: DomainSpec;
  readonly pgtable: PageTable;
  /** The page table's physical address (TTB0 / S2TTB). */
  readonly pgtablePa: bigint;
}

/**
 * enum arm_smmu_inv_type, in its order (the order of commands: TLBIs before
 * ATC_INVs): what an invalidation list's entries and `expect invs` name.
 * S2_VMID_VSMMU is the domain-sharing series' (v4 patch 06); mainline has
 * none, and its other types keep their order, so one numbering serves
 * every variant.
 */
export const INV_TYPE_NAMES = ["S1_ASID", "S2_VMID", "S2_VMID_VSMMU", "S2_VMID_S1_CLEAR", "ATS", "ATS_FULL"] as const;
export type InvTypeName = (typeof INV_TYPE_NAMES)[number];

export function isInvTypeName(name: string): name is InvTypeName {
  return (INV_TYPE_NAMES as readonly string[]).includes(name);
}

/** One entry of a domain's invalidation list, in the kernel's terms. */
interface InvEntry {
  smmu: string;
  type: InvTypeName;
  id: number;
  ssid: number;
  users: number;
}

/** A domain's invalidation state, for `expect invs`. */
export interface InvsSnapshot {
  entries: InvEntry[];
  /** Trash entries still within num_invs. */
  trashes: number;
  hasAts: boolean;
  /** Set when the published pointer is not an array (an ERR_PTR a buggy writer published). */
  error?: string;
}

/**
 * The invalidation-array algebra on its own (merge, unref, purge), for
 * scenarios that drive it directly as the kunit test does. Arrays are opaque
 * handles; errors come back as -errno.
 */
export interface InvsAlgebra {
  from(entries: readonly { smmu?: string; type: string; id: number; ssid: number; users: number }[]): object;
  alloc(n: number): object;
  merge(a: object, b: object): object | number;
  unref(a: object, b: object): void;
  /** null when there is nothing to purge */
  purge(a: object): object | number | null;
  snapshot(a: object): InvsSnapshot;
}

/** "blocked" and "identity" are the static domains. */
type AttachTarget = string;

export interface IommuDriver {
  /**
   * The plugin whose model this is ("driver-invs"): the one that built the
   * object, so a plugin extending another and returning `base` leaves the
   * base's name here. Results name the plugin the scenario chose
   * (Simulator.chosenDriver).
   */
  readonly plugin: string;
  /** The variant it runs ("mainline"). */
  readonly variant: string;
  domain(name: string): DriverDomain;
  /**
   * What is attached to `device`'s RID (its group->domain), or at `pasid`
   * (its group->pasid_array entry): a domain's name, "blocked" or
   * "identity"; null for nothing. The core keeps this view in the kernel and
   * the driver reads it back (iommu_get_domain_for_dev()); here the driver
   * keeps it and the core reads it, for its rules before calling the driver
   * (a domain already attached is not attached again; a PASID in use is
   * -EBUSY).
   */
  attached(device: string, pasid?: number): string | null;
  /** dev->iommu->max_pasids: how many PASIDs `device` has through this driver (0: none); the core refuses the others. */
  maxPasids(device: string): number;
  /** ->attach_dev(): 0 or -errno. The core calls it only for a domain not attached already. */
  attachDev(device: string, target: AttachTarget): Steps<number>;
  /**
   * ->set_dev_pasid(): attach a domain at a PASID; 0 or -errno. The core
   * calls it only for a PASID the device has and nothing is attached at,
   * for an SVA domain from its iommu_sva_bind_device() (under iommu_sva_lock).
   */
  setDevPasid(device: string, domain: string, pasid: number): Steps<number>;
  /** The blocked domain's ->set_dev_pasid(): detach whatever is at `pasid` (for a bind's PASID inside the core's unbind, under iommu_sva_lock). */
  removeDevPasid(device: string, pasid: number): Steps;
  /**
   * ->domain_alloc_sva(): a new SVA domain of the process `mm` (an SVA
   * domain's name in the topology) for `device`: the new domain's name, or
   * -errno. The iommu core calls it, under iommu_sva_lock, when none of the
   * mm's SVA domains takes the device, then attaches it with setDevPasid().
   */
  domainAllocSva(device: string, mm: string): string | number;
  /** iommu_domain_free() of a domain domainAllocSva() made: its last user unbound, or its first attach failed (under iommu_sva_lock). */
  domainFree(domain: string): Steps;
  /** ->iotlb_sync() after an unmap gathered `gather`. */
  iotlbSync(domain: string, gather: Gather): Steps;
  /**
   * io-pgtable's ->tlb_flush_walk(): a table entry covering [iova, iova +
   * size) was cleared and the table is freed once this returns, so the
   * range is invalidated, walk caches included (not leaf-only), and synced.
   * `granule` is the table's page size.
   */
  tlbFlushWalk(domain: string, iova: number, size: number, granule: number): Steps;
  /** ->flush_iotlb_all() */
  flushIotlbAll(domain: string): Steps;
  /** SVA: the mmu notifier's arch_invalidate_secondary_tlbs() for [start, end). */
  mmInvalidate(domain: string, start: bigint, end: bigint): Steps;
  /** SVA: the process exits (exit_mm()): its mm's mmu notifiers' release() runs at the mm's last mmput(); afterwards none is called. */
  mmRelease(domain: string): Steps;
  /** Nested: the guest changed [iova, iova + size) of its stage 1; its vSMMU commands reach the host. */
  guestInvalidate(domain: string, iova: number, size: number): Steps;
  /**
   * IOMMU_HWPT_INVALIDATE on a vSMMU (viommu->ops->cache_invalidate()): the
   * guest's commands as it queued them; 0 or -errno, and entry_num, how many
   * the driver reports handled.
   */
  vsmmuInvalidate(vsmmu: string, cmds: readonly Cmd[]): Steps<{ ret: number; entryNum: number }>;
  /** The domain's invalidation list, or null if this driver keeps none (a process: its own, the core adds its SVA domains'). */
  invs(domain: string): InvsSnapshot | null;
  /**
   * Optional: how many entries invs() would list for `domain` (num_invs),
   * null where it gives no array or an error; without it, the metrics count
   * invs() at every invalidation.
   */
  invsEntries?(domain: string): number | null;
  /** IOTLB tags ("smmu0 asid 1", "smmu0 vmid 2") invalidations still cover: anything else must be clear. */
  liveTags(): ReadonlySet<string>;
  /**
   * Optional: pass to `visit` each tag that has left liveTags() since the
   * last call (called after liveTags()), so that the oracle re-reads only the
   * TLBs such a tag can be in; without it, it re-reads every TLB that held a
   * tag after every operation.
   */
  uncoveredTags?(visit: (tag: string) => void): void;
  /** Allocation sites a scenario can make fail. */
  readonly allocSites: readonly string[];
  /** Make the next `count` allocations at `site` fail. */
  failAllocs(site: string, count: number): void;
  /** The array algebra of this driver and variant, if it has one. */
  readonly invsAlgebra?: InvsAlgebra;
}

/**
 * What this driver cannot do that another can: a scenario making an
 * invalidation array's allocation fail under a driver that keeps no array.
 * The scenario fails at that statement; it is not bad input.
 */
export class DriverUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DriverUnsupportedError";
  }
}
