/**
 * A run as Chrome trace-event JSON (the "JSON Object Format" Perfetto and
 * chrome://tracing open): a process per scenario, and in it a track per
 * CPU (operations, the invalidations inside them, CMD_SYNC waits), per SMMU
 * command queue (each command from start to end) and per endpoint (each ATC
 * invalidation from request to completion; those in flight together take
 * more lanes of the endpoint) and per device issuing DMAs (each transaction,
 * at the time its CPU issued it, with how it ended and that CPU); for a
 * replayed schedule (`run --schedule`),
 * a track per agent with each step it took. Times are simulated: 1 ns of
 * the model is 1 ns of the trace.
 *
 * The document is written as the run goes (TraceWriter): each scenario's
 * spans, grouped by kind, wait in spools until it ends, then join the
 * document's events, so a trace is bounded by the disk, not the heap.
 */
import { formatCmd } from "../model/commands.js";
import type { ScenarioResult } from "../engine/runner.js";
import type { AtcSpan, CmdSpan, DmaSpan, InvalidationSpan, OpSpan, ScheduleStep, SpanSink, Timeline, WaitSpan } from "../engine/timeline.js";
import { driverLabel } from "./human.js";
import { Spool } from "./spool.js";
import { hex } from "../model/hex.js";

export interface TraceEvent {
  name: string;
  ph: "X" | "M";
  pid: number;
  tid: number;
  /** microseconds */
  ts?: number;
  dur?: number;
  cat?: string;
  args?: Record<string, string | number | boolean>;
}

export interface TraceDocument {
  traceEvents: TraceEvent[];
  displayTimeUnit: "ns";
  otherData: Record<string, string>;
}

/** One scenario's run: what the trace shows. */
export interface TracedRun {
  result: ScenarioResult;
  timeline: Timeline;
}

const us = (ns: number): number => ns / 1000;

/** The kinds of span, in the order a scenario's events list them. */
const KINDS = ["op", "invalidation", "wait", "command", "atc", "step", "dma"] as const;
type Kind = (typeof KINDS)[number];

const str = (s: string): string => JSON.stringify(s);

/** One scenario's run, recorded as its spans end. */
class ScenarioTrace implements Required<SpanSink> {
  private readonly spools = new Map<Kind, Spool>(KINDS.map((k) => [k, new Spool()]));
  /** Per device, when each lane of its ATC track is free again. */
  private readonly lanes = new Map<string, number[]>();

  constructor(private readonly pid: number) {}

  /**
   * One span as a record of its kind's spool: its track's name, and its
   * event's JSON (as JSON.stringify writes the event: name, cat, ph, pid,
   * tid, ts, dur, args) before and after the tid, given once every track of
   * the scenario is numbered; tab-separated (JSON text never holds a raw tab
   * or newline). `args` is JSON already.
   */
  private add(kind: Kind, track: string, name: string, cat: string, start: number, end: number, args: string): void {
    this.spools
      .get(kind)!
      .write(`${str(track)}\t{"name":${str(name)},"cat":"${cat}","ph":"X","pid":${this.pid},"tid":\t,"ts":${us(start)},"dur":${us(end - start)},"args":${args}}\n`);
  }

  op(o: OpSpan): void {
    this.add("op", o.op.cpu, o.op.label, "op", o.start, o.end, o.op.at ? `{"at":${str(o.op.at)}}` : "{}");
  }

  invalidation(inv: InvalidationSpan): void {
    const queued = [...inv.perSmmu].map(([smmu, n]) => `${smmu}: ${n.commands} commands, ${n.syncs} CMD_SYNC`).join("; ");
    const entries = inv.arrayEntries !== null ? `,"array_entries":${inv.arrayEntries}` : "";
    this.add("invalidation", inv.cpu, `${inv.kind} ${inv.domain}`, "invalidation", inv.start, inv.end, `{"queued":${str(queued)}${entries}}`);
  }

  wait(w: WaitSpan): void {
    this.add("wait", w.cpu, `wait CMD_SYNC ${w.smmu}`, "sync", w.start, w.end, "{}");
  }

  command(c: CmdSpan): void {
    this.add("command", `${c.smmu} cmdq`, c.cmd.op, "cmdq", c.start, c.end, `{"command":${str(formatCmd(c.cmd))},"seq":${c.seq},"source":${str(c.source)}}`);
  }

