/**
 * The machine-readable report (`--json`): one document, described by
 * schemas/report.schema.json, with every position as file/line/column. The
 * types below are that schema in TypeScript: a field added to one is added to
 * the other (test/cli/cli.test.ts validates what jsonReport() returns).
 */
import type { Diagnostic, Severity } from "../core/diagnostics.js";
import type { OpRef, Violation, ViolationKind } from "../engine/oracle.js";
import type { ScenarioMetrics } from "../engine/metrics.js";
import { scenarioStatus, type ScenarioResult, type ScenarioStatus } from "../engine/runner.js";
import type { JsonValue } from "../model/topology.js";
import type { CheckedInput } from "./checked.js";

export const REPORT_FORMAT_VERSION = 1;

export interface FileReport {
  file: string;
  scenarios: ScenarioResult[];
}

/** #/$defs/opRef */
export interface JsonOpRef {
  seq: number;
  label: string;
  at?: string;
  cpu: string;
}

/** #/$defs/violation */
export interface JsonViolation {
  kind: ViolationKind;
  message: string;
  device?: string;
  /** lower-case hexadecimal, "0x..." */
  iova?: string;
  cache?: string;
  op?: JsonOpRef;
  during?: JsonOpRef;
}

/** #/$defs/failure */
export interface JsonFailure {
  file: string;
  line: number;
  column: number;
  message: string;
  detail?: string[];
  lacks?: string;
}

/** #/$defs/scenario */
export interface JsonScenario {
  name: string;
  status: ScenarioStatus;
  passed: boolean;
  /** #/$defs/skip: only when skipped */
  skipped?: { file: string; line: number; column: number; reason: string; lacks: string };
  driver: { plugin: string; variant: string; options?: Record<string, JsonValue> };
  file: string;
  line: number;
  column: number;
  failures: JsonFailure[];
  violations: JsonViolation[];
  warnings: string[];
  commands: Record<string, { commands: number; syncs: number }>;
  /** #/$defs/metrics */
  metrics: ScenarioMetrics;
}

/** #/$defs/file */
export interface JsonFile {
  file: string;
  scenarios: JsonScenario[];
}

/** #/$defs/diagnostic */
export interface JsonDiagnostic {
  file: string;
  line: number;
  column: number;
  endLine?: number;
  endColumn?: number;
  severity: Severity;
  code: string;
  message: string;
  hint?: string;
  count?: number;
}

/** #/properties/summary */
export interface JsonSummary {
  scenarios: number;
  passed: number;
  failed: number;
  skipped: number;
  rejected: number;
}

/** The whole document. */
export interface JsonReport {
  formatVersion: typeof REPORT_FORMAT_VERSION;
  tool: "smmu-emu";
  version: string;
  files: JsonFile[];
  diagnostics: JsonDiagnostic[];
  summary: JsonSummary;
  /** check and validate, when the input is good: what was checked */
  checked?: CheckedInput;
}

export interface ReportExtras {
  /** Input files rejected for bad input (not run, or not checked ok). */
  rejected?: number;
  checked?: CheckedInput;
}

function opRef(r: OpRef): JsonOpRef {
  return { seq: r.seq, label: r.label, ...(r.at ? { at: r.at } : {}), cpu: r.cpu };
}

function violation(v: Violation): JsonViolation {
  return {
    kind: v.kind,
    message: v.message,
    ...(v.device !== undefined ? { device: v.device } : {}),
    ...(v.iova !== undefined ? { iova: `0x${v.iova.toString(16)}` } : {}),
    ...(v.cache ? { cache: v.cache } : {}),
    ...(v.op ? { op: opRef(v.op) } : {}),
    ...(v.during ? { during: opRef(v.during) } : {}),
  };
}

export function scenarioJson(r: ScenarioResult): JsonScenario {
  const skip = r.skipped;
  return {
    name: r.name,
    status: scenarioStatus(r),
    passed: r.passed,
    ...(skip ? { skipped: { file: skip.span.file, line: skip.span.line, column: skip.span.column, reason: skip.reason, lacks: skip.lacks } } : {}),
    driver: { plugin: r.driver.plugin, variant: r.driver.variant, ...(r.driver.options ? { options: r.driver.options } : {}) },
    file: r.span.file,
    line: r.span.line,
    column: r.span.column,
    failures: r.failures.map((f) => ({
      file: f.span.file,
      line: f.span.line,
      column: f.span.column,
      message: f.message,
      ...(f.detail ? { detail: f.detail } : {}),
      ...(f.lacks ? { lacks: f.lacks } : {}),
    })),
    violations: r.violations.map(violation),
    warnings: r.warnings,
    commands: r.commands,
    metrics: r.metrics,
  };
}

export function diagnosticJson(d: Diagnostic): JsonDiagnostic {
  return {
    file: d.file,
    line: d.line,
    column: d.column,
    ...(d.endLine !== undefined ? { endLine: d.endLine } : {}),
    ...(d.endColumn !== undefined ? { endColumn: d.endColumn } : {}),
    severity: d.severity,
    code: d.code,
    message: d.message,
    ...(d.hint !== undefined ? { hint: d.hint } : {}),
    ...(d.count !== undefined ? { count: d.count } : {}),
  };
}

export function jsonReport(files: readonly FileReport[], diagnostics: readonly Diagnostic[], version: string, extras: ReportExtras = {}): JsonReport {
  const all = files.flatMap((f) => f.scenarios);
  const count = (status: ScenarioStatus): number => all.filter((r) => scenarioStatus(r) === status).length;
  return {
    formatVersion: REPORT_FORMAT_VERSION,
    tool: "smmu-emu",
    version,
    files: files.map((f) => ({ file: f.file, scenarios: f.scenarios.map(scenarioJson) })),
    diagnostics: diagnostics.map(diagnosticJson),
    summary: { scenarios: all.length, passed: count("passed"), failed: count("failed"), skipped: count("skipped"), rejected: extras.rejected ?? 0 },
    ...(extras.checked ? { checked: extras.checked } : {}),
  };
}
