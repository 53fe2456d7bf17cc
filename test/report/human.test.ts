/**
 * src/report/human.ts: the run report for people, exactly, in colour (a
 * terminal) and without: PASS green, FAIL red, the driver dim, a diff's
 * removed lines red and added green, warnings yellow.
 */
import { describe, expect, test } from "vitest";
import type { ScenarioResult } from "../../src/engine/runner.js";
import { colors, driverLabel, formatDiagnostics, formatScenario, formatSummary } from "../../src/report/human.js";

const span = { file: "t.smmu", line: 5, column: 10 };
const METRICS: ScenarioResult["metrics"] = { elapsed: 0, invalidations: [], latency: null, commandsPerInvalidation: null, syncsPerInvalidation: null, arrayEntries: null, caches: {}, walks: {} };

function result(o: Partial<ScenarioResult>): ScenarioResult {
  return { name: "s", span, driver: { plugin: "driver-invs", variant: "mainline" }, passed: true, failures: [], violations: [], warnings: [], commands: {}, metrics: METRICS, ...o };
}

const FAILED = result({
  passed: false,
  failures: [{ span: { file: "t.smmu", line: 7, column: 3 }, message: "commands on smmu0 differ", detail: ["    CMD_SYNC", "  - ATC_INV sid 0x40", "  + ATC_INV sid 0x41"] }],
  warnings: ["WARNING: arm_smmu_invs_unref: refcount < 0"],
});

const [R, G, Y, DIM, END, DIM_END] = ["\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[2m", "\x1b[39m", "\x1b[22m"];

test("the driver: plugin, variant, then the options set (true ones by name)", () => {
  expect(driverLabel({ plugin: "driver-invs", variant: "v9" })).toBe("driver-invs v9");
  expect(driverLabel({ plugin: "driver-invs", variant: "mainline", options: { parallel_syncs: true, batch: 32, mode: "x" } })).toBe('driver-invs mainline parallel_syncs batch=32 mode="x"');
});

describe("without colour", () => {
  const c = colors(false);

  test("a scenario: its line, each failure at file:line:col with its detail indented, then its warnings", () => {
    expect(formatScenario(c, result({}))).toBe("PASS s (driver-invs mainline)");
    expect(formatScenario(c, FAILED).split("\n")).toEqual([
      "FAIL s (driver-invs mainline)",
      "  t.smmu:7:3: commands on smmu0 differ",
      "        CMD_SYNC",
      "      - ATC_INV sid 0x40",
      "      + ATC_INV sid 0x41",
      "  WARNING: arm_smmu_invs_unref: refcount < 0",
    ]);
  });

  test("the summary, singular for one", () => {
    expect(formatSummary(c, [result({})])).toBe("1 scenario: 1 passed, 0 failed");
    expect(formatSummary(c, [result({}), FAILED, FAILED])).toBe("3 scenarios: 1 passed, 2 failed");
    expect(formatSummary(c, [])).toBe("0 scenarios: 0 passed, 0 failed");
  });

  test("diagnostics, one line each", () => {
    expect(
      formatDiagnostics(c, [
        { file: "t.smmu", line: 1, column: 2, severity: "error", code: "parse", message: "expected ';'" },
        { file: "t.smmu", line: 3, column: 4, severity: "warning", code: "schema", message: "unused" },
      ]),
    ).toBe("t.smmu:1:2: error: expected ';'\nt.smmu:3:4: warning: unused");
  });
});

describe("in colour", () => {
  const c = colors(true);

  test("PASS green, FAIL red, the driver dim; a diff's - red, + green, the rest dim; warnings yellow", () => {
    expect(formatScenario(c, result({}))).toBe(`${G}PASS${END} s ${DIM}(driver-invs mainline)${DIM_END}`);
    expect(formatScenario(c, FAILED).split("\n")).toEqual([
      `${R}FAIL${END} s ${DIM}(driver-invs mainline)${DIM_END}`,
      "  t.smmu:7:3: commands on smmu0 differ",
      `    ${DIM}    CMD_SYNC${DIM_END}`,
      `    ${R}  - ATC_INV sid 0x40${END}`,
      `    ${G}  + ATC_INV sid 0x41${END}`,
      `${Y}  WARNING: arm_smmu_invs_unref: refcount < 0${END}`,
    ]);
  });

  test("the summary green when all passed, red otherwise; errors red, warnings yellow", () => {
    expect(formatSummary(c, [result({})])).toBe(`${G}1 scenario: 1 passed, 0 failed${END}`);
    expect(formatSummary(c, [FAILED])).toBe(`${R}1 scenario: 0 passed, 1 failed${END}`);
    expect(
      formatDiagnostics(c, [
        { file: "t.smmu", line: 1, column: 2, severity: "error", code: "parse", message: "e" },
        { file: "t.smmu", line: 3, column: 4, severity: "warning", code: "schema", message: "w" },
      ]),
    ).toBe(`${R}t.smmu:1:2: error: e${END}\n${Y}t.smmu:3:4: warning: w${END}`);
  });
});
