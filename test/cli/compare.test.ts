/**
 * `smmu-emu compare`, `run --metrics` and driver options, end to end: exact
 * output for a two-SMMU platform whose costs are set in the file, one domain
 * shared by both SMMUs (only the follow-up series, `invs share`, allows
 * that: the other drivers refuse the second SMMU, an n/a cell); the figures
 * are derived below from those costs.
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
/* the kernel's refusal of the second SMMU, as each refusing cell reports it */
const REFUSED = "attach gpu1 d1 failed: -EINVAL (arm_smmu_attach_dev: smmu_domain->smmu != master->smmu)";
const SERIAL = 2 * ONE_SMMU;
/* parallel_syncs: the second SMMU's TLBIs go out while the first's ATC round trip is in flight */
const PARALLEL = 2 * (C + S) + C + A;

describe("compare", () => {
  test("one table: legacy, invs mainline, invs v9, invs share, invs mainline +parallel_syncs; a refused second SMMU is n/a with the kernel's reason", async () => {
    const path = write(FILE);
    const r = await cli("compare", path);
    expect(r.status).toBe(0);
    expect(r.out).toBe(
      [
        `${path}: 1 scenario under 5 drivers (simulated time)`,
        "",
        "                         legacy v7.0  invs mainline       invs v9  invs share  invs mainline +parallel_syncs",
        "shared                  n/a: -EINVAL   n/a: -EINVAL  n/a: -EINVAL        PASS                   n/a: -EINVAL",
        /* the refusing drivers: gpu0's attach (11 commands, 5 syncs: CD, STE, ATC flush) and one SMMU's invalidation */
        "  commands (CMD_SYNCs)        15 (7)         15 (7)        15 (7)     30 (14)                         15 (7)",
        "  invalidations                    1              1             1           1                              1",
        "    commands                       4              4             4           8                              4",
        "    CMD_SYNCs                      2              2             2           4                              2",
        `    latency                     ${ONE_SMMU}           ${ONE_SMMU}          ${ONE_SMMU}        ${SERIAL}                           ${ONE_SMMU}`,
        `    total time                  ${ONE_SMMU}           ${ONE_SMMU}          ${ONE_SMMU}        ${SERIAL}                           ${ONE_SMMU}`,
        "    array entries                  -              2             2           4                              2",
        "",
        "commands: what the SMMUs received in the whole scenario; per invalidation (an iotlb_sync, a flush, an mm notifier call):",
        "one value, or min / median / max; times in simulated ns (cmd_ns, sync_ns, atc_inv_ns); n/a: the driver lacks what the scenario needs",
        "",
        "first failure of each failing or n/a cell:",
        `  legacy v7.0, "shared": ${path}:8:3: ${REFUSED}`,
        `  invs mainline, "shared": ${path}:8:3: ${REFUSED}`,
        `  invs v9, "shared": ${path}:8:3: ${REFUSED}`,
        `  invs mainline +parallel_syncs, "shared": ${path}:8:3: ${REFUSED}`,
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
      { label: "invs share", driver: { plugin: "driver-invs", variant: "share" } },
      { label: "invs mainline +parallel_syncs", driver: { plugin: "driver-invs", variant: "mainline", options: { parallel_syncs: true } } },
    ]);
    const [shared] = doc.scenarios;
    const both = { smmu0: { commands: 15, syncs: 7 }, smmu1: { commands: 15, syncs: 7 } };
    const refused = { smmu0: { commands: 15, syncs: 7 }, smmu1: { commands: 0, syncs: 0 } };
    const one = { min: ONE_SMMU, median: ONE_SMMU, max: ONE_SMMU };
    expect(shared!.results.map(({ config, scenario: x }) => [config, x.passed, x.metrics.latency, x.commands])).toEqual([
      ["legacy v7.0", false, one, refused],
      ["invs mainline", false, one, refused],
      ["invs v9", false, one, refused],
      ["invs share", true, { min: SERIAL, median: SERIAL, max: SERIAL }, both],
      ["invs mainline +parallel_syncs", false, one, refused],
    ]);
    /* refused for what the driver lacks: skipped there, the run's figures still reported */
    for (const i of [0, 1, 2, 4]) {
      const x = shared!.results[i]!.scenario;
      expect([x.status, x.skipped]).toEqual(["skipped", { file: path, line: 8, column: 3, reason: REFUSED, lacks: "-EINVAL" }]);
      expect(x.failures).toEqual([{ file: path, line: 8, column: 3, message: REFUSED, lacks: "-EINVAL" }]);
    }
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

  test("the README's parallel_syncs figure: the shared domain's unmap under share, 8 x (cmd 20 + sync 100) + 20 + 1000 ns", async () => {
    const r = await cli("run", "--json", "--driver-option", "parallel_syncs", "examples/invalidation-latency.smmu");
    const doc = JSON.parse(r.out) as { files: Array<{ scenarios: Array<{ driver: unknown; metrics: { latency: unknown } }> }> };
    expect(doc.files[0]!.scenarios.map((x) => [x.driver, x.metrics.latency])).toEqual([
      /* the process's 8 SVA domains: 8 notifiers, each waiting for its own syncs */
      [{ plugin: "driver-invs", variant: "mainline", options: { parallel_syncs: true } }, { min: 9120, median: 9120, max: 9120 }],
      [{ plugin: "driver-invs", variant: "share", options: { parallel_syncs: true } }, { min: 1980, median: 1980, max: 1980 }],
    ]);
    expect(readFileSync("README.md", "utf8")).toContain("8 x 120 + 1020 =\n1980 ns for the second scenario under `share`");
  });

  test("the README's refusal is what run --variant mainline prints for examples/s1-shared.smmu, first lines", async () => {
    const readme = readFileSync("README.md", "utf8");
    const start = readme.indexOf("$ npx smmu-emu run --variant mainline examples/s1-shared.smmu\n");
    expect(start).toBeGreaterThan(-1);
    const shown = readme.slice(readme.indexOf("\n", start) + 1, readme.indexOf("\n```", start));
    const r = await cli("run", "--variant", "mainline", "examples/s1-shared.smmu");
    /* skipped, not failed: mainline lacks what the scenario needs; the README shows all of it */
    expect(r.status).toBe(0);
    expect(r.out).toBe(shown);
  });

  test("each column is its configuration only: the file's driver line and options do not leak in", async () => {
    /* leaked, the variant would let mainline and v9 share the domain, and the option would make share's latency PARALLEL */
    const path = write(`driver invs share { parallel_syncs: true; }\n${FILE}`);
    const r = await cli("compare", "--json", path);
    const doc = JSON.parse(r.out) as { scenarios: Array<{ results: Array<{ config: string; scenario: JsonScenario }> }> };
    expect(doc.scenarios[0]!.results.map(({ config, scenario: x }) => [config, x.driver, x.passed, x.metrics.latency?.max])).toEqual([
      ["legacy v7.0", { plugin: "driver-legacy", variant: "v7.0" }, false, ONE_SMMU],
      ["invs mainline", { plugin: "driver-invs", variant: "mainline" }, false, ONE_SMMU],
      ["invs v9", { plugin: "driver-invs", variant: "v9" }, false, ONE_SMMU],
      ["invs share", { plugin: "driver-invs", variant: "share" }, true, SERIAL],
      ["invs mainline +parallel_syncs", { plugin: "driver-invs", variant: "mainline", options: { parallel_syncs: true } }, false, ONE_SMMU],
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
    const r = await cli("run", "--metrics", "--variant", "share", "--driver-option", "parallel_syncs", path);
    expect(r.status).toBe(0);
    expect(r.out.split("\n").slice(1, 6)).toEqual([
      "PASS shared (driver-invs share parallel_syncs)",
      expect.stringMatching(/^ {2}simulated time \d+ ns; 1 invalidation \(one value, or min \/ median \/ max\):$/),
      `    latency ns ${PARALLEL}; commands 8; CMD_SYNCs 4; array entries 4`,
      "  commands (CMD_SYNCs) per SMMU: smmu0 15 (7), smmu1 15 (7)",
      expect.stringMatching(new RegExp(`^ {4}iotlb_sync d1 on cpu0 at \\d+: ${PARALLEL} ns, smmu0 4 \\(2\\), smmu1 4 \\(2\\)$`)),
    ]);
  });
});

describe("driver options", () => {
  test("in the file: `driver invs share { parallel_syncs: true; }`", async () => {
    const path = write(`driver invs share { parallel_syncs: true; }\n${FILE}`);
    const r = await cli("run", "--json", path);
    const doc = JSON.parse(r.out) as { files: Array<{ scenarios: Array<{ driver: unknown; metrics: { latency: unknown } }> }> };
    const [s] = doc.files[0]!.scenarios;
    expect(s!.driver).toEqual({ plugin: "driver-invs", variant: "share", options: { parallel_syncs: true } });
    expect(s!.metrics.latency).toEqual({ min: PARALLEL, median: PARALLEL, max: PARALLEL });
  });

  test("checked by `check`, at the option's position, against the driver's schema", async () => {
    const path = write(`driver invs mainline { parallel_syncs: yes; }\n${FILE.replace('scenario "shared" {', 'scenario "shared" {\n  driver invs v9 { parallel_sync: true; }')}`);
    const r = await cli("check", path);
    expect(r.status).toBe(2);
    expect(r.err).toBe(
      [
        `${path}:1:24: error: "parallel_syncs" takes true or false, not "yes"`,
        `${path}:8:20: error: unknown option "parallel_sync" (did you mean "parallel_syncs"?)`,
      ].join("\n"),
    );
  });

  test("on the command line: each flag named in its error, against the file's driver", async () => {
    const path = write(FILE);
    expect((await cli("run", "--driver-option", "parallel_sync", path)).err).toBe(
      `smmu-emu: --driver-option: unknown option "parallel_sync" (did you mean "parallel_syncs"?)`,
    );
    expect((await cli("run", "--driver-option", "parallel_syncs=3", path)).err).toBe(`smmu-emu: --driver-option: "parallel_syncs" takes true or false, not the number 3`);
    expect((await cli("run", "--driver", "legacy", "--variant", "v9", path)).err).toBe(`smmu-emu: --variant: driver-legacy has no variant "v9"; it has v7.0`);
    expect((await cli("run", "--driver", "legacy", "--driver-option", "parallel_syncs", path)).err).toBe(
      `smmu-emu: --driver-option: unknown option "parallel_syncs" (driver-legacy takes no options)`,
    );
    expect((await cli("run", "--driver-option", "=x", path)).err).toBe(
      "error: option '--driver-option <key[=value]>' argument '=x' is invalid. not key or key=value: =x\n(run with --help for usage)",
    );
  });
});
