/**
 * Scenario regression fixtures: each test/scenarios/FEATURE/NAME.smmu is run
 * once, `smmu-emu run test/scenarios/FEATURE/NAME.smmu`, and what it prints
 * on stdout must be exactly test/scenarios/FEATURE/NAME.expected; it prints
 * nothing on stderr, and exits 0 when every scenario passed, else 1. With
 * UPDATE_FIXTURES=1 the expected files are rewritten instead (review the
 * diff). test/scenarios/README.md says what a fixture is for.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { main } from "../src/cli/main.js";
import { expectFixture } from "./helpers/fixtures.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);
const DIR = "test/scenarios";

/** FEATURE/NAME.smmu of every fixture, sorted. */
const FIXTURES: string[] = readdirSync(join(ROOT, DIR), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(ROOT, DIR, d.name))
      .filter((f) => f.endsWith(".smmu"))
      .map((f) => `${d.name}/${f}`),
  )
  .sort();

test("there are fixtures, and every expected file has its .smmu", () => {
  expect(FIXTURES.length).toBeGreaterThan(0);
  const expected = readdirSync(join(ROOT, DIR), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".expected"));
  const orphans = expected.filter((f) => !existsSync(join(ROOT, DIR, f.replace(/\.expected$/, ".smmu"))));
  expect(orphans, "expected files whose .smmu is gone").toEqual([]);
});

test.each(FIXTURES)("%s", async (fixture) => {
  const path = `${DIR}/${fixture}`;
  let stdout = "";
  let stderr = "";
  const status = await main(["run", path], { out: (t) => void (stdout += `${t}\n`), err: (t) => void (stderr += `${t}\n`), tty: false });
  expect(stderr, `${path} wrote to stderr (bad input is not a fixture: test/dsl covers diagnostics)`).toBe("");
  expectFixture(join(ROOT, path.replace(/\.smmu$/, ".expected")), stdout, THIS_FILE);
  /* the exit status agrees with the summary line, the last one printed */
  expect(status).toBe(/ 0 failed\n$/.test(stdout) ? 0 : 1);
});
