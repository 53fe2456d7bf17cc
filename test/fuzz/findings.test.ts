/**
 * Findings of issue 13 whose regression tests live nowhere else: `graph
 * --scenario` of a scenario with 140,000 attaches (its edges were spread
 * into one push() call, past the stack). The others are in
 * test/dsl/limits.test.ts, test/dsl/sources.test.ts, test/plugin/misuse.test.ts,
 * test/plugin/hostile.test.ts and test/cli/watchdog.test.ts.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { cli } from "../helpers/cli.js";

test("graph --scenario of 70,000 attach/detach pairs: every edge, exit 0", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "smmu-findings-")), "big.smmu");
  writeFileSync(file, `smmu smmu0 { }\ndevice a { smmu: smmu0; sids: 1; }\ndomain d { stage: s1; }\nscenario "g" {\n${"  attach a d;\n  detach a;\n".repeat(70_000)}}\n`);
  const r = await cli("graph", file, "--scenario", "g");
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  const lines = r.stdout.split("\n");
  expect(lines.filter((l) => l.includes(`"device/a" ->`))).toHaveLength(140_000);
  expect(lines.at(-3)).toBe(`  "device/a" -> "static/blocked" [label="#140000 (line 140004)", style="solid", penwidth="2"];`);
});
