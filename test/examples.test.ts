/**
 * Every example in examples/ is documentation that must stay true: each one
 * loads (with the plugins it `use`s, on top of the built-in ones), every one
 * of its scenarios passes, and each opens with a comment saying what it shows.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { formatDiagnostic, InputError } from "../src/core/diagnostics.js";
import { loadSmmuWithPlugins } from "../src/engine/load.js";
import { runFile, type ScenarioResult } from "../src/engine/runner.js";
import { builtinRegistry } from "../src/index.js";

const EXAMPLES = fileURLToPath(new URL("../examples/", import.meta.url));
const FILES = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith(".smmu"))
  .sort();

/** A failed scenario as the CLI would print it, so a failing test says why. */
function describeFailure(r: ScenarioResult): string {
  const lines = [`${r.name} (${r.driver.plugin} ${r.driver.variant})`];
  for (const f of r.failures) {
    lines.push(`  ${f.span.file}:${f.span.line}:${f.span.column}: ${f.message}`);
    for (const d of f.detail ?? []) lines.push(`    ${d}`);
  }
  return lines.join("\n");
}

test("there are examples", () => {
  expect(FILES.length).toBeGreaterThanOrEqual(8);
});

describe("every example passes", () => {
  test.each(FILES)("%s", async (name) => {
    const path = join(EXAMPLES, name);
    const registry = builtinRegistry();
    let results: ScenarioResult[];
    try {
      results = runFile(await loadSmmuWithPlugins(path, registry), { registry });
    } catch (err) {
      if (err instanceof InputError) expect.fail(`${name} does not load:\n${err.diagnostics.map(formatDiagnostic).join("\n")}`);
      throw err;
    }
    expect(results.length).toBeGreaterThan(0);
    const failed = results.filter((r) => !r.passed);
    expect(failed.map(describeFailure), `${name}: failed scenarios`).toEqual([]);
    for (const r of results) expect(r.span.file).toBe(path);
  });
});

describe("every example opens with a comment saying what it shows", () => {
  test.each(FILES)("%s", (name) => {
    const lines = readFileSync(join(EXAMPLES, name), "utf8").split(/\r?\n/);
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
