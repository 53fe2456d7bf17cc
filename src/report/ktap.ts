/**
 * `run --reporter ktap`: the run as KTAP version 1
 * (Documentation/dev-tools/ktap.rst), laid out as kunit prints it
 * (lib/kunit/test.c): a test suite per file, a test case per scenario.
 *
 *   KTAP version 1
 *   1..2
 *       KTAP version 1
 *       # Subtest: examples/s1-shared.smmu
 *       1..1
 *       ok 1 one S1 domain on two SMMUs
 *   # examples/s1-shared.smmu: pass:1 fail:0 skip:0 total:1
 *   # Totals: pass:1 fail:0 skip:0 total:1
 *   ok 1 examples/s1-shared.smmu
 *
 * Indentation is kunit's (KUNIT_INDENT_LEN, 4 spaces). A failed scenario's
 * failures are diagnostic lines ("# file:line:col: message", its diff
 * indented under it) before its `not ok`; a skipped one is
 * `ok N name # SKIP reason`. A file with bad input is `not ok N file` after
 * its diagnostics, as kunit prints a suite that failed to initialize. The
 * stats lines are printed for every suite (kunit's stats_enabled=2).
 */
import type { Diagnostic } from "../core/diagnostics.js";
import { formatDiagnostic } from "../core/diagnostics.js";
import { scenarioStatus, type ScenarioResult } from "../engine/runner.js";
import { tally } from "./human.js";

/** One level of kunit's indentation (KUNIT_SUBTEST_INDENT). */
const INDENT = "    ";

/**
 * A description holds no "#" (ktap.rst; kunit_parser.py ends it at the
 * first "#"): each becomes U+FF03 FULLWIDTH NUMBER SIGN.
 */
function ktapDescription(name: string): string {
  return name.replace(/#/g, "\uff03").replace(/[\r\n]+/g, " ");
}

/** Diagnostic lines: "# " before each line of `text`. */
function diagnosticLines(indent: string, text: string): string[] {
  return text.split("\n").map((l) => `${indent}# ${l}`.trimEnd());
}

/** The version and plan lines of the whole run: one test per file. */
export function ktapHeader(files: number): string[] {
  return ["KTAP version 1", `1..${files}`];
}

/** The lines of one test case (a scenario), at the suite's indentation. */
function testCase(r: ScenarioResult, n: number): string[] {
  const name = ktapDescription(r.name);
  const status = scenarioStatus(r);
  const lines: string[] = [];
  for (const f of status === "skipped" ? [] : r.failures) {
    lines.push(...diagnosticLines(INDENT, `${f.span.file}:${f.span.line}:${f.span.column}: ${f.message}`));
    for (const d of f.detail ?? []) lines.push(...diagnosticLines(INDENT, `  ${d}`));
  }
  for (const w of r.warnings) lines.push(...diagnosticLines(INDENT, w));
  if (status === "skipped") {
    const s = r.skipped!;
    lines.push(...diagnosticLines(INDENT, `${s.span.file}:${s.span.line}:${s.span.column}: ${s.reason}`));
    lines.push(`${INDENT}ok ${n} ${name} # SKIP ${ktapDescription(s.reason)}`);
  } else lines.push(`${INDENT}${status === "passed" ? "ok" : "not ok"} ${n} ${name}`);
  return lines;
}

/** The suite of the `n`th file: its scenarios' test cases, its stats, and its result line. */
export function ktapSuite(n: number, file: string, results: readonly ScenarioResult[]): string[] {
  const name = ktapDescription(file);
  const lines = [`${INDENT}KTAP version 1`, `${INDENT}# Subtest: ${name}`, `${INDENT}1..${results.length}`];
  results.forEach((r, i) => lines.push(...testCase(r, i + 1)));
  const t = tally(results);
  const stats = `pass:${t.passed} fail:${t.failed} skip:${t.skipped} total:${results.length}`;
  lines.push(`# ${name}: ${stats}`, `# Totals: ${stats}`);
  /* kunit_suite_has_succeeded(): failed if one failed, else passed if one passed, else skipped */
  if (t.failed) lines.push(`not ok ${n} ${name}`);
  else if (t.passed) lines.push(`ok ${n} ${name}`);
  else lines.push(`ok ${n} ${name} # SKIP ${results.length ? "every scenario was skipped" : "no scenario selected"}`);
  return lines;
}

/** The `n`th file, rejected for bad input: its diagnostics, then `not ok`. */
export function ktapRejected(n: number, file: string, diagnostics: readonly Diagnostic[]): string[] {
  return [...diagnostics.flatMap((d) => diagnosticLines(INDENT, formatDiagnostic(d))), `not ok ${n} ${ktapDescription(file)}`];
}
