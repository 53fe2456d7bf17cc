/**
 * What took simulated time in a run, recorded from the bus and the
 * simulator: operations on CPUs, commands on SMMU queues, ATC invalidations
 * at endpoints, CPUs spinning on CMD_SYNC, and every invalidation the iommu
 * core asked the driver for. Metrics and traces are computed from it.
 */
import type { Bus } from "../core/bus.js";
import type { Clock } from "../core/clock.js";
import type { Steps } from "../model/step.js";
import { hex } from "../model/hex.js";
import type { Cmd } from "../model/commands.js";
import type { OpRef } from "./oracle.js";

interface Span {
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

/** A DMA's transaction: the CPU whose operation issued it, and how it ended (`dma:done`); it takes no simulated time. */
export interface DmaSpan extends Span {
  device: string;
  cpu: string;
  /** "read 0x10000: ok via walk pa 0x80010000", "write 0x10000: fault F_PERMISSION" */
  outcome: string;
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

/** One step of an explored schedule (`run --schedule`): which agent took it, and what it did. */
export interface ScheduleStep {
  /** From 1, in schedule order. */
  index: number;
  agent: string;
  label: string;
  at: number;
}

/** Hears each span as it ends: a trace written while the run goes on, running figures. */
export interface SpanSink {
  op?(s: OpSpan): void;
  step?(s: ScheduleStep): void;
  command?(s: CmdSpan): void;
  atcInv?(s: AtcSpan): void;
  dma?(s: DmaSpan): void;
  wait?(s: WaitSpan): void;
  invalidation?(s: InvalidationSpan): void;
}

type Counts = { commands: number; syncs: number };

/**
 * Records what took simulated time. With `keep` (the default) it holds every
 * span in its arrays, for a caller that looks at them afterwards; without,
 * the arrays stay empty and the spans only go to the sinks added with
 * `listen()`, so a long run holds none of them.
 */
export class Timeline {
  readonly ops: OpSpan[] = [];
  readonly commands: CmdSpan[] = [];
  readonly atcInvs: AtcSpan[] = [];
  readonly dmas: DmaSpan[] = [];
  readonly waits: WaitSpan[] = [];
  readonly invalidations: InvalidationSpan[] = [];
  private readonly open = new Map<number, number>();
  /* per kind, the sinks that want it: a span nobody wants is not even made */
  private readonly opSinks: ((s: OpSpan) => void)[] = [];
  private readonly commandSinks: ((s: CmdSpan) => void)[] = [];
  private readonly atcSinks: ((s: AtcSpan) => void)[] = [];
  private readonly dmaSinks: ((s: DmaSpan) => void)[] = [];
  private readonly waitSinks: ((s: WaitSpan) => void)[] = [];
  private readonly invalidationSinks: ((s: InvalidationSpan) => void)[] = [];
  private readonly stepSinks: ((s: ScheduleStep) => void)[] = [];
  /** The invalidations running now, per CPU (innermost last): each counts, per SMMU, what its CPU queues. */
  private readonly running = new Map<string, Map<string, Counts>[]>();

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
    options: { keep?: boolean } = {},
  ) {
    if (options.keep ?? true) {
      this.listen({
        op: (s) => this.ops.push(s),
        command: (s) => this.commands.push(s),
        atcInv: (s) => this.atcInvs.push(s),
        dma: (s) => this.dmas.push(s),
        wait: (s) => this.waits.push(s),
        invalidation: (s) => this.invalidations.push(s),
      });
    }
    bus.on("cmd:queued", "timeline", (e) => {
      const open = this.running.get(e.source);
      if (open) for (const perSmmu of open) count(perSmmu, e.smmu, e.cmd.op === "CMD_SYNC");
      for (const sink of this.commandSinks) sink({ smmu: e.smmu, seq: e.seq, cmd: e.cmd, source: e.source, start: e.start, end: e.end });
    });
  }

  /** Hear every span from now on, as it ends. */
  listen(sink: SpanSink): void {
    if (sink.op) this.opSinks.push(sink.op.bind(sink));
    if (sink.command) this.commandSinks.push(sink.command.bind(sink));
    /* ATC invalidations and waits are only listened to once someone wants them */
    if (sink.atcInv && this.atcSinks.push(sink.atcInv.bind(sink)) === 1) {
      this.bus.on("ep:atc-inv-done", "timeline", (e) => {
        for (const atc of this.atcSinks) atc({ device: e.device, sid: e.sid, start: e.start, end: e.end, completed: e.completed });
      });
    }
    if (sink.dma && this.dmaSinks.push(sink.dma.bind(sink)) === 1) {
      this.bus.on("dma:done", "timeline", (e) => {
        const how = e.result === "ok" ? `ok via ${e.via} pa ${hex(e.pa!)}` : e.result === "fault" ? `fault ${e.event}` : "abort";
        const span: DmaSpan = { device: e.device, cpu: this.clock.cpu, start: this.clock.cpuNow, end: this.clock.cpuNow, outcome: `${e.access} ${hex(e.iova)}: ${how}` };
        for (const dma of this.dmaSinks) dma(span);
      });
    }
    if (sink.wait && this.waitSinks.push(sink.wait.bind(sink)) === 1) {
      this.bus.on("cpu:sync-wait", "timeline", (e) => {
        for (const wait of this.waitSinks) wait({ cpu: e.cpu, smmu: e.smmu, start: e.start, end: e.end });
      });
    }
    if (sink.invalidation) this.invalidationSinks.push(sink.invalidation.bind(sink));
    if (sink.step) this.stepSinks.push(sink.step.bind(sink));
  }

  /** A step of an explored schedule was taken (the explorer's replay): only for the sinks that want them. */
  step(index: number, agent: string, label: string): void {
    for (const sink of this.stepSinks) sink({ index, agent, label, at: this.clock.now });
  }

  begin(op: OpRef, at: number): void {
    this.open.set(op.seq, at);
  }

  end(op: OpRef, at: number): void {
    const start = this.open.get(op.seq) ?? at;
    this.open.delete(op.seq);
    for (const sink of this.opSinks) sink({ op, start, end: at });
  }

  /** Run a driver invalidation path, recording how long it took its CPU and what it queued. */
  *invalidation(kind: InvalidationKind, domain: string, arrayEntries: number | null, path: Steps): Steps {
    const cpu = this.clock.cpu;
    const start = this.clock.cpuNow;
    const perSmmu = new Map<string, Counts>();
    let open = this.running.get(cpu);
    if (!open) this.running.set(cpu, (open = []));
    open.push(perSmmu);
    try {
      yield* path;
    } finally {
      open.splice(open.lastIndexOf(perSmmu), 1);
    }
    /* interleaved or not, this code runs in a step of its own CPU */
    const span: InvalidationSpan = { kind, domain, cpu, arrayEntries, perSmmu, start, end: this.clock.cpuNow };
    for (const sink of this.invalidationSinks) sink(span);
  }
}

function count(perSmmu: Map<string, Counts>, smmu: string, sync: boolean): void {
  let n = perSmmu.get(smmu);
  if (!n) perSmmu.set(smmu, (n = { commands: 0, syncs: 0 }));
  n.commands++;
  if (sync) n.syncs++;
}
