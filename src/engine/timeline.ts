/**
 * What took simulated time in a run, recorded from the bus and the
 * simulator: operations on CPUs, commands on SMMU queues, ATC invalidations
 * at endpoints, CPUs spinning on CMD_SYNC, and every invalidation the iommu
 * core asked the driver for. Metrics and traces are computed from it.
 */
import type { Bus } from "../core/bus.js";
import type { Clock } from "../core/clock.js";
import type { Steps } from "../model/step.js";
import type { Cmd } from "../model/commands.js";
import type { OpRef } from "./oracle.js";

export interface Span {
  start: number;
  end: number;
}

export interface OpSpan extends Span {
  op: OpRef;
}

export interface CmdSpan extends Span {
  smmu: string;
  seq: number;
  cmd: Cmd;
  source: string;
}

export interface AtcSpan extends Span {
  device: string;
  sid: number;
  completed: boolean;
}

export interface WaitSpan extends Span {
  cpu: string;
  smmu: string;
}

/** The driver entry points the iommu core calls to invalidate. */
export type InvalidationKind = "iotlb_sync" | "tlb_flush_walk" | "flush_iotlb_all" | "mm_invalidate" | "mm_release" | "guest_invalidate";

export interface InvalidationSpan extends Span {
  kind: InvalidationKind;
  domain: string;
  cpu: string;
  /** Entries of the domain's invalidation array when it started; null for a driver without one. */
  arrayEntries: number | null;
  /** Commands (CMD_SYNC included) and CMD_SYNCs this invalidation queued, per SMMU. */
  perSmmu: Map<string, { commands: number; syncs: number }>;
}

export class Timeline {
  readonly ops: OpSpan[] = [];
  readonly commands: CmdSpan[] = [];
  readonly atcInvs: AtcSpan[] = [];
  readonly waits: WaitSpan[] = [];
  readonly invalidations: InvalidationSpan[] = [];
  private readonly open = new Map<number, number>();

  constructor(
    bus: Bus,
    private readonly clock: Clock,
  ) {
    bus.on("cmd:queued", "timeline", (e) => this.commands.push({ smmu: e.smmu, seq: e.seq, cmd: e.cmd, source: e.source, start: e.start, end: e.end }));
    bus.on("ep:atc-inv-done", "timeline", (e) => this.atcInvs.push({ ...e }));
    bus.on("cpu:sync-wait", "timeline", (e) => this.waits.push({ ...e }));
  }

  begin(op: OpRef, at: number): void {
    this.open.set(op.seq, at);
  }

  end(op: OpRef, at: number): void {
    this.ops.push({ op, start: this.open.get(op.seq) ?? at, end: at });
    this.open.delete(op.seq);
  }

  /** Run a driver invalidation path, recording how long it took its CPU and what it queued. */
  *invalidation(kind: InvalidationKind, domain: string, arrayEntries: number | null, path: Steps): Steps {
    const cpu = this.clock.cpu;
    const start = this.clock.cpuNow;
    const from = this.commands.length;
    yield* path;
    const perSmmu = new Map<string, { commands: number; syncs: number }>();
    for (let i = from; i < this.commands.length; i++) {
      const c = this.commands[i]!;
      if (c.source !== cpu) continue;
      let n = perSmmu.get(c.smmu);
      if (!n) perSmmu.set(c.smmu, (n = { commands: 0, syncs: 0 }));
      n.commands++;
      if (c.cmd.op === "CMD_SYNC") n.syncs++;
    }
    /* interleaved or not, this code runs in a step of its own CPU */
    this.invalidations.push({ kind, domain, cpu, arrayEntries, perSmmu, start, end: this.clock.cpuNow });
  }
}
