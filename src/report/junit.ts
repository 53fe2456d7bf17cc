/**
 * `run --reporter junit`: the run as JUnit XML, the shape GitLab and Jenkins
 * read: <testsuites> with a <testsuite> per file and a <testcase> per
 * scenario (classname the file; file and line attributes where the scenario
 * is declared). A failed scenario has a <failure> (message: its first
 * failure; text: every failure with its diff), a skipped one a <skipped>
 * with the reason. A file with bad input is a suite of one <testcase> with
 * an <error> holding its diagnostics. No times: the run is simulated, and
 * the report is the same byte for byte run after run.
 */
import { formatDiagnostic, type Diagnostic } from "../core/diagnostics.js";
import { scenarioStatus, type ScenarioResult } from "../engine/runner.js";
import { driverLabel, tally } from "./human.js";

/** A file's outcome: its scenarios' results, or the diagnostics that kept it from running. */
export type FileOutcome = { file: string; scenarios: readonly ScenarioResult[] } | { file: string; diagnostics: readonly Diagnostic[] };

/** Text and attribute values: markup escaped; characters XML 1.0 does not allow become U+FFFD. */
function xmlEscape(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, "\ufffd")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

function attrs(a: Record<string, string | number>): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join("");
}

const at = (s: { file: string; line: number; column: number }): string => `${s.file}:${s.line}:${s.column}`;

function testCase(file: string, r: ScenarioResult): string[] {
  const head = `    <testcase${attrs({ name: r.name, classname: file, file: r.span.file, line: r.span.line })}>`;
  const lines = [head];
  const status = scenarioStatus(r);
  if (status === "failed") {
    const text = r.failures.flatMap((f) => [`${at(f.span)}: ${f.message}`, ...(f.detail ?? []).map((d) => `  ${d}`)]).join("\n");
    lines.push(`      <failure${attrs({ message: `${at(r.failures[0]!.span)}: ${r.failures[0]!.message}`, type: "failure" })}>${xmlEscape(text)}</failure>`);
  } else if (status === "skipped") {
    lines.push(`      <skipped${attrs({ message: `${at(r.skipped!.span)}: ${r.skipped!.reason}` })}/>`);
  }
  const out = [`driver: ${driverLabel(r.driver)}`, ...r.warnings].join("\n");
  lines.push(`      <system-out>${xmlEscape(out)}</system-out>`, "    </testcase>");
  return lines;
}

function suite(o: FileOutcome): string[] {
  if ("diagnostics" in o) {
    const first = o.diagnostics[0];
    const text = o.diagnostics.map(formatDiagnostic).join("\n");
    return [
      `  <testsuite${attrs({ name: o.file, tests: 1, failures: 0, errors: 1, skipped: 0, file: o.file })}>`,
      `    <testcase${attrs({ name: o.file, classname: o.file, file: o.file, line: first?.line ?? 1 })}>`,
      `      <error${attrs({ message: first ? formatDiagnostic(first) : "bad input", type: "bad-input" })}>${xmlEscape(text)}</error>`,
      "    </testcase>",
      "  </testsuite>",
    ];
  }
  const t = tally(o.scenarios);
  return [
    `  <testsuite${attrs({ name: o.file, tests: o.scenarios.length, failures: t.failed, errors: 0, skipped: t.skipped, file: o.file })}>`,
    ...o.scenarios.flatMap((r) => testCase(o.file, r)),
    "  </testsuite>",
  ];
}

/** The whole document. */
export function junitDocument(outcomes: readonly FileOutcome[]): string {
  const ran = outcomes.flatMap((o) => ("scenarios" in o ? o.scenarios : []));
  const t = tally(ran);
  const errors = outcomes.filter((o) => "diagnostics" in o).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: "smmu-emu", tests: ran.length + errors, failures: t.failed, errors, skipped: t.skipped })}>`,
    ...outcomes.flatMap(suite),
    "</testsuites>",
  ].join("\n");
}
