/**
 * The stale-translation oracle. It watches every translation a device gets
 * from a cache (an SMMU's TLB or an endpoint's ATC) and checks it against the
 * page tables it came from: if a table no longer backs it and the operation
 * that removed it has returned, the device used a translation that should be
 * gone. It also watches every walk an SMMU starts from its walk cache: a
 * cached table entry pointing at a table io-pgtable has freed is a stale
 * walk (the table must not be freed before its walk flush returned), at
 * any time. After every operation it also checks the driver's rule that any
 * ASID or VMID no invalidation array covers is clear in every TLB. And it
 * reports every Translated transaction (an ATC hit) that the STE of its
 * stream forbids: the device had ATS enabled where the driver had turned it
 * off in the STE (the kernel disables ATS at the device first).
 */
import type { Bus } from "../core/bus.js";
import type { Memory } from "../core/memory.js";
import type { IommuDriver } from "../model/driver.js";
import type { BusNotifications } from "../model/events.js";
import { PageTable, type Leaf } from "../model/page-table.js";
import type { Platform } from "../plugin/platform.js";

/** One scenario operation, as the oracle names it. */
export interface OpRef {
  seq: number;
  label: string;
  /** Where it was written, if it came from a file: "file:line:col". */
  at?: string;
  /** The CPU it runs on. */
  cpu: string;
}

export type ViolationKind = "stale-translation" | "stale-walk" | "tag-not-flushed" | "translated-forbidden";

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
  table: bigint;
  leaf: Leaf;
  op: OpRef;
}

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

export class Oracle {
  readonly violations: Violation[] = [];
  private readonly unmaps: UnmapRecord[] = [];
  /** The operation that freed each page-table table. */
  private readonly frees = new Map<bigint, OpRef | undefined>();
  private readonly done = new Set<number>();
  private current: OpRef | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly memory: Memory,
    private readonly platform: Platform,
    private readonly driver: IommuDriver,
  ) {
    bus.on("pgtable:unmap", "oracle", (e) => {
      if (!this.current) return;
      for (const leaf of e.leaves) this.unmaps.push({ table: e.table, leaf, op: this.current });
    });
    bus.on("dma:forbidden", "oracle", (e) => this.translatedForbidden(e));
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
        if (removed && !this.done.has(removed.seq)) continue;
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
    for (let i = this.unmaps.length - 1; i >= 0; i--) {
      const r = this.unmaps[i]!;
      if (r.table === table && addr >= r.leaf.iova && addr < r.leaf.iova + r.leaf.size) return r.op;
    }
    return undefined;
  }

  /** `op` runs now (again, for interleaved operations): what happens is its doing. */
  begin(op: OpRef): void {
    this.current = op;
    this.inFlight.add(op.seq);
  }

  /** The operation returned: its unmaps now count, and once nothing runs the TLB tag rule must hold. */
  end(op: OpRef): void {
    this.done.add(op.seq);
    this.inFlight.delete(op.seq);
    this.current = null;
    if (this.inFlight.size === 0) this.checkTags(op);
  }

  private readonly inFlight = new Set<number>();

  private checkTags(op: OpRef): void {
    let live: ReadonlySet<string> | undefined;
    for (const smmu of this.platform.smmus()) {
      if (!this.platformServesTags(smmu.name)) continue;
      for (const tag of this.tagsOf(smmu.name)) {
        live ??= this.driver.liveTags();
        if (live.has(tag)) continue;
        if (this.violations.some((v) => v.kind === "tag-not-flushed" && v.message.startsWith(`${tag}:`))) continue;
        this.violations.push({
          kind: "tag-not-flushed",
          during: op,
          message: `${tag}: the TLB still holds translations for a tag no invalidation array covers, after "${op.label}"${op.at ? ` at ${op.at}` : ""}`,
        });
      }
    }
  }

  private tagsOf(smmu: string): string[] {
    return this.bus.request("smmu:tlb-tags", smmu, {}).tags;
  }

  private platformServesTags(smmu: string): boolean {
    return this.bus.serves("smmu:tlb-tags", smmu);
  }
}
