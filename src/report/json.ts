/**
 * The machine-readable report (`--json`): one document, described by
 * schemas/report.schema.json, with every position as file/line/column.
 */
import type { Diagnostic } from "../core/diagnostics.js";
import type { Violation } from "../engine/oracle.js";
import type { ScenarioResult } from "../engine/runner.js";

export const REPORT_FORMAT_VERSION = 1;

export interface FileReport {
  file: string;
  scenarios: ScenarioResult[];
}

function violation(v: Violation): Record<string, unknown> {
  return {
    kind: v.kind,
    message: v.message,
    ...(v.device !== undefined ? { device: v.device } : {}),
    ...(v.iova !== undefined ? { iova: `0x${v.iova.toString(16)}` } : {}),
    ...(v.cache ? { cache: v.cache } : {}),
    ...(v.op ? { op: { label: v.op.label, ...(v.op.at ? { at: v.op.at } : {}) } } : {}),
  };
}

function scenario(r: ScenarioResult): Record<string, unknown> {
  return {
    name: r.name,
    passed: r.passed,
    driver: r.driver,
    file: r.span.file,
    line: r.span.line,
    column: r.span.column,
    failures: r.failures.map((f) => ({
      file: f.span.file,
      line: f.span.line,
      column: f.span.column,
      message: f.message,
      ...(f.detail ? { detail: f.detail } : {}),
    })),
    violations: r.violations.map(violation),
    warnings: r.warnings,
    commands: r.commands,
  };
}

export function jsonReport(files: readonly FileReport[], diagnostics: readonly Diagnostic[], version: string): Record<string, unknown> {
  const all = files.flatMap((f) => f.scenarios);
  const failed = all.filter((r) => !r.passed).length;
  return {
    formatVersion: REPORT_FORMAT_VERSION,
    tool: "smmu-emu",
    version,
    files: files.map((f) => ({ file: f.file, scenarios: f.scenarios.map(scenario) })),
    diagnostics: diagnostics.map((d) => ({ ...d })),
    summary: { scenarios: all.length, passed: all.length - failed, failed },
  };
}
