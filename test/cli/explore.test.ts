/**
 * `smmu-emu explore` and `run --schedule` as a user meets them: the report
 * of a broken driver, the replay of its schedule, --json against
 * schemas/explore.schema.json, jobs and shards giving the same document,
 * and every misuse a one-line usage error (exit 2).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";
import exploreSchema from "../../schemas/explore.schema.json" with { type: "json" };
import { cli } from "../helpers/cli.js";

const AU = "examples/race-attach-unmap.smmu";
const ATC = "unmap races a DMA through the ATC";
const BROKEN = ["--plugin", "test/helpers/broken-driver.ts", "--driver", "broken", "--variant", "no-sync-before-ats"];
const SCHEDULE = "0*10.1.2*2.2:1.1*5.2*2.0";
const REPLAY = `smmu-emu run ${AU} --scenario '${ATC}' --plugin test/helpers/broken-driver.ts --driver broken --variant no-sync-before-ats --schedule ${SCHEDULE}`;

const validate = new Ajv2020({ strict: true, allErrors: true }).compile(exploreSchema);

function document(stdout: string): Record<string, unknown> {
  const doc = JSON.parse(stdout) as Record<string, unknown>;
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  return doc;
}

describe("explore: a user's plugin", () => {
  test("an endpoint that intercepts ep:atc-inv gets requests of the documented shape (source, sentAtsDisables) from the queue beside the CPUs", async () => {
    const file = "test/cli/explore/user-endpoint.smmu";
    const r = await cli("explore", file, "--jobs", "1");
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain("  19 schedules (1,121 steps, 103 blocked), space covered\n");
    expect(r.stdout).toMatch(/\n1 block explored, 19 schedules: no finding\n$/);
  });
});

describe("explore: a broken driver", () => {
  test("the report: coverage, outcomes, each failure kind with its shortest schedule and the line that replays it; exit 1", async () => {
    const r = await cli("explore", AU, "--scenario", "*ATC*", ...BROKEN, "--jobs", "1");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(`${AU}: "${ATC}", block 1 (line 86)
  driver-broken no-sync-before-ats, memory sc, dpor
  agents: 0 cpu0, 1 dma1, 2 smmu0
  8 schedules (164 steps, 8 blocked), space covered
  3 outcomes:
    4  cpu0=done dma1=fault F_TRANSLATION
    3  cpu0=done dma1=via atc
    1  cpu0=done dma1=via iotlb; expect, stale-translation
  FAIL expect: ${AU}:90:3: dma gpu0 read 0x10000: expected fault F_TRANSLATION, got ok via atc (pa 0x1000000000)
    shortest schedule: ${SCHEDULE} (2 preemptions, 22 steps)
    replay: ${REPLAY}
  FAIL stale-translation: ${AU}:91:3: 1 stale translation(s): gpu0 read 0x10000 was served from gpu0.atc (to 0x1000000000), but "unmap d1 0x10000 size 0x1000" at ${AU}:87:5 removed that translation and has returned
    shortest schedule: ${SCHEDULE} (2 preemptions, 22 steps)
    replay: ${REPLAY}

1 block explored, 8 schedules: 1 with findings (expect, stale-translation)
`);
  });

  test("run --schedule replays it: each step the schedule takes, then the scenario's report with the same failures", async () => {
    const r = await cli("run", AU, "--scenario", ATC, ...BROKEN, "--schedule", SCHEDULE);
    expect(r.status).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(`${AU}: "${ATC}", schedule ${SCHEDULE}, memory sc:`);
    expect(lines.slice(1, 23).map((l) => l.trim().split("  ")[1]!.split(":")[0])).toEqual([
      ...Array<string>(10).fill("cpu0"),
      "dma1",
      "smmu0",
      "smmu0",
      "smmu0",
      ...Array<string>(5).fill("dma1"),
      "smmu0",
      "smmu0",
      "cpu0",
    ]);
    expect(lines.slice(12, 15)).toEqual([
      "12  smmu0: execute #11 TLBI_NH_VA asid 1 vmid 0 num 0 scale 0 leaf 1 ttl 3 tg 1 addr 0x10000",
      "13  smmu0: execute #12 ATC_INV sid 0x100 ssid 0 ssv 0 global 0 size 0 addr 0x10000",
      "14  smmu0: complete #12 ATC_INV sid 0x100 ssid 0 ssv 0 global 0 size 0 addr 0x10000",
    ]);
    expect(lines.slice(23).join("\n")).toBe(`${AU}
FAIL ${ATC} (driver-broken no-sync-before-ats)
  ${AU}:90:3: dma gpu0 read 0x10000: expected fault F_TRANSLATION, got ok via atc (pa 0x1000000000)
  ${AU}:91:3: 1 stale translation(s)
      gpu0 read 0x10000 was served from gpu0.atc (to 0x1000000000), but "unmap d1 0x10000 size 0x1000" at ${AU}:87:5 removed that translation and has returned
1 scenario: 0 passed, 1 failed
`);
  });

  test("run --schedule --trace: every step on its agent's track, in schedule order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "smmu-explore-"));
    const file = join(dir, "trace.json");
    const r = await cli("run", AU, "--scenario", ATC, ...BROKEN, "--schedule", SCHEDULE, "--trace", file);
    expect(r.status).toBe(1);
    const doc = JSON.parse(readFileSync(file, "utf8")) as { traceEvents: { name: string; cat?: string; tid: number; args?: Record<string, unknown>; ph: string }[] };
    const tracks = new Map(doc.traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => [e.tid, String(e.args!.name)]));
    const steps = doc.traceEvents.filter((e) => e.cat === "schedule");
    expect(steps.map((e) => e.args!.step)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
    expect(steps.map((e) => tracks.get(e.tid))[10]).toBe("dma1 steps");
    expect(steps[12]!.name).toBe("execute #12 ATC_INV sid 0x100 ssid 0 ssv 0 global 0 size 0 addr 0x10000");
  });
});

describe("explore: mainline, documents, jobs and shards", () => {
  test("mainline finds nothing: exit 0", async () => {
    const r = await cli("explore", AU, "--scenario", "*ATC*", "--jobs", "1");
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").slice(-4)).toEqual(["  no finding", "", "1 block explored, 2 schedules: no finding", ""]);
  });

  test("--json follows schemas/explore.schema.json, and --jobs 2 prints the same document as --jobs 1", async () => {
    const args = ["explore", AU, "--scenario", "*leaving a purged*", "--variant", "v9", "--json"];
    const one = await cli(...args, "--jobs", "1");
    const two = await cli(...args, "--jobs", "2");
    expect(one.status).toBe(1);
    const doc = document(one.stdout);
    expect(doc.findings).toBe(1);
    expect(two.stdout).toBe(one.stdout);
  });

  test("--max-schedules cutting two blocks: --jobs 2 (one pool for both) and shards merged print what --jobs 1 prints", async () => {
    const args = ["explore", AU, "--scenario", "*leaving*", "--max-schedules", "40", "--json"];
    const one = await cli(...args, "--jobs", "1");
    const blocks = document(one.stdout).blocks as { summary: { schedules: number; covered: boolean } }[];
    expect(blocks.map((b) => [b.summary.schedules >= 40, b.summary.covered])).toEqual([
      [true, false],
      [true, false],
    ]);
    expect((await cli(...args, "--jobs", "2")).stdout).toBe(one.stdout);
    const dir = mkdtempSync(join(tmpdir(), "smmu-shards-"));
    const paths = [1, 2].map((k) => join(dir, `part${k}.json`));
    for (const [k, path] of paths.entries()) writeFileSync(path, (await cli(...args, "--jobs", "2", "--shard", `${k + 1}/2`)).stdout);
    expect((await cli("explore", "--merge", "--json", ...paths)).stdout).toBe(one.stdout);
  });

  test("--shard K/N writes JSON; --merge of the parts prints what one run prints, human and --json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "smmu-shards-"));
    const args = ["explore", AU, "--scenario", "*leaving*", "--memory", "tso", "--jobs", "1"];
    const paths: string[] = [];
    for (const k of [1, 2, 3]) {
      const r = await cli(...args, "--shard", `${k}/3`);
      expect(r.status).toBe(0);
      expect((document(r.stdout).blocks as { summary: { shard: unknown } }[])[0]!.summary.shard).toEqual({ index: k, count: 3 });
      paths.push(join(dir, `part${k}.json`));
      writeFileSync(paths.at(-1)!, r.stdout);
    }
    const whole = await cli(...args);
    const merged = await cli("explore", "--merge", ...paths.reverse());
    expect([merged.status, merged.stdout]).toEqual([0, whole.stdout]);
    const wholeJson = await cli(...args, "--json");
    const mergedJson = await cli("explore", "--merge", "--json", ...paths);
    expect(mergedJson.stdout).toBe(wholeJson.stdout);
  });

  test("--split-depth: the same schedules, outcomes and findings in more even parts; shards merge only with their own split", async () => {
    const dir = mkdtempSync(join(tmpdir(), "smmu-shards-"));
    const args = ["explore", AU, "--scenario", "unmap races an attach*", "--jobs", "1", "--json"];
    const summary = (stdout: string) => (document(stdout).blocks as { summary: Record<string, unknown> & { options: { splitDepth: number }; units: { total: number } } }[])[0]!.summary;
    const [flat, deep] = [summary((await cli(...args, "--split-depth", "0")).stdout), summary((await cli(...args, "--split-depth", "16")).stdout)];
    expect([flat.options.splitDepth, flat.units.total, deep.options.splitDepth, deep.units.total]).toEqual([0, 1, 16, 203]);
    for (const key of ["schedules", "steps", "outcomes", "failures", "covered"]) expect(deep[key]).toEqual(flat[key]);
    const paths = [1, 2].map((k) => join(dir, `part${k}.json`));
    for (const [k, path] of paths.entries()) writeFileSync(path, (await cli(...args, "--split-depth", "16", "--shard", `${k + 1}/2`)).stdout);
    expect((await cli("explore", "--merge", "--json", ...paths)).stdout).toBe((await cli(...args, "--split-depth", "16")).stdout);
    writeFileSync(paths[1]!, (await cli(...args, "--shard", "2/2")).stdout);
    const mixed = await cli("explore", "--merge", ...paths);
    expect([mixed.status, mixed.stderr]).toEqual([2, `${paths[0]}:1:1: error: "unmap races an attach to the same domain", block 1: merge: shard 2/2 explored another program or with other options\n`]);
  });

  test("--merge: a part missing, or a file that is no shard document, is bad input at its position", async () => {
    const dir = mkdtempSync(join(tmpdir(), "smmu-shards-"));
    const r = await cli("explore", AU, "--scenario", "*ATC*", "--jobs", "1", "--shard", "1/2");
    const part = join(dir, "part1.json");
    writeFileSync(part, r.stdout);
    const missing = await cli("explore", "--merge", part);
    expect([missing.status, missing.stderr]).toEqual([2, `${part}:1:1: error: "${ATC}", block 1: merge: shard 2/2 missing\n`]);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, '{\n  "formatVersion": 1,\n  "tool": "smmu-emu",\n  "version": "0.1.0",\n  "blocks": 3,\n  "findings": 0\n}\n');
    const wrong = await cli("explore", "--merge", bad);
    expect([wrong.status, wrong.stderr]).toEqual([2, `${bad}:5:13: error: /blocks must be array\n`]);
  });
});

describe("explore and run --schedule: misuse is a usage error naming the flag", () => {
  test.each([
    [["explore", AU, "--depth", "3"], "smmu-emu: --depth: applies to --mode pct, not dpor"],
    [["explore", AU, "--mode", "pct", "--seeds", "1..2"], "smmu-emu: --seeds: applies to --mode random, not pct"],
    [["explore", AU, "--max-schedules", "10", "--seeds", "1..2"], "smmu-emu: --max-schedules: applies to --mode dpor or naive, not random"],
    [["explore", AU, "--mode", "pct", "--split-depth", "3"], "smmu-emu: --split-depth: applies to --mode dpor or naive, not pct"],
    [["explore", "examples/s1-shared.smmu"], "smmu-emu: examples/s1-shared.smmu: no scenario selected has a concurrently block to explore"],
    [["explore", AU, "--block", "2"], "smmu-emu: --block: no scenario selected has a concurrently block 2 to explore"],
    [["run", AU, "--schedule", "0"], "smmu-emu: --schedule: replays one scenario, but 5 are selected (choose one with --scenario)"],
    [["run", AU, "--scenario", ATC, "--schedule", "0.9"], "smmu-emu: --schedule: schedule step 2 (character 3): agent 9 does not exist (the program has 3: 0 cpu0, 1 dma1, 2 smmu0)"],
    [["run", AU, "--scenario", ATC, "--schedule", "0*3"], "smmu-emu: --schedule: schedule step 4 (character 4): the schedule ends after 3 steps, but cpu0, dma1 can still run"],
    [["run", AU, "--scenario", ATC, "--schedule", "0", "--block", "2"], `smmu-emu: --block: "${ATC}" has 1 top-level concurrently block, not 2`],
    [["run", AU, "--memory", "arm"], "smmu-emu: --memory: goes with --schedule (run takes every store as seen at once; explore --memory searches the others)"],
    [["run", AU, "--block", "1"], "smmu-emu: --block: goes with --schedule (the block the schedule interleaves)"],
  ])("%j", async (argv, message) => {
    const r = await cli(...argv);
    expect([r.status, r.stdout, r.stderr]).toEqual([2, "", `${message}\n`]);
  });

  test.each([
    [["explore", AU, "--shard", "3/2"], "error: option '--shard <K/N>' argument '3/2' is invalid. not K/N with 1 <= K <= N: 3/2"],
    [["explore", AU, "--seeds", "5..1"], "error: option '--seeds <A..B>' argument '5..1' is invalid. 5 is greater than 1: 5..1"],
    [["explore", AU, "--memory", "pso"], "error: option '--memory <model>' argument 'pso' is invalid. Allowed choices are sc, tso, arm."],
  ])("%j", async (argv, message) => {
    const r = await cli(...argv);
    expect([r.status, r.stderr.split("\n")[0]]).toEqual([2, message]);
  });
});

describe("the README's explore example", () => {
  const readme = readFileSync("README.md", "utf8");
  /** The text the README shows after `$ command`, up to the end of its code block. */
  const shown = (command: string): string => {
    const start = readme.indexOf(`$ ${command}\n`);
    expect(start, command).toBeGreaterThan(-1);
    return readme.slice(start + command.length + 3, readme.indexOf("```", start));
  };
  const argv = (command: string): string[] => command.replace(/^npx smmu-emu /, "").match(/'[^']*'|\S+/g)!.map((w) => w.replace(/^'|'$/g, ""));

  test("explore prints what the README shows, and the replay line it prints is the README's", async () => {
    const command = "npx smmu-emu explore examples/race-attach-unmap.smmu --variant v9 --scenario '*purged*'";
    const r = await cli(...argv(command), "--jobs", "1");
    expect(r.stdout).toBe(shown(command));
    const replayLine = /replay: smmu-emu (.*)$/m.exec(r.stdout)![1]!;
    const replayShown = shown(`npx smmu-emu ${replayLine}`).split("\n").filter((l) => l && l.trim() !== "...");
    const replayed = await cli(...argv(`npx smmu-emu ${replayLine}`));
    const lines = replayed.stdout.split("\n");
    for (const l of replayShown) expect(lines).toContain(l);
  });
});
