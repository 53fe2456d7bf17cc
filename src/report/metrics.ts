/** `run --metrics`: after each scenario, what its invalidations took and queued, in simulated ns. */
import type { InvalidationMetric, Stats } from "../engine/metrics.js";
import type { ScenarioResult } from "../engine/runner.js";
import type { colors } from "./human.js";

type Colors = ReturnType<typeof colors>;

/** "min / median / max", or the one value when they are all the same; "-" for none. */
export function statsText(s: Stats | null): string {
  if (!s) return "-";
  return s.min === s.max ? String(s.min) : `${s.min} / ${s.median} / ${s.max}`;
}

/** The lines before the invalidations': the scenario's figures, over its `n` invalidations. */
export function metricsHeader(r: ScenarioResult, n = r.metrics.invalidations.length): string[] {
  const m = r.metrics;
  return [
    `  simulated time ${m.elapsed} ns; ${n} invalidation${n === 1 ? "" : "s"} (one value, or min / median / max):`,
    `    latency ns ${statsText(m.latency)}; commands ${statsText(m.commandsPerInvalidation)}; CMD_SYNCs ${statsText(m.syncsPerInvalidation)}; array entries ${statsText(m.arrayEntries)}`,
    `  commands (CMD_SYNCs) per SMMU: ${Object.entries(r.commands)
      .map(([smmu, n]) => `${smmu} ${n.commands} (${n.syncs})`)
      .join(", ")}`,
  ];
}

/** The lines after the invalidations': each cache's lookups and invalidated entries, each SMMU's table walks. */
export function cacheLines(r: ScenarioResult): string[] {
  const m = r.metrics;
  return [
    ...Object.entries(m.caches).map(([cache, f]) => `  ${cache}: hits ${f.hits}, misses ${f.misses}, entries invalidated ${f.invalidated}`),
    ...Object.entries(m.walks).map(([smmu, w]) => `  ${smmu} table walks: ${w.walks}, table entries read ${w.reads}, faulted ${w.faults}`),
  ];
}

/** One invalidation's line. */
export function invalidationLine(inv: InvalidationMetric): string {
  const queued = Object.entries(inv.perSmmu)
    .map(([smmu, n]) => `${smmu} ${n.commands} (${n.syncs})`)
    .join(", ");
  return `    ${inv.kind} ${inv.domain} on ${inv.cpu} at ${inv.start}: ${inv.latency} ns, ${queued || "nothing queued"}`;
}

export function formatMetrics(c: Colors, r: ScenarioResult): string {
  return c.dim([...metricsHeader(r), ...r.metrics.invalidations.map(invalidationLine), ...cacheLines(r)].join("\n"));
}
