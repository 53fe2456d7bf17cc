/**
 * A scenario's figures, from its timeline: how long each invalidation kept
 * its CPU (from the driver's entry to its last CMD_SYNC completing), what it
 * queued on each SMMU, and how big the domain's invalidation array was;
 * recorded as the invalidations end, so that a long run need not keep them.
 */
import type { InvalidationKind, InvalidationSpan, SpanSink, Timeline } from "./timeline.js";

export interface Stats {
  min: number;
  /** The middle value; the lower of the two middle ones for an even count. */
  median: number;
  max: number;
}

export interface InvalidationMetric {
  kind: InvalidationKind;
  domain: string;
  cpu: string;
  /** Simulated ns when it started, and how long it took. */
  start: number;
  latency: number;
  /** Entries of the domain's invalidation array; null for a driver without one. */
  arrayEntries: number | null;
  /** What it queued, per SMMU it reached (in topology order). */
  perSmmu: Record<string, { commands: number; syncs: number }>;
}

export interface ScenarioMetrics {
  /** Simulated ns from the scenario's start to the end of its last operation. */
  elapsed: number;
  invalidations: InvalidationMetric[];
  /** Over the invalidations; null when there were none. */
  latency: Stats | null;
  commandsPerInvalidation: Stats | null;
  syncsPerInvalidation: Stats | null;
  /** Over the invalidations of drivers with an array; null otherwise. */
  arrayEntries: Stats | null;
}

/** Values as counts of each value: exact min, median and max in memory that grows with the distinct values, not the values. */
class Distribution {
  private readonly counts = new Map<number, number>();
  private n = 0;

  add(v: number): void {
    this.counts.set(v, (this.counts.get(v) ?? 0) + 1);
    this.n++;
  }

  stats(): Stats | null {
    if (this.n === 0) return null;
    const values = [...this.counts.keys()].sort((a, b) => a - b);
    const middle = (this.n - 1) >> 1;
    let seen = 0;
    let median = values[0]!;
    for (const v of values) {
      seen += this.counts.get(v)!;
      if (seen > middle) {
        median = v;
        break;
      }
    }
    return { min: values[0]!, median, max: values[values.length - 1]! };
  }
}

export interface MetricsOptions {
  /** Keep every invalidation's figures for the result (true by default). */
  keep?: boolean;
  /** Hears each invalidation's figures as it ends. */
  onInvalidation?: (m: InvalidationMetric) => void;
}

/** A scenario's figures, kept up to date as its invalidations end. */
export class MetricsRecorder implements SpanSink {
  private readonly kept: InvalidationMetric[] = [];
  private readonly latency = new Distribution();
  private readonly commands = new Distribution();
  private readonly syncs = new Distribution();
  private readonly entries = new Distribution();
  private readonly position: ReadonlyMap<string, number>;

  constructor(
    smmuOrder: readonly string[],
    private readonly options: MetricsOptions = {},
  ) {
    this.position = new Map(smmuOrder.map((smmu, i) => [smmu, i]));
  }

  invalidation(inv: InvalidationSpan): void {
    let commands = 0;
    let syncs = 0;
    for (const [smmu, n] of inv.perSmmu) {
      if (!this.position.has(smmu)) continue;
      commands += n.commands;
      syncs += n.syncs;
    }
    this.latency.add(inv.end - inv.start);
    this.commands.add(commands);
    this.syncs.add(syncs);
    if (inv.arrayEntries !== null) this.entries.add(inv.arrayEntries);
    /* the figures of each invalidation are made only for whoever wants them */
    const keep = this.options.keep ?? true;
    if (!keep && !this.options.onInvalidation) return;
    const m = this.metric(inv);
    if (keep) this.kept.push(m);
    this.options.onInvalidation?.(m);
  }

  private metric(inv: InvalidationSpan): InvalidationMetric {
    const reached = [...inv.perSmmu].filter(([smmu]) => this.position.has(smmu));
    if (reached.length > 1) reached.sort(([a], [b]) => this.position.get(a)! - this.position.get(b)!);
    /* fromEntries defines each key as its own property: an SMMU may be called "__proto__" */
    const perSmmu: InvalidationMetric["perSmmu"] = Object.fromEntries(reached.map(([smmu, n]) => [smmu, { commands: n.commands, syncs: n.syncs }]));
    return { kind: inv.kind, domain: inv.domain, cpu: inv.cpu, start: inv.start, latency: inv.end - inv.start, arrayEntries: inv.arrayEntries, perSmmu };
  }


  /** The figures so far; `elapsed` is the scenario's simulated time. */
  metrics(elapsed: number): ScenarioMetrics {
    return {
      elapsed,
      invalidations: this.kept,
      latency: this.latency.stats(),
      commandsPerInvalidation: this.commands.stats(),
      syncsPerInvalidation: this.syncs.stats(),
      arrayEntries: this.entries.stats(),
    };
  }
}

/** The figures of the invalidations a timeline holds. */
export function scenarioMetrics(timeline: Timeline, smmuOrder: readonly string[], elapsed: number): ScenarioMetrics {
  const recorder = new MetricsRecorder(smmuOrder);
  for (const inv of timeline.invalidations) recorder.invalidation(inv);
  return recorder.metrics(elapsed);
}
