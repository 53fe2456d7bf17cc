/**
 * The stale-translation oracle. It watches every translation a device gets
 * from a cache (an SMMU's TLB or an endpoint's ATC) and checks it against the
 * page tables it came from: if a table no longer backs it and the operation
 * that removed it has returned, the device used a translation that should be
 * gone. It also watches every walk an SMMU starts from its walk cache: a
 * cached table entry pointing at a table io-pgtable has freed is a stale
 * walk (the table must not be freed before its walk flush returned), at
 * any time. Once no operation runs it also checks the driver's rule that any
 * ASID or VMID no invalidation array covers is clear in every TLB, on the
 * TLBs where that can have changed: those that took a translation since the
 * last check (`cache:fill` from "<smmu>.iotlb"), and those holding a tag
 * that left the driver's live tags (`uncoveredTags()`; for a driver without
 * it, every TLB that held a tag at the last check). A TLB that held tags and
 * took a TLBI is looked at again too, to forget what it no longer holds;
 * while no TLB holds anything, nothing is looked at. And it reports every
 * Translated transaction (an ATC hit) that the STE of its stream forbids:
 * the device had ATS enabled where the driver had turned it off in the STE
 * (the kernel disables ATS at the device first).
 */
import type { Bus } from "../core/bus.js";
import { BoundedMap } from "../core/bounded-map.js";
import type { Memory } from "../core/memory.js";
import { isTlbi } from "../model/commands.js";
import type { IommuDriver } from "../model/driver.js";
import type { BusNotifications } from "../model/events.js";
import { PageTable, type Leaf } from "../model/page-table.js";
import type { Platform } from "../plugin/platform.js";
import { hex } from "../model/hex.js";

/** One scenario operation, as the oracle names it. */
export interface OpRef {
  seq: number;
  label: string;
  /** Where it was written, if it came from a file: "file:line:col". */
  at?: string;
  /** The CPU it runs on. */
  cpu: string;
}

export type ViolationKind = "stale-translation" | "stale-walk" | "tag-not-flushed" | "translated-forbidden" | "unfenced-ats";

export interface Violation {
  kind: ViolationKind;
  message: string;
  device?: string;
  iova?: number;
  cache?: string;
  /** The operation that should have removed the translation (that freed the table, for a stale walk). */
  op?: OpRef;
  /** The operation during which the violation was seen. */
  during?: OpRef;
}

interface UnmapRecord {
  leaf: Leaf;
  op: OpRef;
  /** The order unmaps happened in: the latest one covering an address removed it. */
  order: number;
}


