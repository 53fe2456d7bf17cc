/**
 * `smmu-emu compare`, `run --metrics` and driver options, end to end: exact
 * output for a two-SMMU platform whose costs are set in the file; the
 * figures are derived below from those costs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import compareSchema from "../../schemas/compare.schema.json" with { type: "json" };
import reportSchema from "../../schemas/report.schema.json" with { type: "json" };
import { main, type Io } from "../../src/cli/main.js";
import type { JsonScenario } from "../../src/report/json.js";

const validateCompare = new Ajv2020({ strict: true, allErrors: true }).addSchema(reportSchema).compile(compareSchema);

const C = 10;
const S = 100;
const A = 1000;

const FILE = `smmu smmu0 { features: ats; cmd_ns: ${C}; sync_ns: ${S}; }
smmu smmu1 { features: ats; cmd_ns: ${C}; sync_ns: ${S}; }
device gpu0 { smmu: smmu0; sids: 0x100; ats: true; atc_inv_ns: ${A}; }
device gpu1 { smmu: smmu1; sids: 0x200; ats: true; atc_inv_ns: ${A}; }
domain d1 { stage: s1; }
scenario "shared" {
  attach gpu0 d1;
  attach gpu1 d1;
  map d1 0x10000 size 4K;
  unmap d1 0x10000 size 4K;
}
`;

function write(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "smmu-compare-")), "t.smmu");
  writeFileSync(path, text);
  return path;
}

async function cli(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), tty: false };
  const status = await main(argv, io);
  return { status, out: out.join("\n"), err: err.join("\n") };
}

/* per SMMU: TLBI + CMD_SYNC, then ATC_INV + CMD_SYNC completing with the endpoint */
const ONE_SMMU = C + S + C + A;
const SERIAL = 2 * ONE_SMMU;
/* parallel_syncs: the second SMMU's TLBIs go out while the first's ATC round trip is in flight */
const PARALLEL = 2 * (C + S) + C + A;

describe("compare", () => {
  test("one table: legacy, invs mainline, invs v9, invs mainline +parallel_syncs", async () => {
    const path = write(FILE);
    const r = await cli("compare", path);
    expect(r.status).toBe(0);
    expect(r.out).toBe(
      [
        `${path}: 1 scenario under 4 drivers (simulated time)`,
        "",
        "                        legacy v7.0  invs mainline  invs v9  invs mainline +parallel_syncs",
        "shared                         FAIL           PASS     PASS                           PASS",
        "  commands (CMD_SYNCs)       15 (7)        30 (14)  30 (14)                        30 (14)",
        "  invalidations                   1              1        1                              1",
        "    commands                      4              8        8                              8",
        "    CMD_SYNCs                     2              4        4                              4",
        `    latency                    ${ONE_SMMU}           ${SERIAL}     ${SERIAL}                           ${PARALLEL}`,
        `    total time                 ${ONE_SMMU}           ${SERIAL}     ${SERIAL}                           ${PARALLEL}`,
        "    array entries                 -              4        4                              4",
        "",
        "commands: what the SMMUs received in the whole scenario; per invalidation (an iotlb_sync, a flush, an mm notifier call):",
        "one value, or min / median / max; times in simulated ns (cmd_ns, sync_ns, atc_inv_ns)",
        "",
        "first failure of each failing cell:",
        `  legacy v7.0, "shared": ${path}:8:3: attach gpu1 d1 failed: -EINVAL`,
      ].join("\n"),
    );
  });

  test("--json: the same figures as data, valid against schemas/compare.schema.json", async () => {
    const path = write(FILE);
    const r = await cli("compare", "--json", path);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.out) as {
      configs: Array<{ label: string; driver: unknown }>;
      scenarios: Array<{ name: string; results: Array<{ config: string; scenario: JsonScenario }> }>;
    };
    expect(validateCompare(doc), JSON.stringify(validateCompare.errors)).toBe(true);
    expect(doc.configs).toEqual([
      { label: "legacy v7.0", driver: { plugin: "driver-legacy", variant: "v7.0" } },
      { label: "invs mainline", driver: { plugin: "driver-invs", variant: "mainline" } },
      { label: "invs v9", driver: { plugin: "driver-invs", variant: "v9" } },
      { label: "invs mainline +parallel_syncs", driver: { plugin: "driver-invs", variant: "mainline", options: { parallel_syncs: true } } },
    ]);
    const [shared] = doc.scenarios;
    const both = { smmu0: { commands: 15, syncs: 7 }, smmu1: { commands: 15, syncs: 7 } };
    expect(shared!.results.map(({ config, scenario: x }) => [config, x.passed, x.metrics.latency, x.commands])).toEqual([
      ["legacy v7.0", false, { min: ONE_SMMU, median: ONE_SMMU, max: ONE_SMMU }, { smmu0: { commands: 15, syncs: 7 }, smmu1: { commands: 0, syncs: 0 } }],
      ["invs mainline", true, { min: SERIAL, median: SERIAL, max: SERIAL }, both],
      ["invs v9", true, { min: SERIAL, median: SERIAL, max: SERIAL }, both],
      ["invs mainline +parallel_syncs", true, { min: PARALLEL, median: PARALLEL, max: PARALLEL }, both],
    ]);
    expect(shared!.results[0]!.scenario.failures).toEqual([{ file: path, line: 8, column: 3, message: "attach gpu1 d1 failed: -EINVAL" }]);
  });

  test("the README's table is what compare prints for examples/invalidation-latency.smmu", async () => {
    const readme = readFileSync("README.md", "utf8");
    const start = readme.indexOf("$ npx smmu-emu compare examples/invalidation-latency.smmu\n");
    expect(start).toBeGreaterThan(-1);
    const shown = readme.slice(readme.indexOf("\n", start) + 1, readme.indexOf("\n```", start));
    const r = await cli("compare", "examples/invalidation-latency.smmu");
    /* the README leaves out the legend */
    expect(r.out.startsWith(`${shown}\n\n`)).toBe(true);
  });

  test("each column is its configuration only: the file's driver line and options do not leak in", async () => {
    const path = write(`driver invs v9 { parallel_syncs: true; }\n${FILE}`);
    const r = await cli("compare", "--json", path);
    const doc = JSON.parse(r.out) as { scenarios: Array<{ results: Array<{ config: string; scenario: JsonScenario }> }> };
    expect(doc.scenarios[0]!.results.map(({ config, scenario: x }) => [config, x.driver, x.metrics.latency?.max])).toEqual([
      ["legacy v7.0", { plugin: "driver-legacy", variant: "v7.0" }, ONE_SMMU],
      ["invs mainline", { plugin: "driver-invs", variant: "mainline" }, SERIAL],
      ["invs v9", { plugin: "driver-invs", variant: "v9" }, SERIAL],
      ["invs mainline +parallel_syncs", { plugin: "driver-invs", variant: "mainline", options: { parallel_syncs: true } }, PARALLEL],
    ]);
  });

  test("bad input: the diagnostics and exit 2", async () => {
    const path = write(FILE.replace("attach gpu1 d1;", "attach gpu9 d1;"));
    const r = await cli("compare", path);
    expect(r.status).toBe(2);
    expect(r.err).toBe(`${path}:8:10: error: unknown device "gpu9" (did you mean "gpu0"?)`);
  });
});

