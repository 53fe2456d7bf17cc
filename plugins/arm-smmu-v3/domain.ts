/**
 * struct arm_smmu_domain and the domains around it, as both drivers have
 * them: paging (S1, S2, nest-parent S2), SVA, nested (a guest's stage 1
 * through a vSMMU), and the static blocked and identity domains; with ASID
 * and VMID allocation. Each driver extends SmmuDomain with its own: the
 * invalidation array (driver-invs), its IOTLB tag (driver-legacy).
 *
 * A domain is declared in a .smmu file without a device; the kernel
 * allocates it for one (arm_smmu_domain_alloc_paging_flags() ->
 * arm_smmu_domain_finalise() sets smmu_domain->smmu). Modelling choice: the
 * first device it is attached through (or the vSMMU made over it) binds it
 * to that SMMU, and so does allocating an SVA domain for a device.
 */
import { CdTable, type DomainSpec, type DriverDomain, type Memory, newLock, PageTable, pgsizeBitmapFor, type RwLock, type SmmuNode } from "../../src/index.js";
import type { Master } from "./master.js";
import { MmStruct } from "./mm.js";

/** enum arm_smmu_domain_stage */
export type Stage = "S1" | "S2" | "SVA";

/** struct arm_smmu_master_domain: one attachment of a master to a domain. */
export interface MasterDomain {
  master: Master;
  domain: IommuDomain;
  ssid: number;
  nestedAtsFlush: boolean;
}

/** struct arm_smmu_domain for paging and SVA domains: what it holds before the series and with it. */
export class SmmuDomain implements DriverDomain {
  readonly type: "paging" | "sva";
  readonly stage: Stage;
  readonly nestParent: boolean;
  readonly pgtable: PageTable;
  readonly pgtablePa: bigint;
  /** smmu_domain->devices, under devices_lock; list_add() puts the newest first, so newest is last here. */
  readonly devices: MasterDomain[] = [];
  /** smmu_domain->devices_lock: a spinlock, modelled as the writer side of an rwlock. */
  readonly devicesLock: RwLock = newLock();
  /**
   * smmu_domain->nr_ats_masters: the masters on `devices` attached with ATS,
   * incremented (under devices_lock) before ATS is enabled and decremented
   * after it is disabled. Mainline still counts them; only the driver before
   * the series (driver-legacy) reads the count, in arm_smmu_atc_inv_domain().
   */
  nrAtsMasters = 0;
  /** smmu_domain->smmu: the SMMU it was allocated for (null until it is bound, see the file comment). */
  smmu: SmmuNode | null = null;
  /** cd.asid (S1, SVA); 0 where the IOTLB tags live in the invalidation array (the follow-up series). */
  asid = 0;
  /** s2_cfg.vmid, from its SMMU's VMID space when it is bound; 0 where the tags live in the array. */
  vmid = 0;
  /** domain->mm: the process an SVA domain translates for (null for the others). */
  readonly mm: MmStruct | null;

  constructor(
    readonly name: string,
    readonly spec: DomainSpec,
    memory: Memory,
    /** An existing table to translate with, and its mm: the process's, for another SVA domain of it. */
    table?: { pgtable: PageTable; pgtablePa: bigint; mm: MmStruct },
  ) {
    this.type = spec.stage === "sva" ? "sva" : "paging";
    this.stage = spec.stage === "sva" ? "SVA" : spec.stage === "s2" ? "S2" : "S1";
    this.nestParent = spec.nestParent ?? false;
    this.pgtable = table?.pgtable ?? new PageTable(pgsizeBitmapFor(spec.pageSize ?? 0x1000), memory, this.stage === "S2" ? "s2" : "s1");
    this.pgtablePa = table?.pgtablePa ?? this.pgtable.pa;
    this.mm = this.type === "sva" ? (table?.mm ?? new MmStruct()) : null;
  }

  /** domain.pgsize_bitmap */
  get pgsizeBitmap(): number {
    return this.pgtable.pgsizeBitmap;
  }
}

/** A guest's stage-1 domain nested on a vSMMU's S2 parent (struct arm_smmu_nested_domain). */
export class NestedDomain implements DriverDomain {
  readonly type = "nested";
  readonly pgtable: PageTable;
  readonly pgtablePa: bigint;
  /** The guest's CD table: CD 0 for `asid`; the vSTE points at it. */
  readonly cdTable = new CdTable(0, false);
  readonly cdTablePa: bigint;
  /** nested_domain->enable_ats: the vSTE asked for EATS. */
  readonly enableAts: boolean;

