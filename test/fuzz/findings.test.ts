/**
 * Findings of issue 13 whose regression tests live nowhere else: `graph
 * --scenario` of a scenario with 140,000 attaches (its edges were spread
 * into one push() call, past the stack); pinned ASIDs and VMIDs (an
 * allocation took a pinned id, two domains pinned one, a failed attach left
 * one held: internal errors before); a loop failing the same way at every
 * round (a million failures and WARNs printed, hundreds of MB). The others are in
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

test("a failure a loop repeats is listed once with its count, as its WARN; past 10 distinct ones a statement's others are counted", async () => {
  const r = await runText(`smmu smmu0 { }
device a { smmu: smmu0; sids: 1; }
domain d1 { stage: s1; }
scenario "r" {
  attach a d1;
  map d1 0 size 4K;
  for j in 0 .. 19999 { map d1 0 size 4K; }
  for j in 1 .. 14 { map d1 j * 4K size 4K; }
  for j in 1 .. 14 { map d1 j * 4K size 4K; }
}
`);
  const warn = "WARN_ON(!(data->iop.cfg.quirks & IO_PGTABLE_QUIRK_NO_WARN))";
  const eexist = (line: number, at: number): string => `  ${r.file}:${line}:25: map d1 ${at ? `0x${at.toString(16)}000` : "0x0"} size 0x1000: map: ${at ? `0x${at.toString(16)}000` : "0x0"} is already mapped (leaf ${at ? `0x${at.toString(16)}000` : "0x0"} size 0x1000): -EEXIST`;
  expect(r.status).toBe(1);
  expect(r.stdout.split("\n").slice(1, -2)).toEqual([
    "FAIL r (driver-invs mainline)",
    `  ${r.file}:7:25: unexpected WARN in arm_lpae_init_pte(): ${warn} (20000 times)`,
    `${eexist(7, 0)} (20000 times)`,
    `  ${r.file}:9:22: unexpected WARN in arm_lpae_init_pte(): ${warn} (14 times)`,
    ...Array.from({ length: 9 }, (_, i) => eexist(9, i + 1).replace(":9:25:", ":9:22:")),
    "    (and 5 other failures of this statement, not listed)",
    `  WARNING: arm_lpae_init_pte: ${warn} (20014 times)`,
  ]);
  const json = await cli("--json", "run", r.file);
  const failures = (JSON.parse(json.stdout) as { files: { scenarios: { failures: { count?: number; others?: number }[] }[] }[] }).files[0]!.scenarios[0]!.failures;
  expect(failures.map((f) => [f.count, f.others])).toEqual([[20000, undefined], [20000, undefined], [14, undefined], ...Array.from({ length: 8 }, () => [undefined, undefined]), [undefined, 5]]);
});
