/**
 * Findings of issue 13 whose regression tests live nowhere else: `graph
 * --scenario` of a scenario with 140,000 attaches (its edges were spread
 * into one push() call, past the stack); pinned ASIDs and VMIDs (an
 * allocation took a pinned id, two domains pinned one, a failed attach left
 * one held: internal errors before). The others are in
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

/** `run` of `text` as a file of its own. */
async function runText(text: string): Promise<Awaited<ReturnType<typeof cli>> & { file: string }> {
  const file = join(mkdtempSync(join(tmpdir(), "smmu-findings-")), "t.smmu");
  writeFileSync(file, text);
  return { ...(await cli("run", file)), file };
}

const S2 = `smmu smmu0 { }
device a { smmu: smmu0; sids: 1; }
device b { smmu: smmu0; sids: 2; }
`;

test("a VMID the topology pins is not allocated to a domain attached before its own", async () => {
  const r = await runText(`${S2}domain s2a { stage: s2; }
domain s2b { stage: s2; vmid: 1; }
scenario "x" {
  attach a s2a;
  attach b s2b;
  map s2a 0 size 4K;
  unmap s2a 0 size 4K;
  expect commands smmu0 contains { TLBI_S2_IPA vmid 2 num 0 scale 0 leaf 1 ttl 0 tg 0 addr 0x0; }
}
`);
  expect([r.status, r.stderr]).toEqual([0, ""]);
  expect(r.stdout).toContain("PASS x (driver-invs mainline)");
});

test("two domains pinning one VMID: bad input at the second", async () => {
  const r = await runText(`${S2}domain s2a { stage: s2; vmid: 1; }
domain s2b { stage: s2; vmid: 1; }
`);
  expect(r.status).toBe(2);
  expect(r.stderr).toBe(`${r.file}:5:31: error: domain "s2b": VMID 1 is already pinned by "s2a"\n`);
});

test("share: a failed attach leaves its pinned VMID held (v4 does not free the tag), so the next attach is -ENOSPC", async () => {
  const r = await runText(`driver invs share;
${S2}domain d1 { stage: s2; vmid: 3; }
scenario "s" {
  fail alloc invs;
  expect error -ENOMEM { attach a d1; }
  expect error -ENOSPC { attach b d1; }
}
`);
  expect([r.status, r.stderr]).toEqual([0, ""]);
  expect(r.stdout).toContain("PASS s (driver-invs share)");
});
