/**
 * A run as Chrome trace-event JSON (the "JSON Object Format" Perfetto and
 * chrome://tracing open): a process per scenario, and in it a track per
 * CPU (operations, the invalidations inside them, CMD_SYNC waits), per SMMU
 * command queue (each command from start to end) and per endpoint (each ATC
 * invalidation from request to completion; those in flight together take
 * more lanes of the endpoint). Times are simulated: 1 ns of
 * the model is 1 ns of the trace.
 */
import { formatCmd } from "../model/commands.js";
import type { ScenarioResult } from "../engine/runner.js";
import type { Timeline } from "../engine/timeline.js";
import { driverLabel } from "./human.js";

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

/** Tracks of one process, numbered in the order they are first asked for, CPUs first. */
class Tracks {
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly pid: number,
    private readonly out: TraceEvent[],
  ) {}

  id(name: string): number {
    let tid = this.ids.get(name);
    if (tid === undefined) {
      tid = this.ids.size + 1;
      this.ids.set(name, tid);
      this.out.push({ name: "thread_name", ph: "M", pid: this.pid, tid, args: { name } });
      this.out.push({ name: "thread_sort_index", ph: "M", pid: this.pid, tid, args: { sort_index: tid } });
    }
    return tid;
  }
}


export function traceDocument(runs: readonly TracedRun[], version: string): TraceDocument {
  const events: TraceEvent[] = [];
  runs.forEach(({ result, timeline }, i) => {
    const pid = i + 1;
    events.push({ name: "process_name", ph: "M", pid, tid: 0, args: { name: `${result.name} (${driverLabel(result.driver)})` } });
    events.push({ name: "process_sort_index", ph: "M", pid, tid: 0, args: { sort_index: pid } });
    const tracks = new Tracks(pid, events);
    const span = (track: string, name: string, cat: string, start: number, end: number, args: TraceEvent["args"]): void => {
      events.push({ name, cat, ph: "X", pid, tid: tracks.id(track), ts: us(start), dur: us(end - start), args });
    };
    for (const o of timeline.ops) span(o.op.cpu, o.op.label, "op", o.start, o.end, o.op.at ? { at: o.op.at } : {});
    for (const inv of timeline.invalidations) {
      const queued = [...inv.perSmmu].map(([smmu, n]) => `${smmu}: ${n.commands} commands, ${n.syncs} CMD_SYNC`).join("; ");
      span(inv.cpu, `${inv.kind} ${inv.domain}`, "invalidation", inv.start, inv.end, {
        queued,
        ...(inv.arrayEntries !== null ? { array_entries: inv.arrayEntries } : {}),
      });
    }
    for (const w of timeline.waits) span(w.cpu, `wait CMD_SYNC ${w.smmu}`, "sync", w.start, w.end, {});
    for (const c of timeline.commands) span(`${c.smmu} cmdq`, c.cmd.op, "cmdq", c.start, c.end, { command: formatCmd(c.cmd), seq: c.seq, source: c.source });
    /* ATC invalidations overlap (they are in flight together): each overlapping one goes to the device's next lane */
    const lanes = new Map<string, number[]>();
    for (const a of timeline.atcInvs) {
      const ends = lanes.get(a.device) ?? [];
      lanes.set(a.device, ends);
      let lane = ends.findIndex((end) => end <= a.start);
      if (lane === -1) lane = ends.push(a.end) - 1;
      else ends[lane] = a.end;
      const track = lane === 0 ? `${a.device} ATC` : `${a.device} ATC (${lane + 1})`;
      span(track, `ATC invalidation sid 0x${a.sid.toString(16)}`, "atc", a.start, a.end, { completed: a.completed });
    }
  });
  return { traceEvents: events, displayTimeUnit: "ns", otherData: { tool: "smmu-emu", version } };
}