describe("run --metrics", () => {
  test("what each invalidation took and queued, after the scenario", async () => {
    const path = write(FILE);
    const r = await cli("run", "--metrics", "--driver-option", "parallel_syncs", path);
    expect(r.status).toBe(0);
    expect(r.out.split("\n").slice(1, 6)).toEqual([
      "PASS shared (driver-invs mainline parallel_syncs)",
      expect.stringMatching(/^ {2}simulated time \d+ ns; 1 invalidation \(one value, or min \/ median \/ max\):$/),
      `    latency ns ${PARALLEL}; commands 8; CMD_SYNCs 4; array entries 4`,
      "  commands (CMD_SYNCs) per SMMU: smmu0 15 (7), smmu1 15 (7)",
      expect.stringMatching(new RegExp(`^ {4}iotlb_sync d1 on cpu0 at \\d+: ${PARALLEL} ns, smmu0 4 \\(2\\), smmu1 4 \\(2\\)$`)),
    ]);
  });
});

describe("driver options", () => {
  test("in the file: `driver invs mainline { parallel_syncs: true; }`", async () => {
    const path = write(`driver invs mainline { parallel_syncs: true; }\n${FILE}`);
    const r = await cli("run", "--json", path);
    const doc = JSON.parse(r.out) as { files: Array<{ scenarios: Array<{ driver: unknown; metrics: { latency: unknown } }> }> };
    const [s] = doc.files[0]!.scenarios;
    expect(s!.driver).toEqual({ plugin: "driver-invs", variant: "mainline", options: { parallel_syncs: true } });
    expect(s!.metrics.latency).toEqual({ min: PARALLEL, median: PARALLEL, max: PARALLEL });
  });

  test("checked by `check`, at the option's position, against the driver's schema", async () => {
    const path = write(`driver invs mainline { parallel_syncs: yes; }\n${FILE.replace('scenario "shared" {', 'scenario "shared" {\n  driver invs v9 { parallel_sync: true; }')}`);
    const r = await cli("check", path);
    expect(r.status).toBe(2);
    expect(r.err).toBe(
      [
        `${path}:1:24: error: "parallel_syncs" must be a boolean, not a string ("yes")`,
        `${path}:8:20: error: unknown option "parallel_sync" (did you mean "parallel_syncs"?)`,
      ].join("\n"),
    );
  });

  test("on the command line: each flag named in its error, against the file's driver", async () => {
    const path = write(FILE);
    expect((await cli("run", "--driver-option", "parallel_sync", path)).err).toBe(
      `smmu-emu: --driver-option: unknown option "parallel_sync" (did you mean "parallel_syncs"?)`,
    );
    expect((await cli("run", "--driver-option", "parallel_syncs=3", path)).err).toBe(`smmu-emu: --driver-option: "parallel_syncs" must be a boolean, not 3`);
    expect((await cli("run", "--driver", "legacy", "--variant", "v9", path)).err).toBe(`smmu-emu: --variant: driver-legacy has no variant "v9"; it has v7.0`);
    expect((await cli("run", "--driver", "legacy", "--driver-option", "parallel_syncs", path)).err).toBe(
      `smmu-emu: --driver-option: unknown option "parallel_syncs" (driver-legacy takes no options)`,
    );
    expect((await cli("run", "--driver-option", "=x", path)).err).toBe(
      "error: option '--driver-option <key[=value]>' argument '=x' is invalid. not key or key=value: =x\n(run with --help for usage)",
    );
  });
});
