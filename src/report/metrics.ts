/** `run --metrics`: after each scenario, what its invalidations took and queued, in simulated ns. */
import type { Stats } from "../engine/metrics.js";
import type { ScenarioResult } from "../engine/runner.js";
import type { colors } from "./human.js";

type Colors = ReturnType<typeof colors>;

/** "min / median / max", or the one value when they are all the same; "-" for none. */
export function statsText(s: Stats | null): string {
  if (!s) return "-";
  return s.min === s.max ? String(s.min) : `${s.min} / ${s.median} / ${s.max}`;
}

export function formatMetrics(c: Colors, r: ScenarioResult): string {
  const m = r.metrics;
  const lines = [
    `  simulated time ${m.elapsed} ns; ${m.invalidations.length} invalidation${m.invalidations.length === 1 ? "" : "s"} (one value, or min / median / max):`,
    `    latency ns ${statsText(m.latency)}; commands ${statsText(m.commandsPerInvalidation)}; CMD_SYNCs ${statsText(m.syncsPerInvalidation)}; array entries ${statsText(m.arrayEntries)}`,
    `  commands (CMD_SYNCs) per SMMU: ${Object.entries(r.commands)
      .map(([smmu, n]) => `${smmu} ${n.commands} (${n.syncs})`)
      .join(", ")}`,
  ];
  for (const inv of m.invalidations) {
    const queued = Object.entries(inv.perSmmu)
      .map(([smmu, n]) => `${smmu} ${n.commands} (${n.syncs})`)
      .join(", ");
    lines.push(`    ${inv.kind} ${inv.domain} on ${inv.cpu} at ${inv.start}: ${inv.latency} ns, ${queued || "nothing queued"}`);
  }
  return c.dim(lines.join("\n"));
}
