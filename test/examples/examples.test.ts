/**
 * Every example in examples/ is documentation that must stay true. Each is
 * run once, `smmu-emu run --json examples/NAME` under its own driver, by the
 * global setup (test/helpers/example-runs.ts); from that one run: it loads
 * (with the plugins it `use`s), exits 0 with nothing on stderr, every one of
 * its scenarios passes, its report validates against
 * schemas/report.schema.json, and its report is byte for byte the one
 * recorded in test/examples/NAME.json (the same input gives the same output,
 * run after run; UPDATE_FIXTURES=1 rewrites the record). Each opens with a
 * comment saying what it shows.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";
import reportSchema from "../../schemas/report.schema.json" with { type: "json" };
import type { JsonReport, JsonScenario } from "../../src/report/json.js";
import { EXAMPLE_NAMES, exampleReport, exampleRun } from "../helpers/example-runs.js";
import { expectFixture } from "../helpers/fixtures.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));
const RECORDS = fileURLToPath(new URL("./", import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);
const validateReport = new Ajv2020({ strict: true, allErrors: true }).compile(reportSchema);

/** A failed scenario as the CLI would print it, so a failing test says why. */
function describeFailure(s: JsonScenario): string {
  const lines = [`${s.name} (${s.driver.plugin} ${s.driver.variant})`];
  for (const f of s.failures) {
    lines.push(`  ${f.file}:${f.line}:${f.column}: ${f.message}`);
    for (const d of f.detail ?? []) lines.push(`    ${d}`);
  }
  return lines.join("\n");
}

/** The example's one file entry in its report: the part that is the same run after run, whatever the tool's version. */
function fileEntry(doc: JsonReport): string {
  return `${JSON.stringify(doc.files[0], null, 2)}\n`;
}

test("there are examples, and the global setup ran each one", () => {
  expect(EXAMPLE_NAMES.length).toBeGreaterThanOrEqual(8);
  for (const name of EXAMPLE_NAMES) expect(exampleRun(name).path).toBe(`examples/${name}`);
});

test("every recorded report belongs to an example", () => {
  const orphans = readdirSync(RECORDS).filter((f) => f.endsWith(".json") && !EXAMPLE_NAMES.includes(f.replace(/\.json$/, ".smmu")));
  expect(orphans, "records whose example is gone").toEqual([]);
});

describe("every example passes", () => {
  test.each(EXAMPLE_NAMES)("%s: exit 0, nothing on stderr, every scenario passed", (name) => {
    const run = exampleRun(name);
    expect(run.status, `${name} threw:\n${run.stderr}`).not.toBeNull();
    expect(run.stderr, `${name} does not load`).toBe("");
    const doc = JSON.parse(run.stdout) as JsonReport;
    expect(doc.diagnostics).toEqual([]);
    expect(doc.files.map((f) => f.file)).toEqual([run.path]);
    const scenarios = doc.files[0]!.scenarios;
    expect(scenarios.length).toBeGreaterThan(0);
    expect(scenarios.filter((s) => !s.passed).map(describeFailure), `${name}: failed scenarios`).toEqual([]);
    for (const s of scenarios) expect(s.file).toBe(run.path);
    expect(doc.summary).toEqual({ scenarios: scenarios.length, passed: scenarios.length, failed: 0, skipped: 0, rejected: 0 });
    expect(run.status).toBe(0);
  });
});

describe("every example's --json validates against schemas/report.schema.json", () => {
  test.each(EXAMPLE_NAMES)("%s", (name) => {
    const doc: unknown = exampleReport(name);
    expect(validateReport(doc), JSON.stringify(validateReport.errors, null, 2)).toBe(true);
  });
});

describe("every example gives the report recorded in test/examples/", () => {
  test.each(EXAMPLE_NAMES)("%s", (name) => {
    expectFixture(`${RECORDS}${name.replace(/\.smmu$/, ".json")}`, fileEntry(exampleReport(name)), THIS_FILE);
  });
});

describe("every example opens with a comment saying what it shows", () => {
  test.each(EXAMPLE_NAMES)("%s", (name) => {
    const lines = readFileSync(`${EXAMPLES}${name}`, "utf8").split(/\r?\n/);
    const header: string[] = [];
    for (const line of lines) {
      if (!line.startsWith("//")) break;
      header.push(line.slice(2).trim());
    }
    expect(header.length, `${name} must begin with a // comment of at least two lines`).toBeGreaterThanOrEqual(2);
    /* a header says something: real words on its first line, not a bare "//" */
    expect(header[0]!.split(/\s+/).filter((w) => /[A-Za-z]/.test(w)).length).toBeGreaterThanOrEqual(3);
  });
});
