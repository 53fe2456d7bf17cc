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
import { hex } from "../model/hex.js";

export const REPORT_FORMAT_VERSION = 1;

export interface FileReport {
  file: string;
  scenarios: ScenarioResult[];
}

/** #/$defs/opRef */
interface JsonOpRef {
  seq: number;
  label: string;
  at?: string;
  cpu: string;
}

/** #/$defs/violation */
interface JsonViolation {
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
interface JsonFailure {
  file: string;
  line: number;
  column: number;
  message: string;
  detail?: string[];
  lacks?: string;
  count?: number;
  others?: number;
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
  /** only when the scenario has `show` statements */
  shows?: { file: string; line: number; column: number; what: string; lines: string[] }[];
  commands: Record<string, { commands: number; syncs: number }>;
  /** #/$defs/metrics */
  metrics: ScenarioResult["metrics"];
}

/** #/$defs/file */
interface JsonFile {
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
interface JsonSummary {
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
    ...(v.iova !== undefined ? { iova: hex(v.iova) } : {}),
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
      ...(f.count ? { count: f.count } : {}),
      ...(f.others ? { others: f.others } : {}),
    })),
    violations: r.violations.map(violation),
    warnings: r.warnings,
    ...(r.shows ? { shows: r.shows.map((sh) => ({ file: sh.span.file, line: sh.span.line, column: sh.span.column, what: sh.what, lines: sh.lines })) } : {}),
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

/*
 * Writing the document as the run goes: what JSON.stringify(jsonReport(...),
 * null, 2) prints, in pieces, with the long arrays (each file's scenarios,
 * each scenario's invalidations) streamed from spools instead of held.
 */

/** An array whose elements come one by one, each in pieces, as pretty() prints it at the array's depth + 1. */
class StreamedArray {
  constructor(readonly elements: () => Iterable<Iterable<string>>) {}
}

/** `value` as JSON.stringify(value, null, 2) prints it, every line after the first indented by `depth` levels. */
function pretty(value: unknown, depth: number): string {
  const text = JSON.stringify(value, null, 2);
  /* a JSON string never holds a raw newline: every newline is between tokens */
  return depth === 0 ? text : text.replace(/\n/g, `\n${"  ".repeat(depth)}`);
}

function streams(value: unknown): boolean {
  if (value instanceof StreamedArray) return true;
  if (value === null || typeof value !== "object") return false;
  return Object.values(value).some(streams);
}

/** `value` as pretty() prints it, in pieces, with its StreamedArrays written element by element. */
function* prettyChunks(value: unknown, depth: number): Generator<string> {
  const pad = "  ".repeat(depth + 1);
  if (value instanceof StreamedArray) {
    let n = 0;
    for (const element of value.elements()) {
      yield `${n++ === 0 ? "[" : ","}\n${pad}`;
      yield* element;
    }
    yield n === 0 ? "[]" : `\n${"  ".repeat(depth)}]`;
    return;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value) || !streams(value)) {
    yield pretty(value, depth);
    return;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  let first = true;
  for (const [key, v] of entries) {
    yield `${first ? "{" : ","}\n${pad}${JSON.stringify(key)}: `;
    first = false;
    yield* prettyChunks(v, depth + 1);
  }
  yield first ? "{}" : `\n${"  ".repeat(depth)}}`;
}

/** Depths in the document: a file among `files`, a scenario among its `scenarios`, an invalidation among its metrics' `invalidations`. */
const FILE_DEPTH = 2;
const SCENARIO_DEPTH = FILE_DEPTH + 2;
const INVALIDATION_DEPTH = SCENARIO_DEPTH + 3;

/** One invalidation's figures as an element of a scenario's streamed `metrics.invalidations`. */
export function invalidationJson(m: ScenarioMetrics["invalidations"][number]): string {
  return pretty(m, INVALIDATION_DEPTH);
}

/** A scenario whose invalidations were streamed (its result's own list is empty), as an element of its file's streamed `scenarios`. */
export function* streamedScenarioJson(r: ScenarioResult, invalidations: () => Iterable<string>): Generator<string> {
  const json = scenarioJson(r);
  const each = function* (): Generator<string[]> {
    for (const text of invalidations()) yield [text];
  };
  yield* prettyChunks({ ...json, metrics: { ...json.metrics, invalidations: new StreamedArray(each) } }, SCENARIO_DEPTH);
}

/** A file whose scenarios were streamed, as an element of the document's streamed `files`. */
export function* streamedFileJson(file: string, scenarios: () => Iterable<Iterable<string>>): Generator<string> {
  yield* prettyChunks({ file, scenarios: new StreamedArray(scenarios) }, FILE_DEPTH);
}

/** The document jsonReport() makes, in pieces, with its files streamed (each as streamedFileJson() writes it); `ran` counts their scenarios. */
export function* streamedReport(
  files: () => Iterable<Iterable<string>>,
  ran: { scenarios: number; passed: number; failed: number; skipped: number },
  diagnostics: readonly Diagnostic[],
  version: string,
  extras: ReportExtras = {},
): Generator<string> {
  const doc = jsonReport([], diagnostics, version, extras);
  const summary = { ...doc.summary, ...ran };
  yield* prettyChunks({ ...doc, files: new StreamedArray(files), summary }, 0);
}
