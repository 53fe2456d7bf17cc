/**
 * run's watchdogs (issue 13): with --timeout or --max-memory the scenarios
 * run on a worker thread (src/cli/commands/isolated.ts); one that runs too
 * long or grows the heap past the bound is stopped and fails at the
 * statement that was running, naming the user plugin and the event whose
 * code ran, and the scenarios after it run on a new worker. explore
 * --timeout searches on watched workers only (engine/explore/watched.ts): a
 * search that stops making progress fails its block where it was. These are the
 * only tests bounded by wall time: each plugin here loops or allocates for
 * ever, and a small --timeout stops it (2 s where the plugin must load and
 * the scenario reach it first: on a loaded 2-core machine loading alone can
 * take over half a second). Kept few.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";
import exploreSchema from "../../schemas/explore.schema.json" with { type: "json" };
import { cli } from "../helpers/cli.js";

/** t.smmu using `driver-bad`, a driver whose `setup` (before its handlers are set) and whose `dma:served` listener run the given code; `more` is appended. */
function fixture(handler: string, setup = "", top = "", more = ""): string {
  const d = mkdtempSync(join(tmpdir(), "smmu-watchdog-"));
  writeFileSync(
    join(d, "bad.ts"),
    `${top}export default { name: "driver-bad", kind: "driver", version: "1", apiVersions: [1], extends: "driver-invs", variants: ["mainline"], description: "", schema: { type: "object" }, ` +
      `setup: (ctx, base) => { ${setup} ctx.on("dma:served", () => { ${handler} }); return base; } };\n`,
  );
  /* line 9: the DMA of "s"; "after" (line 11) makes none */
  writeFileSync(
    join(d, "t.smmu"),
    `use "./bad.ts";
driver bad;
smmu smmu0 { features: ats; }
device nic0 { smmu: smmu0; sids: 0x40; }
domain d1 { stage: s1; }
scenario "s" {
  attach nic0 d1;
  map d1 0x10000 size 4K;
  dma nic0 read 0x10000;
}
scenario "after" {
  attach nic0 d1;
  expect no stale;
}
${more}`,
  );
  return join(d, "t.smmu");
}

describe("--timeout", () => {
  test("a handler that loops for ever: stopped at its statement, naming the plugin and the event; the next scenario runs", async () => {
    const file = fixture("for (;;) {}");
    const r = await cli("run", "--timeout", "2", file);
    expect(r.stdout).toBe(
      [
        file,
        "FAIL s (driver-bad mainline)",
        `  ${file}:9:3: timed out after 2 s (--timeout) in plugin "driver-bad" handling "dma:served"`,
        "PASS after (driver-bad mainline)",
        "2 scenarios: 1 passed, 1 failed",
        "",
      ].join("\n"),
    );
    expect(r.status).toBe(1);
  });

  test("a setup that never returns: stopped at the scenario, naming the plugin; --json says so", async () => {
    const file = fixture("", "for (;;) {}");
    const r = await cli("--json", "run", "--timeout", "2", "--scenario", "after", file);
    const json = JSON.parse(r.stdout) as { files: { scenarios: { name: string; passed: boolean; failures: { line: number; column: number; message: string }[] }[] }[] };
    const [after] = json.files[0]!.scenarios;
    expect(after!.passed).toBe(false);
    expect(after!.failures.map((f) => [f.line, f.column, f.message])).toEqual([[11, 10, `timed out after 2 s (--timeout) in plugin "driver-bad" handling "setup"`]]);
    expect(r.status).toBe(1);
  });

  /* the module loops only on run's worker thread (its workerData has the watch), not where the file is checked */
  test("a plugin whose module never finishes loading: stopped, the scenario failing while the plugins load", async () => {
    const file = fixture("", "", `const { workerData } = await import("node:worker_threads");\nif (workerData && typeof workerData === "object" && "watch" in workerData) for (;;) {}\n`);
    const r = await cli("run", "--timeout", "0.5", "--scenario", "after", file);
    expect(r.stdout).toBe([file, "FAIL after (driver-bad mainline)", `  ${file}:11:10: timed out after 0.5 s (--timeout) loading the plugins`, "1 scenario: 0 passed, 1 failed", ""].join("\n"));
    expect(r.status).toBe(1);
  });
});

/* line 18: the block; the schedule takes the DMA's 9 steps, then the map's */
const RACE = `scenario "race" {
  attach nic0 d1;
  map d1 0x10000 size 4K;
  concurrently { dma nic0 read 0x10000; map d1 0x20000 size 4K; }
}
`;

