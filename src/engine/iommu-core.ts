/**
 * The parts of the iommu core and io-pgtable between a scenario and the
 * driver: iommu_map(), and iommu_unmap() with its gather (pages of one size,
 * contiguous, flushed through ->iotlb_sync() when that stops holding and at
 * the end). For an SVA domain the table is the process's: unmapping it is a
 * munmap() whose mmu notifier calls the driver with [start, end); for a
 * nested domain it is the guest's stage 1, which the guest invalidates.
 * And attaching: the core's own rules before it calls the driver (a domain
 * already attached is left as it is; a PASID must be one the device has,
 * and free), once here for every driver, a user's included; and SVA:
 * iommu_sva_bind_device() finds or allocates an SVA domain of the process
 * for the device and iommu_sva_unbind_device() frees one with its last
 * user, under the core's iommu_sva_lock, calling the driver's
 * ->domain_alloc_sva(), ->set_dev_pasid() and domain free.
 */
import type { Bus } from "../core/bus.js";
import { EBUSY, EINVAL, EOVERFLOW } from "../core/errno.js";
import { mutexLocked, newLock, type Mutex } from "../core/rwlock.js";
import { site, type Steps } from "../model/step.js";
import type { DriverDomain, Gather, InvsSnapshot, IommuDriver } from "../model/driver.js";
import { iommuPgsize, type Leaf, PageTableError, UNMAP_ENOENT, type UnmapOps } from "../model/page-table.js";
import { KernelBugError } from "../core/rcu.js";
import type { InvalidationKind, Timeline } from "./timeline.js";

/** Leaves a scenario's page tables may hold at once: mapping and unmapping that many takes about 250 MB and 2 s. */
export const DEFAULT_MAX_PTES = 500_000;

const S_SET_PTE = site("__arm_lpae_map", "install PTE");
const S_SVA_BIND = site("iommu_sva_bind_device", "mutex_lock(&iommu_sva_lock)");
const S_SVA_UNBIND = site("iommu_sva_unbind_device", "mutex_lock(&iommu_sva_lock)");

/** iommu_iotlb_gather_init() */
function gatherInit(): Gather {
  return { start: Number.MAX_SAFE_INTEGER, end: 0, pgsize: 0 };
}

/** iommu_iotlb_gather_is_disjoint() */
function isDisjoint(g: Gather, iova: number, size: number): boolean {
  const end = iova + size - 1;
  return g.end !== 0 && (end + 1 < g.start || iova > g.end + 1);
}

/** iommu_iotlb_gather_add_page(): sync first if the page is disjoint or of another size. */
function* gatherAddPage(core: IommuCore, domain: string, g: Gather, iova: number, size: number): Steps<Gather> {
  if ((g.pgsize && g.pgsize !== size) || isDisjoint(g, iova, size)) {
    yield* core.iotlbSync(domain, g);
    g = gatherInit();
  }
  g.pgsize = size;
  g.start = Math.min(g.start, iova);
  g.end = Math.max(g.end, iova + size - 1);
  return g;
}

/** IOMMU_NO_PASID: the RID's PASID, never attached at through a PASID. */
const IOMMU_NO_PASID = 0;

/** A bond's handle: the device and the PASID a bind attached the process at. */
function bondKey(device: string, pasid: number): string {
  return `${device} pasid ${pasid}`;
}

/** An SVA domain on an mm's list, with its users (iommu_domain->users: the devices bound through it). */
interface SvaDomainUse {
  readonly name: string;
  users: number;
}

/** struct iommu_sva: a bond, counted per bind of the same mm at the same device and PASID. */
interface SvaHandle {
  readonly mm: string;
  readonly domain: string;
  users: number;
}

export class IommuCore {
  /** Next physical address handed out to a map without one, per domain. */
  private nextPa = 0x10_0000_0000;
  /**
   * iommu_sva_lock (DEFINE_MUTEX in drivers/iommu/iommu-sva.c): the core
   * holds it across a bind (finding or allocating the mm's SVA domain,
   * ->set_dev_pasid()) and an unbind (the detach, and iommu_domain_free()
   * of a domain whose last user went), so those never interleave. The
   * drivers never take it; it lives here, once, for every driver.
   */
  readonly svaLock: Mutex = newLock();
  /** mm->iommu_mm->sva_domains of each process (a `domain NAME { stage: sva; }`), newest first. */
  private readonly svaDomains = new Map<string, SvaDomainUse[]>();
  /** The bonds iommu_sva_bind_device() made (its struct iommu_sva handles), until unbound. */
  private readonly svaHandles = new Map<string, SvaHandle>();
  /** WARN_ONCE()s that have fired. */
  private readonly warnedOnce = new Set<string>();