  /* ATC invalidations overlap (they are in flight together): each overlapping one goes to the device's next lane */
  atcInv(a: AtcSpan): void {
    const ends = this.lanes.get(a.device) ?? [];
    this.lanes.set(a.device, ends);
    let lane = ends.findIndex((end) => end <= a.start);
    if (lane === -1) lane = ends.push(a.end) - 1;
    else ends[lane] = a.end;
    const track = lane === 0 ? `${a.device} ATC` : `${a.device} ATC (${lane + 1})`;
    this.add("atc", track, `ATC invalidation sid ${hex(a.sid)}`, "atc", a.start, a.end, `{"completed":${a.completed}}`);
  }

  /* a replayed schedule's steps: each on its agent's own track, in the order taken (a CPU's beside its operations) */
  step(st: ScheduleStep): void {
    this.add("step", `${st.agent} steps`, st.label, "schedule", st.at, st.at, `{"step":${st.index}}`);
  }

  /* each DMA's transaction on its device's track, with how it ended and the CPU that issued it */
  dma(d: DmaSpan): void {
    this.add("dma", `${d.device} DMA`, d.outcome, "dma", d.start, d.end, `{"cpu":${str(d.cpu)}}`);
  }

  /** The scenario's events, in order: its process, then each kind of span with its tracks numbered as first met, CPUs first. */
  *events(result: ScenarioResult): Generator<string> {
    const pid = this.pid;
    yield JSON.stringify({ name: "process_name", ph: "M", pid, tid: 0, args: { name: `${result.name} (${driverLabel(result.driver)})` } });
    yield JSON.stringify({ name: "process_sort_index", ph: "M", pid, tid: 0, args: { sort_index: pid } });
    const tids = new Map<string, number>();
    for (const kind of KINDS) {
      for (const line of this.spools.get(kind)!.split()) {
        const [track, head, tail] = line.split("\t") as [string, string, string];
        let tid = tids.get(track);
        if (tid === undefined) {
          tids.set(track, (tid = tids.size + 1));
          const name = JSON.parse(track) as string;
          yield JSON.stringify({ name: "thread_name", ph: "M", pid, tid, args: { name } });
          yield JSON.stringify({ name: "thread_sort_index", ph: "M", pid, tid, args: { sort_index: tid } });
        }
        yield `${head}${tid}${tail}`;
      }
    }
  }

  dispose(): void {
    for (const spool of this.spools.values()) spool.dispose();
  }
}

/**
 * A trace written as the run goes: `scenario()` before each scenario runs
 * gives what hears its spans, `ended()` with its result adds its events;
 * `chunks()` is the document, as `JSON.stringify(traceDocument(...))` prints it, and a newline.
 */
export class TraceWriter {
  private readonly events = new Spool();
  private current: ScenarioTrace | null = null;
  private runs = 0;

  constructor(private readonly version: string) {}

  /** What hears the spans of the scenario about to run. */
  scenario(): SpanSink {
    this.current?.dispose();
    return (this.current = new ScenarioTrace(this.runs + 1));
  }

  /** The scenario scenario() was last called for has ended with `result`. */
  ended(result: ScenarioResult): void {
    const run = this.current;
    if (!run) return;
    this.current = null;
    this.runs++;
    for (const event of run.events(result)) this.events.write(this.events.empty ? event : `,${event}`);
  }

  *chunks(): Generator<string> {
    yield '{"traceEvents":[';
    yield* this.events.drain();
    yield `],"displayTimeUnit":"ns","otherData":${JSON.stringify({ tool: "smmu-emu", version: this.version })}}\n`;
  }

  dispose(): void {
    this.current?.dispose();
    this.events.dispose();
  }
}

/** The trace of runs whose timelines kept every span, as one document. */
export function traceDocument(runs: readonly TracedRun[], version: string): TraceDocument {
  const writer = new TraceWriter(version);
  for (const { result, timeline } of runs) {
    const sink = writer.scenario() as Required<SpanSink>;
    timeline.ops.forEach((s) => sink.op(s));
    timeline.invalidations.forEach((s) => sink.invalidation(s));
    timeline.waits.forEach((s) => sink.wait(s));
    timeline.commands.forEach((s) => sink.command(s));
    timeline.atcInvs.forEach((s) => sink.atcInv(s));
    timeline.dmas.forEach((s) => sink.dma(s));
    writer.ended(result);
  }
  return JSON.parse([...writer.chunks()].join("")) as TraceDocument;
}
