/**
 * A scenario's figures, from its timeline: how long each invalidation kept
 * its CPU (from the driver's entry to its last CMD_SYNC completing), what it
 * queued on each SMMU, and how big the domain's invalidation array was.
 */
import type { InvalidationKind, Timeline } from "./timeline.js";

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

export function stats(values: readonly number[]): Stats | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[(sorted.length - 1) >> 1]!, max: sorted[sorted.length - 1]! };
}

export function scenarioMetrics(timeline: Timeline, smmuOrder: readonly string[], elapsed: number): ScenarioMetrics {
  const invalidations = timeline.invalidations.map((inv): InvalidationMetric => {
    const perSmmu: InvalidationMetric["perSmmu"] = {};
    for (const smmu of smmuOrder) {
      const n = inv.perSmmu.get(smmu);
      if (n) perSmmu[smmu] = { ...n };
    }
    return { kind: inv.kind, domain: inv.domain, cpu: inv.cpu, start: inv.start, latency: inv.end - inv.start, arrayEntries: inv.arrayEntries, perSmmu };
  });
  const total = (inv: InvalidationMetric, key: "commands" | "syncs"): number => Object.values(inv.perSmmu).reduce((n, c) => n + c[key], 0);
  return {
    elapsed,
    invalidations,
    latency: stats(invalidations.map((i) => i.latency)),
    commandsPerInvalidation: stats(invalidations.map((i) => total(i, "commands"))),
    syncsPerInvalidation: stats(invalidations.map((i) => total(i, "syncs"))),
    arrayEntries: stats(invalidations.flatMap((i) => (i.arrayEntries === null ? [] : [i.arrayEntries]))),
  };
}