  /** Leaves the scenario's page tables hold (the maxPtes bound). */
  private ptes = 0;

  constructor(
    private readonly bus: Bus,
    private readonly driver: IommuDriver,
    private readonly timeline: Timeline,
    /** The SVA processes (their mms) the topology declares. */
    private readonly processes: ReadonlySet<string>,
    /** Leaves all page tables together may hold: a scenario's memory bound (DEFAULT_MAX_PTES). */
    readonly maxPtes = DEFAULT_MAX_PTES,
  ) {}

  /** A driver invalidation path, recorded on the timeline with the domain's array size. */
  *invalidation(kind: InvalidationKind, domain: string, path: Steps): Steps {
    yield* this.timeline.invalidation(kind, domain, this.arrayEntries(domain), path);
  }

  /** The entries of a domain's array as invs() lists them; null without one. */
  private arrayEntries(domain: string): number | null {
    if (this.driver.invsEntries && !this.svaDomains.get(domain)?.length) return this.driver.invsEntries(domain);
    const invs = this.invs(domain);
    return invs && !invs.error ? invs.entries.length : null;
  }

  /**
   * A domain's invalidation array, as the driver shows it; for a process,
   * the live entries of every SVA domain it has (each entry names its SMMU),
   * in the order they were allocated. Null where the driver keeps none.
   */
  invs(domain: string): InvsSnapshot | null {
    const uses = this.svaDomains.get(domain);
    if (!uses?.length) return this.driver.invs(domain);
    const out: InvsSnapshot = { entries: [], trashes: 0, hasAts: false };
    for (const use of [...uses].reverse()) {
      const one = this.driver.invs(use.name);
      if (!one) return null;
      out.entries.push(...one.entries);
      out.trashes += one.trashes;
      out.hasAts ||= one.hasAts;
      if (one.error && !out.error) out.error = `${use.name}: ${one.error}`;
    }
    return out;
  }

  /** `return -errno;` of the core's own: reported as the driver's are (driver:errno). */
  private errno(fn: string, errno: number, cond: string): number {
    this.bus.emit("driver:errno", { fn, errno, cond });
    return -errno;
  }

  /** iommu_iotlb_sync() */
  *iotlbSync(domain: string, g: Gather): Steps {
    yield* this.invalidation("iotlb_sync", domain, this.driver.iotlbSync(domain, g));
  }

  /**
   * iommu_attach_device() -> __iommu_group_set_domain_internal(): a group
   * already on `target` is left as it is, 0 without calling the driver;
   * otherwise the driver's ->attach_dev(). 0 or -errno.
   */
  *attachDev(device: string, target: string): Steps<number> {
    if (this.driver.attached(device) === target) return 0;
    return yield* this.driver.attachDev(device, target);
  }

  /**
   * iommu_attach_device_pasid(); for a process (an SVA domain's mm)
   * iommu_sva_bind_device(). 0 or -errno.
   */
  *attachDevPasid(device: string, domain: string, pasid: number): Steps<number> {
    if (this.processes.has(domain)) return yield* this.svaBindDevice(device, domain, pasid);
    return yield* this.setDevPasid(device, domain, pasid);
  }

  /**
   * iommu_sva_bind_device(), under iommu_sva_lock: the PASID must fit the
   * device (iommu_alloc_mm_data(): the model takes the scenario's PASID as
   * the mm's); a bond of the same mm at this device and PASID is counted
   * again, another domain there is -EBUSY; else the mm's SVA domains are
   * tried newest first, any error moving on to the next (a domain of
   * another SMMU refuses with -EINVAL), and if none takes the device the
   * driver allocates a new one (->domain_alloc_sva()), which goes at the
   * head of the list, or is freed again if its attach fails too.
   */
  private svaBindDevice(device: string, mm: string, pasid: number): Steps<number> {
    const core = this;
    const driver = this.driver;
    return mutexLocked(this.svaLock, S_SVA_BIND, function* () {
      if (pasid >= driver.maxPasids(device)) return core.errno("iommu_alloc_mm_data", EOVERFLOW, "iommu_mm->pasid >= dev->iommu->max_pasids");
      const key = bondKey(device, pasid);
      const handle = core.svaHandles.get(key);
      if (handle) {
        if (handle.mm !== mm) return core.errno("iommu_sva_bind_device", EBUSY, "attach_handle->domain->mm != mm");
        handle.users++;
        return 0;
      }
      /* iommu_attach_handle_get(group, pasid, IOMMU_DOMAIN_SVA): a domain of another type there */
      if (driver.attached(device, pasid) !== null) return core.errno("iommu_sva_bind_device", EBUSY, "iommu_attach_handle_get(): a non-SVA domain at the PASID");
      let uses = core.svaDomains.get(mm);
      if (!uses) core.svaDomains.set(mm, (uses = []));
      for (const use of [...uses]) {
        if ((yield* core.setDevPasid(device, use.name, pasid)) !== 0) continue;
        use.users++;
        core.svaHandles.set(key, { mm, domain: use.name, users: 1 });
        return 0;
      }
      const domain = driver.domainAllocSva(device, mm);
      if (typeof domain === "number") return domain;
      const ret = yield* core.setDevPasid(device, domain, pasid);
      if (ret) {
        yield* driver.domainFree(domain);
        return ret;
      }
      uses.unshift({ name: domain, users: 1 });
      core.svaHandles.set(key, { mm, domain, users: 1 });
      return 0;
    });
  }

