/** The run report for people: per scenario pass or fail, each failure at its line with a diff. */
import pc from "picocolors";
import { formatDiagnostic, type Diagnostic } from "../core/diagnostics.js";
import type { ScenarioResult } from "../engine/runner.js";

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

export function formatScenario(c: Colors, r: ScenarioResult): string {
  const head = `${r.passed ? c.green("PASS") : c.red("FAIL")} ${r.name} ${c.dim(`(${driverLabel(r.driver)})`)}`;
  const lines = [head];
  for (const f of r.failures) {
    lines.push(`  ${f.span.file}:${f.span.line}:${f.span.column}: ${f.message}`);
    for (const d of f.detail ?? []) lines.push(`    ${diffLine(c, d)}`);
  }
  for (const w of r.warnings) lines.push(c.yellow(`  ${w}`));
  return lines.join("\n");
}

export function formatSummary(c: Colors, results: readonly ScenarioResult[]): string {
  const failed = results.filter((r) => !r.passed).length;
  const passed = results.length - failed;
  const text = `${results.length} scenario${results.length === 1 ? "" : "s"}: ${passed} passed, ${failed} failed`;
  return failed ? c.red(text) : c.green(text);
}

export function formatDiagnostics(c: Colors, ds: readonly Diagnostic[]): string {
  return ds.map((d) => (d.severity === "error" ? c.red(formatDiagnostic(d)) : c.yellow(formatDiagnostic(d)))).join("\n");
}