function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Oracle {
  readonly violations: Violation[] = [];
  /**
   * Per page table, the latest unmap of each leaf (by IOVA and size): a later
   * unmap of the same leaf hides an earlier one, so this stays as large as
   * the address space used, not the run.
   */
  private readonly unmaps = new Map<bigint, Map<string, UnmapRecord>>();
  private unmapOrder = 0;
  /** The operation that freed each page-table table, for as long as memory keeps the table (its quarantine). */
  private readonly frees: BoundedMap<bigint, OpRef | undefined>;
  private readonly inFlight = new Set<number>();
  private current: OpRef | null = null;
  /** The SMMUs that answer smmu:tlb-tags, by the cache name their TLB fills under ("smmu0.iotlb"). */
  private readonly tlbOf = new Map<string, string>();
  private readonly smmuOrder = new Map<string, number>();
  /** SMMUs whose TLB took a translation, or lost some, since the last check. */
  private readonly changed = new Set<string>();
  /** What each SMMU's TLB held at the last look, and which SMMUs held each tag then (a superset: a TLBI may have removed it since). */
  private readonly seenTags = new Map<string, readonly string[]>();
  private readonly holders = new Map<string, Set<string>>();
  /** Tags already reported: each is reported once. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly bus: Bus,
    private readonly memory: Memory,
    private readonly platform: Platform,
    private readonly driver: IommuDriver,
  ) {
    this.frees = new BoundedMap(memory.quarantine);
    for (const smmu of platform.smmus()) {
      if (!bus.serves("smmu:tlb-tags", smmu.name)) continue;
      this.tlbOf.set(`${smmu.name}.iotlb`, smmu.name);
      this.smmuOrder.set(smmu.name, smmu.index);
    }
    bus.on("cache:fill", "oracle", (e) => {
      const smmu = this.tlbOf.get(e.cache);
      if (smmu !== undefined) this.changed.add(smmu);
    });
    bus.on("cmd:queued", "oracle", (e) => {
      if (this.seenTags.has(e.smmu) && isTlbi(e.cmd.op)) this.changed.add(e.smmu);
    });
    bus.on("pgtable:unmap", "oracle", (e) => {
      const op = this.current;
      if (!op) return;
      let table = this.unmaps.get(e.table);
      if (!table) this.unmaps.set(e.table, (table = new Map()));
      for (const leaf of e.leaves) table.set(`${leaf.iova}/${leaf.size}`, { leaf, op, order: this.unmapOrder++ });
    });
    bus.on("dma:forbidden", "oracle", (e) => this.translatedForbidden(e));
    /* the write lock fences ATC invalidations against the ATS that goes off next: only an ATS entry's last user needs it */
    bus.on("invs:trim", "oracle", (e) => {
      if (e.walkers === 0 || !e.ats) return;
      this.violations.push({
        kind: "unfenced-ats",
        message: `arm_smmu_invs_unref() took an ATS entry's last user from ${e.domain}'s array while ${e.walkers} invalidation walk(s) of it were outstanding: the rwlock's write side must mean no ATC invalidation is (a device whose ATS goes off may ignore one, and the CMD_SYNC times out)`,
        ...(this.current ? { during: this.current } : {}),
      });
    });
    bus.on("pgtable:free", "oracle", (e) => {
      for (const pa of e.freed) this.frees.set(pa, this.current ?? undefined);
    });
    bus.on("walk:cached", "oracle", (e) => {
      if (!this.memory.isFreed(e.next)) return;
      const device = this.platform.endpointFor(e.smmu, e.sid)?.name ?? `sid ${hex(e.sid)}`;
      const freed = this.frees.get(e.next);
      this.violations.push({
        kind: "stale-walk",
        device,
        iova: e.iova,
        cache: e.cache,
        op: freed,
        during: this.current ?? undefined,
        message:
          `${device} ${e.access} ${hex(e.iova)}${e.ssid !== null ? ` pasid ${e.ssid}` : ""} walked from ${e.cache}: its level ${e.level} entry for ${hex(e.base)} ` +
          `points at the table at ${hex(e.next)}, which ${freed ? `"${freed.label}"${freed.at ? ` at ${freed.at}` : ""} freed` : "was freed"}`,
      });
    });
    bus.on("dma:served", "oracle", (e) => {
      if (e.via !== "atc" && e.via !== "iotlb") return;
      for (const b of e.t.backing) {
        const leaf = this.memory.deref(b.table, PageTable)?.lookup(b.addr);
        if (leaf && leaf.iova === b.addr && leaf.pa === b.pa) continue;
        const removed = this.removedBy(b.table, b.addr);
        /* Not a violation while the unmap is still running: the kernel allows that */
        if (removed && this.inFlight.has(removed.seq)) continue;
        this.violations.push({
          kind: "stale-translation",
          device: e.device,
          iova: e.iova,
          cache: e.cache,
          op: removed,
          during: this.current ?? undefined,
          message:
            `${e.device} ${e.access} ${hex(e.iova)}${e.pasid !== null ? ` pasid ${e.pasid}` : ""} was served from ${e.cache} ` +
            `(to ${hex(e.t.pa + (e.iova - e.t.base))}), but ` +
            (removed ? `"${removed.label}"${removed.at ? ` at ${removed.at}` : ""} removed that translation and has returned` : `no page table maps it any more`),
        });
        return;
      }
    });
  }

  /** A Translated transaction the SMMU refused: ATS on at the device, off in its STE. */
  private translatedForbidden(e: BusNotifications["dma:forbidden"]): void {
    this.violations.push({
      kind: "translated-forbidden",
      device: e.device,
      iova: e.iova,
      cache: e.cache,
      during: this.current ?? undefined,
      message:
        `${e.device} ${e.access} ${hex(e.iova)}${e.pasid !== null ? ` pasid ${e.pasid}` : ""} used ${e.cache}'s translation ` +
        `(to ${hex(e.t.pa + (e.iova - e.t.base))}) as a Translated transaction on sid ${hex(e.sid)}, which its STE forbids: ${e.detail}`,
    });
  }

  /** The latest operation that unmapped `addr` from `table`. */
  private removedBy(table: bigint, addr: number): OpRef | undefined {
    let latest: UnmapRecord | undefined;
    for (const r of this.unmaps.get(table)?.values() ?? []) {
      if (addr >= r.leaf.iova && addr < r.leaf.iova + r.leaf.size && (!latest || r.order > latest.order)) latest = r;
    }
    return latest?.op;
  }

  /** `op` runs now (again, for interleaved operations): what happens is its doing. */
  begin(op: OpRef): void {
    this.current = op;
    this.inFlight.add(op.seq);
  }

  /** The operation returned: its unmaps now count, and once nothing runs the TLB tag rule must hold. */
  end(op: OpRef): void {
    this.inFlight.delete(op.seq);
    this.current = null;
    if (this.inFlight.size === 0) this.checkTags(op);
  }

  /**
   * Every tag a TLB holds that no live entry covers is reported (once). Only
   * the TLBs that can hold such a tag now and did not at the last check are
   * read: nothing else changed that could make one.
   */
  private checkTags(op: OpRef): void {
    const look = this.changed;
    if (look.size === 0 && this.seenTags.size === 0) return;
    const live = this.driver.liveTags();
    if (this.driver.uncoveredTags) {
      this.driver.uncoveredTags(this.lookAtHolders);
    } else {
      for (const smmu of this.seenTags.keys()) look.add(smmu);
    }
    if (look.size === 0) return;
    const smmus = look.size === 1 ? [...look] : [...look].sort((a, b) => this.smmuOrder.get(a)! - this.smmuOrder.get(b)!);
    look.clear();
    for (const smmu of smmus) {
      const tags = this.bus.request("smmu:tlb-tags", smmu, {}).tags;
      this.saw(smmu, tags);
      for (const tag of tags) {
        if (live.has(tag) || this.reported.has(tag)) continue;
        this.reported.add(tag);
        this.violations.push({
          kind: "tag-not-flushed",
          during: op,
          message: `${tag}: the TLB still holds translations for a tag no invalidation array covers, after "${op.label}"${op.at ? ` at ${op.at}` : ""}`,
        });
      }
    }
  }

  /** Look at the TLBs that held `tag` when last looked at. */
  private readonly lookAtHolders = (tag: string): void => {
    const holders = this.holders.get(tag);
    if (holders) for (const smmu of holders) this.changed.add(smmu);
  };

  /** Note what `smmu`'s TLB holds now. */
  private saw(smmu: string, tags: readonly string[]): void {
    const before = this.seenTags.get(smmu);
    if (before && sameList(before, tags)) return;
    for (const tag of before ?? []) this.holders.get(tag)?.delete(smmu);
    if (tags.length === 0) {
      this.seenTags.delete(smmu);
      return;
    }
    this.seenTags.set(smmu, [...tags]);
    for (const tag of tags) {
      let h = this.holders.get(tag);
      if (!h) this.holders.set(tag, (h = new Set()));
      h.add(smmu);
    }
  }
}