  /**
   * iommu_attach_device_pasid()'s checks, then the driver's ->set_dev_pasid():
   * -EINVAL for IOMMU_NO_PASID or a PASID at or beyond the device's
   * max_pasids, -EBUSY for one something is attached at (the xa_insert()
   * into the group's pasid_array). Modelling choice: a device without PASIDs
   * (max_pasids 0) is refused too; the kernel now skips such a device in
   * its group, so a group of one "succeeds" with nothing attached.
   */
  private *setDevPasid(device: string, domain: string, pasid: number): Steps<number> {
    /* ioasid_t is unsigned: a negative PASID is beyond any max_pasids */
    if (pasid <= IOMMU_NO_PASID) return this.errno("iommu_attach_device_pasid", EINVAL, "pasid == IOMMU_NO_PASID");
    if (pasid >= this.driver.maxPasids(device)) return this.errno("iommu_attach_device_pasid", EINVAL, "pasid >= dev->iommu->max_pasids");
    if (this.driver.attached(device, pasid) !== null) return this.errno("iommu_attach_device_pasid", EBUSY, "xa_insert(&group->pasid_array, pasid): the PASID is in use");
    return yield* this.driver.setDevPasid(device, domain, pasid);
  }

  /**
   * The blocked domain's ->set_dev_pasid() at `pasid`; for a PASID a bind
   * attached, iommu_sva_unbind_device(), under iommu_sva_lock: the last
   * unbind of the bond detaches it (the same ->set_dev_pasid()), and the SVA
   * domain's last user frees it (list_del(), iommu_domain_free()).
   */
  *detachDevPasid(device: string, pasid: number): Steps {
    const driver = this.driver;
    const key = bondKey(device, pasid);
    const handle = this.svaHandles.get(key);
    if (!handle) return yield* driver.removeDevPasid(device, pasid);
    const core = this;
    yield* mutexLocked(this.svaLock, S_SVA_UNBIND, function* () {
      if (--handle.users > 0) return;
      yield* driver.removeDevPasid(device, pasid);
      core.svaHandles.delete(key);
      const uses = core.svaDomains.get(handle.mm)!;
      const use = uses.find((u) => u.name === handle.domain)!;
      if (--use.users > 0) return;
      uses.splice(uses.indexOf(use), 1);
      yield* driver.domainFree(use.name);
    });
  }

  /** A physical address for `size` bytes, aligned so the largest page that fits can be used. */
  allocPa(size: number): number {
    let align = 0x1000;
    while (align * 2 <= size && align < 0x4000_0000) align *= 2;
    const pa = Math.ceil(this.nextPa / align) * align;
    this.nextPa = pa + size;
    return pa;
  }

  /**
   * iommu_map(): arm-smmu-v3 has no iotlb_sync_map, so mapping issues no
   * command, unless a block replaces an (emptied) table, which io-pgtable
   * flushes as it does on unmap. The PTE writes of one map are one step.
   * Over an address already mapped, arm_lpae_init_pte() WARNs (arm-smmu-v3
   * does not set IO_PGTABLE_QUIRK_NO_WARN) and fails with -EEXIST; the model
   * refuses the whole request before mapping any of it.
   */
  *map(domain: DriverDomain, iova: number, size: number, pa: number, writable: boolean): Steps<Leaf[]> {
    yield S_SET_PTE;
    try {
      const made = yield* domain.pgtable.map(iova, size, pa, writable, this.ioPgtableOps(domain, null, []), this.maxPtes - this.ptes);
      this.ptes += made.length;
      return made;
    } catch (err) {
      if (err instanceof PageTableError && err.errno === "EEXIST") {
        this.bus.emit("driver:warn", { fn: "arm_lpae_init_pte", cond: "WARN_ON(!(data->iop.cfg.quirks & IO_PGTABLE_QUIRK_NO_WARN))" });
      }
      throw err;
    }
  }