  constructor(
    readonly name: string,
    readonly spec: DomainSpec,
    readonly vsmmu: Vsmmu,
    /** The guest's ASID for this stage 1. */
    readonly asid: number,
    memory: Memory,
  ) {
    this.enableAts = spec.ats ?? true;
    this.pgtable = new PageTable(pgsizeBitmapFor(spec.pageSize ?? 0x1000), memory);
    this.pgtablePa = this.pgtable.pa;
    this.cdTablePa = memory.alloc(this.cdTable);
  }
}

/** struct arm_vsmmu: a guest's vSMMU on `smmu`, over `s2Parent`. */
export interface Vsmmu {
  readonly name: string;
  readonly smmu: string;
  readonly s2Parent: SmmuDomain;
  /** vsmmu->vmid: the parent's s2_cfg.vmid, or with the follow-up series its own, from its SMMU's space (0: refused). */
  readonly vmid: number;
  /** Why arm_vsmmu_init() refused it (-EINVAL), in the kernel's words; then no nested domain can be allocated on it. */
  readonly refused?: string;
}

/**
 * A process bound with SVA, as a `domain NAME { stage: sva; }` declares it:
 * its mm (page table, users) and the mmu notifiers on it, one per SVA domain
 * the iommu core allocated for it (each SVA domain registers its own),
 * newest first as mmu_notifier_register() adds them. Which SVA domains the
 * mm has and how many users each (mm->iommu_mm->sva_domains) is the iommu
 * core's (src/engine/iommu-core.ts); the notifiers are the mm's.
 */
export class SvaProcess implements DriverDomain {
  readonly pgtable: PageTable;
  readonly pgtablePa: bigint;
  /** The process's mm_struct: its users, and whether its notifiers were released. */
  readonly mm = new MmStruct();
  /** The SVA domains whose notifiers are on the mm, newest first. */
  readonly notifiers: SmmuDomain[] = [];

  constructor(
    readonly name: string,
    readonly spec: DomainSpec,
    memory: Memory,
    /**
     * The ASID the declaration reserved, where the driver numbers ASIDs in
     * declaration order: the process's first SVA domain takes it, later ones
     * allocate their own (undefined: none reserved).
     */
    public reservedAsid?: number,
  ) {
    this.pgtable = new PageTable(pgsizeBitmapFor(spec.pageSize ?? 0x1000), memory);
    this.pgtablePa = this.pgtable.pa;
  }

  /** The page table and the mm an SVA domain of this process translates with. */
  get table(): { pgtable: PageTable; pgtablePa: bigint; mm: MmStruct } {
    return { pgtable: this.pgtable, pgtablePa: this.pgtablePa, mm: this.mm };
  }
}

/**
 * arm_smmu_domain_can_share() (v4 patch 10): why `domain`'s page table
 * cannot be used by `smmu`, or null if it can. The format's stage,
 * output size, coherent walk and S2FWB of every modelled SMMU are alike
 * (stage 1 and 2, 48 bits, coherent, no S2FWB), so of its tests only the
 * page sizes can tell SMMUs apart here (an SMMU plugin may support fewer).
 */
export function canShare(domain: SmmuDomain, smmu: SmmuNode): string | null {
  if (domain.pgsizeBitmap & ~smmu.pgsizeBitmap) return "pgtbl->cfg.pgsize_bitmap & ~new_smmu->pgsize_bitmap";
  return null;
}

/** IOMMU_DOMAIN_BLOCKED / IOMMU_DOMAIN_IDENTITY */
export interface StaticDomain {
  readonly type: "blocked" | "identity";
  readonly name: "blocked" | "identity";
}

export const BLOCKED: StaticDomain = Object.freeze({ type: "blocked", name: "blocked" });
export const IDENTITY: StaticDomain = Object.freeze({ type: "identity", name: "identity" });

export type IommuDomain = SmmuDomain | NestedDomain | StaticDomain;

/** The domain named `name` of a driver's `domains`. */
export function domainNamed<D>(domains: ReadonlyMap<string, D>, name: string): D {
  const d = domains.get(name);
  if (!d) throw new Error(`no domain named "${name}"`);
  return d;
}

/** to_smmu_domain_devices(): the domain whose invalidations cover this attachment, if any. */
export function toSmmuDomainDevices(domain: IommuDomain | null): SmmuDomain | null {
  if (!domain) return null;
  if (domain.type === "paging" || domain.type === "sva") return domain;
  if (domain.type === "nested") return domain.vsmmu.s2Parent;
  return null;
}

