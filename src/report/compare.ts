/**
 * `smmu-emu compare`: one table per file, a column per driver
 * configuration, a block of rows per scenario; then why each failing cell
 * failed. --json gives the same figures as data.
 */
import { formatDiagnostic } from "../core/diagnostics.js";
import type { CompareCell, Comparison } from "../engine/compare.js";
import type { ScenarioResult } from "../engine/runner.js";
import type { colors } from "./human.js";
import { diagnosticJson, REPORT_FORMAT_VERSION, scenarioJson, type JsonDiagnostic, type JsonScenario } from "./json.js";
import { statsText } from "./metrics.js";

type Colors = ReturnType<typeof colors>;


function sum(r: ScenarioResult, key: "commands" | "syncs"): number {
  return Object.values(r.commands).reduce((n, c) => n + c[key], 0);
}

/** The rows of a scenario's block: a label and what a result shows for it. */
const ROWS: ReadonlyArray<[string, (r: ScenarioResult) => string]> = [
  ["commands (CMD_SYNCs)", (r) => `${sum(r, "commands")} (${sum(r, "syncs")})`],
  ["invalidations", (r) => String(r.metrics.invalidations.length)],
  ["  commands", (r) => statsText(r.metrics.commandsPerInvalidation)],
  ["  CMD_SYNCs", (r) => statsText(r.metrics.syncsPerInvalidation)],
  ["  latency", (r) => statsText(r.metrics.latency)],
  ["  total time", (r) => String(r.metrics.invalidations.reduce((n, i) => n + i.latency, 0))],
  ["  array entries", (r) => statsText(r.metrics.arrayEntries)],
];

const LEGEND =
  "commands: what the SMMUs received in the whole scenario; per invalidation (an iotlb_sync, a flush, an mm notifier call):\n" +
  "one value, or min / median / max; times in simulated ns (cmd_ns, sync_ns, atc_inv_ns); n/a: the driver lacks what the scenario needs";

/**
 * PASS, FAIL, ERROR (bad input), or "n/a: -EINVAL" when the scenario's
 * first failure is a statement needing what this driver or variant lacks.
 */
function verdict(cell: CompareCell): string {
  if ("error" in cell) return "ERROR";
  if (cell.result.passed) return "PASS";
  return cell.result.skipped ? `n/a: ${cell.result.skipped.lacks}` : "FAIL";
}

export function formatComparison(c: Colors, file: string, cmp: Comparison): string {
  const head = ["", ...cmp.configs.map((k) => k.label)];
  const body: string[][] = [];
  for (const row of cmp.rows) {
    body.push([row.scenario, ...row.cells.map(verdict)]);
    for (const [label, show] of ROWS) body.push([`  ${label}`, ...row.cells.map((cell) => ("result" in cell ? show(cell.result) : "-"))]);
  }
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => r[i]!.length)));
  const line = (cells: string[], paint: (text: string, i: number) => string = (t) => t): string =>
    cells
      .map((t, i) => paint(i === 0 ? t.padEnd(widths[i]!) : t.padStart(widths[i]!), i))
      .join("  ")
      .trimEnd();
  const colour = (t: string): string =>
    t.trim() === "PASS" ? c.green(t) : t.trim() === "FAIL" || t.trim() === "ERROR" ? c.red(t) : t.trim().startsWith("n/a") ? c.dim(t) : t;
  const out = [c.bold(`${file}: ${cmp.rows.length} scenario${cmp.rows.length === 1 ? "" : "s"} under ${cmp.configs.length} drivers (simulated time)`), "", line(head, (t) => c.bold(t))];
  for (const r of body) out.push(line(r, (t, i) => (i === 0 ? t : colour(t))));
  out.push("", c.dim(LEGEND));
  const why: string[] = [];
  for (const row of cmp.rows) {
    row.cells.forEach((cell, i) => {
      const label = cmp.configs[i]!.label;
      if ("error" in cell) why.push(`  ${label}, "${row.scenario}": ${formatDiagnostic(cell.error[0]!)}`);
      else if (cell.result.skipped) {
        const { span, reason } = cell.result.skipped;
        why.push(`  ${label}, "${row.scenario}": ${span.file}:${span.line}:${span.column}: ${reason}`);
      } else if (!cell.result.passed) {
        const f = cell.result.failures[0]!;
        why.push(`  ${label}, "${row.scenario}": ${f.span.file}:${f.span.line}:${f.span.column}: ${f.message}`);
      }
    });
  }
  if (why.length) out.push("", "first failure of each failing or n/a cell:", ...why);
  return out.join("\n");
}

/** #/$defs/result of schemas/compare.schema.json: a scenario's result under one configuration, or why it could not run. */
type JsonCompareResult = { config: string; scenario: JsonScenario } | { config: string; diagnostics: JsonDiagnostic[] };

/** The comparison as data (schemas/compare.schema.json): each scenario under each configuration, as `run --json` reports it. */
export function comparisonJson(file: string, cmp: Comparison, version: string): Record<string, unknown> {
  return {
    formatVersion: REPORT_FORMAT_VERSION,
    tool: "smmu-emu",
    version,
    file,
    configs: cmp.configs.map((k) => ({ label: k.label, driver: k.driver })),
    scenarios: cmp.rows.map((row) => ({
      name: row.scenario,
      results: row.cells.map((cell, i): JsonCompareResult => {
        const config = cmp.configs[i]!.label;
        return "error" in cell ? { config, diagnostics: cell.error.map(diagnosticJson) } : { config, scenario: scenarioJson(cell.result) };
      }),
    })),
  };
}