  /**
   * iommu_unmap(): __iommu_unmap_domain_pgtbl() splits the range by
   * iommu_pgsize() and io-pgtable-arm unmaps each chunk at its level
   * (arm_lpae_unmap_pages()), gathering what it cleared; the loop stops when
   * a chunk unmaps nothing; then iommu_iotlb_sync(). An SVA domain's table is
   * the process's (munmap(): the mmu notifier invalidates [start, end)); a
   * nested domain's is the guest's (it invalidates through its vSMMU).
   */
  *unmap(domain: DriverDomain, iova: number, size: number): Steps<Leaf[]> {
    const gone: Leaf[] = [];
    const stage = domain.spec.stage;
    if (stage === "sva" || stage === "nested") {
      yield* domain.pgtable.clearLeaves(iova, size, this.ioPgtableOps(domain, null, gone));
      yield* this.ownerInvalidation(domain, iova, size);
      return gone;
    }
    const pgtable = domain.pgtable;
    pgtable.checkRange(iova, size, "unmap");
    const gather = { g: gatherInit() };
    const ops = this.ioPgtableOps(domain, gather, gone);
    for (let unmapped = 0; unmapped < size; ) {
      const { pgsize, count } = iommuPgsize(pgtable.pgsizeBitmap, iova, iova, size - unmapped);
      const unmappedPage = yield* pgtable.unmapPages(iova, pgsize, count, ops);
      if (unmappedPage === 0) break;
      if (unmappedPage === UNMAP_ENOENT) {
        /*
         * (size_t)-ENOENT: iova and unmapped both step back 2 bytes. From 0,
         * unmapped wraps past size and the loop ends; else the next
         * iommu_pgsize() finds no page size for an iova 2 bytes off.
         */
        if (unmapped === 0) break;
        throw new KernelBugError("!pgsizes", "iommu_pgsize");
      }
      iova += unmappedPage;
      unmapped += unmappedPage;
    }
    yield* this.iotlbSync(domain.name, gather.g);
    return gone;
  }

  /**
   * How a table that is not the kernel's io-pgtable is invalidated for
   * [iova, iova + size): a process's (SVA: its munmap() or other change
   * reaches the mmu notifier) or a guest's (nested: its commands through
   * its vSMMU).
   */
  private ownerInvalidation(domain: DriverDomain, iova: number, size: number): Steps {
    if (domain.spec.stage === "sva") return this.invalidation("mm_invalidate", domain.name, this.driver.mmInvalidate(domain.name, BigInt(iova), BigInt(iova + size)));
    return this.invalidation("guest_invalidate", domain.name, this.driver.guestInvalidate(domain.name, iova, size));
  }

  /**
   * The io-pgtable callbacks for `domain`: arm_smmu_flush_ops (->tlb_flush_walk,
   * ->tlb_add_page into `gather`, which may sync on its way), WARNs, and the
   * notifications the oracle follows. A table freed in a process's or a
   * guest's own table is theirs to flush (ownerInvalidation).
   */
  private ioPgtableOps(domain: DriverDomain, gather: { g: Gather } | null, gone: Leaf[]): UnmapOps {
    const core = this;
    const table = domain.pgtablePa;
    const stage = domain.spec.stage;
    return {
      flushWalk(iova, size, granule) {
        if (stage === "sva" || stage === "nested") return core.ownerInvalidation(domain, iova, size);
        return core.invalidation("tlb_flush_walk", domain.name, core.driver.tlbFlushWalk(domain.name, iova, size, granule));
      },
      addPage: gather
        ? function* (iova, size) {
            /* arm_smmu_tlb_inv_page_nosync() */
            gather.g = yield* gatherAddPage(core, domain.name, gather.g, iova, size);
          }
        : null,
      cleared(leaves) {
        /* one by one: a table of a million leaves would overflow the stack as push()'s arguments */
        for (const leaf of leaves) gone.push(leaf);
        core.ptes -= leaves.length;
        if (leaves.length) core.bus.emit("pgtable:unmap", { table, leaves });
      },
      freed(tables) {
        core.bus.emit("pgtable:free", { table, freed: tables });
      },
      warn(cond, once) {
        if (once && core.warnedOnce.has(cond)) return;
        core.warnedOnce.add(cond);
        core.bus.emit("driver:warn", { fn: "__arm_lpae_unmap", cond });
      },
    };
  }
}