/**
 * One id space: the ids in use; from `high` up every id is free, and below
 * it the free ones wait in `freed`, a min-heap, so the lowest free id comes
 * without a scan of the used ones. An id in `freed` may be in use again (a
 * pinned claim took it), or there twice: skipped when it comes out in use;
 * a pinned one is skipped too (it is only ever claimed by its own domain).
 */
class IdSpace {
  private readonly used = new Set<number>();
  private readonly freed: number[] = [];
  private high = 1;

  constructor(
    private readonly limit: number,
    private readonly what: string,
    /** Ids the topology pins: only their domains claim them (modelling choice: the kernel pins none). */
    private readonly pinned: ReadonlySet<number>,
  ) {}

  /** The lowest free id not pinned (xa_alloc / ida_alloc_range from 1), or the pinned one. */
  claim(pinned?: number): number {
    if (pinned !== undefined) {
      if (pinned < 1 || pinned >= this.limit) throw new RangeError(`${this.what} ${pinned} is outside 1..${this.limit - 1}`);
      if (this.used.has(pinned)) throw new RangeError(`${this.what} ${pinned} is already in use`);
      this.used.add(pinned);
      /* the ids a pinned claim jumps over stay free */
      for (; this.high < pinned; this.high++) heapPush(this.freed, this.high);
      if (this.high === pinned) this.high++;
      return pinned;
    }
    while (this.freed.length !== 0) {
      const id = heapPop(this.freed);
      if (this.used.has(id) || this.pinned.has(id)) continue;
      this.used.add(id);
      return id;
    }
    while (this.pinned.has(this.high)) this.high++;
    if (this.high >= this.limit) throw new RangeError(`no ${this.what} left`);
    this.used.add(this.high);
    return this.high++;
  }

  /** Whether `id` is handed out now. */
  inUse(id: number): boolean {
    return this.used.has(id);
  }

  /** xa_erase() / ida_free(): `id` may be handed out again. */
  release(id: number): void {
    this.used.delete(id);
    if (id < this.high) heapPush(this.freed, id);
  }
}

function heapPush(heap: number[], id: number): void {
  let i = heap.length;
  heap.push(id);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= id) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = id;
}

function heapPop(heap: number[]): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  const n = heap.length;
  if (n === 0) return top;
  let i = 0;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap[child + 1]! < heap[child]!) child++;
    if (heap[child]! >= last) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = last;
  return top;
}

/** arm_smmu_asid_xa and each SMMU's vmid_map. */
export class IdAllocator {
  private readonly pinnedAsids = new Set<number>();
  private readonly pinnedVmids = new Set<number>();
  private readonly asids = new IdSpace(1 << 16, "ASID", this.pinnedAsids);
  private readonly vmids = new Map<string, IdSpace>();

  /**
   * The ASIDs and VMIDs `domains` pin, kept from allocation so that a
   * domain declared or attached before its pinned neighbour cannot take
   * their id (the validator refuses two domains pinning one).
   */
  pin(domains: readonly DomainSpec[]): void {
    for (const d of domains) {
      if (d.stage === "s2" && d.vmid !== undefined) this.pinnedVmids.add(d.vmid);
      else if (d.stage !== "nested" && d.asid !== undefined) this.pinnedAsids.add(d.asid);
    }
  }

  asid(pinned?: number): number {
    return this.asids.claim(pinned);
  }

  /** xa_erase(&arm_smmu_asid_xa, asid) */
  freeAsid(asid: number): void {
    this.asids.release(asid);
  }

  /** Whether ASID `id` is handed out now. */
  asidInUse(id: number): boolean {
    return this.asids.inUse(id);
  }

  /** Whether VMID `id` on `smmu` is handed out now. */
  vmidInUse(smmu: string, id: number): boolean {
    return this.vmidSpace(smmu).inUse(id);
  }

  /** VMID 0 is reserved for stage-2 bypass STEs. */
  vmid(smmu: string, pinned?: number): number {
    return this.vmidSpace(smmu).claim(pinned);
  }

  /** ida_free(&smmu->vmid_map, vmid) */
  freeVmid(smmu: string, vmid: number): void {
    this.vmidSpace(smmu).release(vmid);
  }

  private vmidSpace(smmu: string): IdSpace {
    let space = this.vmids.get(smmu);
    if (!space) this.vmids.set(smmu, (space = new IdSpace(1 << 16, `VMID on ${smmu}`, this.pinnedVmids)));
    return space;
  }
}
