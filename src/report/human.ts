/** The run report for people: per scenario pass, fail or skip, each failure at its line with a diff, each skip at the line that needed what the driver lacks. */
import pc from "picocolors";
import { formatDiagnostic, type Diagnostic } from "../core/diagnostics.js";
import { scenarioStatus, type ScenarioResult } from "../engine/runner.js";

type Colors = ReturnType<typeof pc.createColors>;

export function colors(enabled: boolean): Colors {
  return pc.createColors(enabled);
}

function diffLine(c: Colors, line: string): string {
  if (line.startsWith("  - ")) return c.red(line);
  if (line.startsWith("  + ")) return c.green(line);
  return c.dim(line);
}

/** "driver-invs mainline parallel_syncs": the plugin, its variant and the options set. */
export function driverLabel(d: ScenarioResult["driver"]): string {
  const options = Object.entries(d.options ?? {}).map(([k, v]) => (v === true ? k : `${k}=${JSON.stringify(v)}`));
  return [d.plugin, d.variant, ...options].join(" ");
}

const VERDICT = { passed: "PASS", failed: "FAIL", skipped: "SKIP" } as const;

function verdict(c: Colors, r: ScenarioResult): string {
  const status = scenarioStatus(r);
  const paint = status === "passed" ? c.green : status === "failed" ? c.red : c.yellow;
  return paint(VERDICT[status]);
}

export function formatScenario(c: Colors, r: ScenarioResult): string {
  const head = `${verdict(c, r)} ${r.name} ${c.dim(`(${driverLabel(r.driver)})`)}`;
  const lines = [head];
  if (r.skipped) {
    lines.push(`  ${r.skipped.span.file}:${r.skipped.span.line}:${r.skipped.span.column}: ${r.skipped.reason}`);
    const after = r.failures.length - 1;
    /* listed in --json; not judged: the platform is not the one the scenario meant */
    if (after > 0) lines.push(c.dim(`  (${after} more failure${after === 1 ? "" : "s"} after it, not judged)`));
  }
  for (const f of r.skipped ? [] : r.failures) {
    lines.push(`  ${f.span.file}:${f.span.line}:${f.span.column}: ${f.message}${f.count ? ` (${f.count} times)` : ""}`);
    for (const d of f.detail ?? []) lines.push(`    ${diffLine(c, d)}`);
    if (f.others) lines.push(c.dim(`    (and ${f.others} other failure${f.others === 1 ? "" : "s"} of this statement, not listed)`));
  }
  for (const sh of r.shows ?? []) {
    lines.push(`  ${sh.span.file}:${sh.span.line}:${sh.span.column}: ${c.bold(sh.what)}`);
    for (const l of sh.lines) lines.push(`    ${l}`);
  }
  for (const w of r.warnings) lines.push(c.yellow(`  ${w}`));
  return lines.join("\n");
}

/** How many scenarios passed, failed and were skipped. */
export function tally(results: readonly ScenarioResult[]): { passed: number; failed: number; skipped: number } {
  const t = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results) t[scenarioStatus(r)]++;
  return t;
}

/** "N scenarios: P passed, F failed" and ", K skipped" when some were. */
export function formatSummary(c: Colors, results: readonly ScenarioResult[]): string {
  const { passed, failed, skipped } = tally(results);
  const text = `${results.length} scenario${results.length === 1 ? "" : "s"}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`;
  return failed ? c.red(text) : skipped ? c.yellow(text) : c.green(text);
}

export function formatDiagnostics(c: Colors, ds: readonly Diagnostic[]): string {
  return ds.map((d) => (d.severity === "error" ? c.red(formatDiagnostic(d)) : c.yellow(formatDiagnostic(d)))).join("\n");
}