describe("--timeout with --schedule: the replay runs on the worker thread too", () => {
  test("a handler that loops for ever in the replayed block: stopped at the block, naming the plugin and the event", async () => {
    const file = fixture("for (;;) {}", "", "", RACE);
    const r = await cli("run", "--timeout", "2", "--scenario", "race", "--schedule", "0*9.1", file);
    expect(r.stdout).toBe(
      [file, "FAIL race (driver-bad mainline)", `  ${file}:18:3: timed out after 2 s (--timeout) in plugin "driver-bad" handling "dma:served"`, "1 scenario: 0 passed, 1 failed", ""].join("\n"),
    );
    expect(r.status).toBe(1);
  });

  test("a replay that ends in time prints its steps, then the report; a schedule that does not fit is a usage error", async () => {
    const file = fixture("", "", "", RACE);
    const r = await cli("run", "--timeout", "30", "--scenario", "race", "--schedule", "0*9.1", file);
    expect(r).toEqual({
      status: 0,
      stderr: "",
      stdout: [
        `${file}: "race", schedule 0*9.1, memory sc:`,
        " 1  dma0: dma: the device issues the transaction",
        " 2  dma0: smmu: fetch STE",
        " 3  dma0: smmu: fetch CD",
        " 4  dma0: smmu: TLB lookup",
        " 5  dma0: smmu: table walk: read a table entry",
        " 6  dma0: smmu: table walk: read a table entry",
        " 7  dma0: smmu: table walk: read a table entry",
        " 8  dma0: smmu: table walk: read a table entry",
        " 9  dma0: smmu: TLB fill",
        "10  cpu1: __arm_lpae_map: install PTE",
        file,
        "PASS race (driver-bad mainline)",
        "1 scenario: 1 passed, 0 failed",
        "",
      ].join("\n"),
    });
    expect(await cli("run", "--timeout", "30", "--scenario", "race", "--schedule", "0*9.9", file)).toEqual({
      status: 2,
      stdout: "",
      stderr: "smmu-emu: --schedule: schedule step 10 (character 5): agent 9 does not exist (the program has 3: 0 dma0, 1 cpu1, 2 smmu0)\n",
    });
  });
});

describe("explore --timeout: the search on watched worker threads", () => {
  test("a handler that loops for ever: the block fails at the operation, naming the plugin and the event, with the schedule that replays it", async () => {
    const file = fixture("for (;;) {}", "", "", RACE);
    /* one job: which units another worker finished before the stop would depend on timing */
    const r = await cli("explore", "--timeout", "2", "--jobs", "1", "--scenario", "race", file);
    expect(r.stdout).toBe(
      [
        `${file}: "race", block 1 (line 18)`,
        "  driver-bad mainline, memory sc, dpor",
        "  agents: 0 dma0, 1 cpu1, 2 smmu0",
        "  0 schedules (0 steps), not covered: stopped by --timeout",
        `  FAIL timeout: ${file}:18:18: timed out after 2 s (--timeout) in plugin "driver-bad" handling "dma:served"`,
        "    shortest schedule: 0*9 (0 preemptions, 9 steps)",
        `    replay: smmu-emu run ${file} --scenario race --timeout 2 --schedule 0*9`,
        "",
        "1 block explored, 0 schedules: 1 with findings (timeout)",
        "",
      ].join("\n"),
    );
    expect([r.status, r.stderr]).toEqual([1, ""]);
    const replayed = await cli("run", "--scenario", "race", "--timeout", "2", "--schedule", "0*9", file);
    expect(replayed.stdout).toBe(
      [file, "FAIL race (driver-bad mainline)", `  ${file}:18:3: timed out after 2 s (--timeout) in plugin "driver-bad" handling "dma:served"`, "1 scenario: 0 passed, 1 failed", ""].join("\n"),
    );
  });

  test("a shard the watchdog stopped merges with the others: what each found, the stop as a finding, not covered", async () => {
    const file = fixture("for (;;) {}", "", "", RACE);
    const dir = mkdtempSync(join(tmpdir(), "smmu-watchdog-"));
    const paths = [1, 2].map((k) => join(dir, `part${k}.json`));
    for (const [k, path] of paths.entries()) writeFileSync(path, (await cli("explore", "--timeout", "2", "--jobs", "1", "--scenario", "race", "--shard", `${k + 1}/2`, file)).stdout);
    const merged = await cli("explore", "--merge", ...paths);
    expect([merged.status, merged.stderr]).toEqual([1, ""]);
    expect(merged.stdout).toContain("not covered: stopped by --timeout\n");
    expect(merged.stdout).toContain(`  FAIL timeout: ${file}:18:18: timed out after 2 s (--timeout) in plugin "driver-bad" handling "dma:served"\n`);
  });

  test("a setup that never returns: at the scenario, before any step; --json says so against the schema", async () => {
    const file = fixture("", "for (;;) {}", "", RACE);
    const r = await cli("--json", "explore", "--timeout", "2", "--scenario", "race", file);
    const doc = JSON.parse(r.stdout) as { blocks: { summary: { covered: boolean; bounds: string[]; failures: unknown[] } }[] };
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(exploreSchema);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    const { summary } = doc.blocks[0]!;
    expect([summary.covered, summary.bounds]).toEqual([false, ["timeout"]]);
    expect(summary.failures).toEqual([
      { kind: "timeout", message: `${file}:15:10: timed out after 2 s (--timeout) in plugin "driver-bad" handling "setup"`, schedule: "-", preemptions: 0, steps: 0 },
    ]);
    expect(r.status).toBe(1);
  });

  test("the workers load the file as the command's thread does: --limit and --driver count there too, and the replay line carries them", async () => {
    const name = "n".repeat(5000);
    const file = join(mkdtempSync(join(tmpdir(), "smmu-watchdog-")), "long.smmu");
    writeFileSync(file, `smmu smmu0 { features: ats; }\ndevice nic0 { smmu: smmu0; sids: 0x40; }\ndomain d1 { stage: s1; }\nscenario "${name}" {\n  attach nic0 d1;\n  concurrently { map d1 0x10000 size 4K; map d1 0x20000 size 4K; }\n  expect count smmu0 commands 999;\n}\n`);
    const args = ["explore", file, "--limit", "literal-length=10000", "--driver", "legacy"];
    const plain = await cli(...args, "--jobs", "1");
    const watched = await cli(...args, "--timeout", "30");
    expect([plain.status, plain.stderr]).toEqual([1, ""]);
    expect(plain.stdout).toContain(` --limit literal-length=10000 --driver legacy --schedule `);
    expect(watched.stdout.replaceAll(" --timeout 30", "")).toBe(plain.stdout);
  });

  test("a search that makes progress: the report of an unwatched one, its replay lines with --timeout", async () => {
    const args = ["examples/race-attach-unmap.smmu", "--variant", "v9", "--scenario", "*purged*"];
    const watched = await cli("explore", "--timeout", "30", ...args);
    const plain = await cli("explore", "--jobs", "1", ...args);
    expect(watched.status).toBe(1);
    expect(watched.stdout).toContain(" --timeout 30 --schedule ");
    expect(watched.stdout.replaceAll(" --timeout 30", "")).toBe(plain.stdout);
  });
});

describe("check, validate, export, graph, compare and plugins --timeout: the command on a watched worker thread", () => {
  test("a setup that never returns: the command stopped, naming the plugin and the event; nothing else printed; exit 2", async () => {
    const file = fixture("", "for (;;) {}");
    const r = await cli("check", "--timeout", "2", file);
    expect(r).toEqual({ status: 2, stdout: "", stderr: `smmu-emu: check: timed out after 2 s (--timeout) in plugin "driver-bad" handling "setup"\n` });
  });

  test("what a plugin prints comes through whole, on stderr, a line at a time (a line written in pieces is one line)", async () => {
    const file = fixture("", `for (let i = 0; i < 2000; i++) console.log("line " + i); process.stdout.write("progress: "); process.stdout.write("50%"); process.stdout.write(" done\\n");`);
    const r = await cli("check", "--timeout", "30", file);
    const lines = r.stderr.split("\n").slice(0, -1);
    expect(r.status).toBe(0);
    expect(lines.filter((l) => l.startsWith("line ")).length).toBe(2000);
    expect(lines.filter((l) => l.startsWith("progress"))).toEqual(["progress: 50% done"]);
  });

  test.each([
    ["check", "examples/s1-shared.smmu"],
    ["graph", "examples/s1-shared.smmu", "--scenario", "one S1 domain on two SMMUs"],
    ["compare", "examples/s1-shared.smmu"],
    ["export", "examples/s1-shared.smmu"],
    ["validate", "test/cli/watchdog/s1-shared.json"],
    ["plugins"],
    ["check", "examples/missing.smmu"],
  ])("%s %s: what it prints without the flag", async (...argv) => {
    const watched = await cli(...argv, "--timeout", "30");
    expect(watched).toEqual(await cli(...argv));
    expect(watched.stdout + watched.stderr).not.toBe("");
  });
});

describe("--max-memory", () => {
  test("a handler that allocates without end: stopped at its statement, out of memory, naming the bound", async () => {
    const file = fixture("const keep = []; for (;;) keep.push(new Array(1e5).fill(keep.length));");
    const r = await cli("run", "--max-memory", "64", "--scenario", "s", file);
    expect(r.stdout).toBe(
      [file, "FAIL s (driver-bad mainline)", `  ${file}:9:3: ran out of memory: over 64 MB (--max-memory) in plugin "driver-bad" handling "dma:served"`, "1 scenario: 0 passed, 1 failed", ""].join(
        "\n",
      ),
    );
    expect(r.status).toBe(1);
  });
});

test("--timeout is a number of seconds > 0", async () => {
  const r = await cli("run", "--timeout", "0", "examples/s1-shared.smmu");
  expect(r.stderr).toBe("error: option '--timeout <seconds>' argument '0' is invalid. not a number of seconds > 0: 0\n(run with --help for usage)\n");
  expect(r.status).toBe(2);
});
