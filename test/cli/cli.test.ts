/**
 * The command line, through main(argv, io) with a capturing Io: exit
 * statuses (0 pass, 1 a failed expectation, 2 bad input or usage), the exact
 * human output, one JSON document with --json that validates against
 * schemas/report.schema.json (plugins --json: schemas/plugins.schema.json),
 * `graph`'s DOT checked by a DOT parser, command diffs that are real diffs,
 * and byte-identical output run after run.
 * Scratch files go to a temporary directory, never into the repository.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseDot, type ClusterStatementASTNode } from "@ts-graphviz/ast";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import pluginsSchema from "../../schemas/plugins.schema.json" with { type: "json" };
import reportSchema from "../../schemas/report.schema.json" with { type: "json" };
import { main } from "../../src/cli/main.js";
import type { Diagnostic } from "../../src/core/diagnostics.js";
import { loadSmmuWithPlugins } from "../../src/engine/load.js";
import type { ScenarioResult } from "../../src/engine/runner.js";
import { builtinRegistry } from "../../src/index.js";
import { jsonReport, type JsonReport } from "../../src/report/json.js";
import { cli } from "../helpers/cli.js";

// ---------------------------------------------------------------------------
// Harness

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLES = join(ROOT, "examples");
const EXAMPLE_FILES = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith(".smmu"))
  .sort()
  .map((f) => join(EXAMPLES, f));
const S1_SHARED = join(EXAMPLES, "s1-shared.smmu");
/* fixtures of test/scenarios.test.ts, whose expected files hold their human output */
const FAILED = "test/scenarios/report/failed-expectations.smmu";
const STALE = "test/scenarios/report/stale-translation.smmu";
const DIFFS = "test/scenarios/report/command-diffs.smmu";
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

const ajv = new Ajv2020({ strict: true, allErrors: true });
const validateReport = ajv.compile(reportSchema);
const validatePlugins = ajv.compile(pluginsSchema);

function schemaErrors(errors: ErrorObject[] | null | undefined): string {
  return JSON.stringify(errors ?? [], null, 2);
}

/** `text` parsed as exactly one JSON document, checked against the report schema. */
function report(text: string): Record<string, unknown> {
  const doc = JSON.parse(text) as Record<string, unknown>;
  const valid = validateReport(doc);
  expect(valid, schemaErrors(validateReport.errors)).toBe(true);
  return doc;
}

/** A stack trace line, as Node prints them. */
const STACK = /^\s+at .+(:\d+:\d+\)?|<anonymous>\)?)$/m;

// ---------------------------------------------------------------------------
// Scratch inputs

let dir = "";
const files: Record<string, string> = {};

const SOURCES: Record<string, string> = {
  "syntax.smmu": `smmu smmu0 { features: ats; }
scenario "x" {
  attach nic0 d1
}
`,
  "unknown-name.smmu": `smmu smmu0 { features: ats; }
device nic0 { smmu: smmu1; sids: 0x40; }
domain d1 { stage: s1; }
scenario "x" { attach nic0 d1; }
`,
  "topo.json": `{
  "smmus": [{ "name": "smmu0", "features": ["ats"] }],
  "devices": [{ "name": "nic0", "smmu": "smmu0", "sids": [64] }],
  "domains": [{ "name": "d1", "stage": "s1" }]
}
`,
  "topo-bad.json": `{
  "smmus": [{ "name": "smmu0", "features": ["ats"] }],
  "devices": [{ "name": "nic0", "smmu": "smmu0", "sids": ["0x40"] }],
  "domains": [{ "name": "d1", "stage": "s1" }]
}
`,
  /* every kind of node and edge graph draws; a scenario title DOT must escape */
  "graph.smmu": `// a small topology for \`graph\`
smmu smmu0 { features: ats, nesting; options: force_sync; }
smmu smmu1 { features: range_inv; }
device gpu0 { smmu: smmu0; sids: 0x100, 0x101; ats: true; pasid_bits: 8; }
device nic0 { smmu: smmu1; sids: 0x40; }
vsmmu vsmmu0 { smmu: smmu0; parent: s2; }
domain s2 { stage: s2; nest_parent: true; }
domain guest { stage: nested; vsmmu: vsmmu0; ats: false; }
domain d1 { stage: s1; page_size: 16K; }

scenario "quotes \\" and a back\\\\slash" {
  attach gpu0 guest;
  attach nic0 d1;
  fail alloc invs;
  expect error -ENOMEM { attach nic0 s2; }
  attach gpu0 blocked;
  attach gpu0 d1 pasid 1;
  detach nic0;
}
`,
  /* graph.smmu's topology, written as JSON */
  "graph.json": `{
  "smmus": [
    { "name": "smmu0", "features": ["ats", "nesting"], "options": ["force_sync"] },
    { "name": "smmu1", "features": ["range_inv"] }
  ],
  "devices": [
    { "name": "gpu0", "smmu": "smmu0", "sids": [256, 257], "ats": true, "pasidBits": 8 },
    { "name": "nic0", "smmu": "smmu1", "sids": [64] }
  ],
  "vsmmus": [{ "name": "vsmmu0", "smmu": "smmu0", "parent": "s2" }],
  "domains": [
    { "name": "s2", "stage": "s2", "nestParent": true },
    { "name": "guest", "stage": "nested", "vsmmu": "vsmmu0", "ats": false },
    { "name": "d1", "stage": "s1", "pageSize": 16384 }
  ]
}
`,
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "smmu-emu-cli-"));
  for (const [name, text] of Object.entries(SOURCES)) {
    files[name] = join(dir, name);
    writeFileSync(files[name], text);
  }
  files["a-directory"] = join(dir, "a-directory.smmu");
  mkdirSync(files["a-directory"]);
  files.missing = join(dir, "missing.smmu");
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const f = (name: string): string => {
  const p = files[name];
  if (p === undefined) throw new Error(`no scratch file ${name}`);
  return p;
};

// ---------------------------------------------------------------------------
// run

describe("run", () => {
  test("a passing file: exit 0, one PASS line per scenario and the summary", async () => {
    const r = await cli("run", S1_SHARED);
    expect(r).toEqual({
      status: 0,
      stdout: `${S1_SHARED}\nPASS one S1 domain on two SMMUs (driver-invs share)\n1 scenario: 1 passed, 0 failed\n`,
      stderr: "",
    });
  });

  test("a syntax error: exit 2, file:line:col: error: message on stderr, no stack trace", async () => {
    const p = f("syntax.smmu");
    const r = await cli("run", p);
    expect(r).toEqual({
      status: 2,
      stdout: "0 scenarios: 0 passed, 0 failed; 1 file(s) not run: bad input\n",
      stderr: `${p}:3:17: error: expected ';' but found '}'\n`,
    });
    expect(r.stderr).not.toMatch(STACK);
  });

  test("a topology error: exit 2 with every diagnostic, positioned", async () => {
    const p = f("unknown-name.smmu");
    const r = await cli("run", p);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${escape(p)}:2:21: error: unknown SMMU "smmu1"`));
    expect(r.stderr).not.toMatch(STACK);
  });

  test("bad input in one file still runs the others, and exits 2", async () => {
    const r = await cli("run", S1_SHARED, f("syntax.smmu"));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe(
      `${S1_SHARED}\nPASS one S1 domain on two SMMUs (driver-invs share)\n1 scenario: 1 passed, 0 failed; 1 file(s) not run: bad input\n`,
    );
    expect(r.stderr).toBe(`${f("syntax.smmu")}:3:17: error: expected ';' but found '}'\n`);
  });

  test("on a terminal: in colour, unless --no-color; --json never", async () => {
    const onTerminal = async (...argv: string[]): Promise<string> => {
      let out = "";
      await main(argv, { out: (t) => void (out += `${t}\n`), err: () => undefined, tty: true });
      return out;
    };
    const plain = readFileSync(join(ROOT, FAILED.replace(/\.smmu$/, ".expected")), "utf8");
    const coloured = await onTerminal("run", FAILED);
    expect(coloured.split("\n").slice(0, 3)).toEqual([`\x1b[1m${FAILED}\x1b[22m`, "\x1b[32mPASS\x1b[39m passes \x1b[2m(driver-invs mainline)\x1b[22m", "\x1b[31mFAIL\x1b[39m fails \x1b[2m(driver-invs mainline)\x1b[22m"]);
    expect(coloured.replace(/\x1b\[\d+m/g, "")).toBe(plain);
    expect(await onTerminal("run", "--no-color", FAILED)).toBe(plain);
    expect(await onTerminal("--json", "run", FAILED)).not.toContain("\x1b");
  });

  test("an unreadable path: exit 2 with the reason", async () => {
    const missing = f("missing");
    const r = await cli("run", missing);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`${missing}:1:1: error: cannot read ${missing}: ENOENT\n`);
    expect(r.stdout).toBe("0 scenarios: 0 passed, 0 failed; 1 file(s) not run: bad input\n");

    const d = f("a-directory");
    const rd = await cli("run", d);
    expect(rd.status).toBe(2);
    expect(rd.stderr).toBe(`${d}:1:1: error: cannot read ${d}: EISDIR\n`);
  });

  test("--json with bad input: exit 2, exactly one JSON document on stdout, nothing on stderr", async () => {
    const p = f("syntax.smmu");
    const r = await cli("--json", "run", p);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("");
    const doc = report(r.stdout);
    expect(doc).toEqual({
      formatVersion: 1,
      tool: "smmu-emu",
      version: VERSION,
      files: [],
      diagnostics: [{ file: p, line: 3, column: 17, severity: "error", code: "parse", message: "expected ';' but found '}'" }],
      summary: { scenarios: 0, passed: 0, failed: 0, skipped: 0, rejected: 1 },
    });
    /* one document: exactly what JSON.stringify printed, nothing before or after */
    expect(r.stdout).toBe(`${JSON.stringify(doc, null, 2)}\n`);
  });

  test("--json works after the command too", async () => {
    const a = await cli("--json", "run", f("syntax.smmu"));
    const b = await cli("run", "--json", f("syntax.smmu"));
    expect(b).toEqual(a);
  });

  test("--json with an unreadable path: one document with the io diagnostic", async () => {
    const missing = f("missing");
    const r = await cli("run", "--json", missing);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("");
    const doc = report(r.stdout);
    expect(doc.diagnostics).toEqual([{ file: missing, line: 1, column: 1, severity: "error", code: "io", message: `cannot read ${missing}: ENOENT` }]);
  });

  test("--scenario NAME runs only that scenario", async () => {
    const p = FAILED;
    const r = await cli("run", "--scenario", "passes", p);
    expect(r).toEqual({ status: 0, stdout: `${p}\nPASS passes (driver-invs mainline)\n1 scenario: 1 passed, 0 failed\n`, stderr: "" });

    const r2 = await cli("run", "--scenario", "fails", p);
    expect(r2.status).toBe(1);
    expect(r2.stdout).toContain("FAIL fails (driver-invs mainline)\n");
    expect(r2.stdout).not.toContain("passes");
    expect(r2.stdout.endsWith("1 scenario: 0 passed, 1 failed\n")).toBe(true);
  });

  test("--scenario with an unknown NAME: exit 2, the message lists the scenarios", async () => {
    const p = FAILED;
    const r = await cli("run", "--scenario", "nope", p);
    expect(r).toEqual({
      status: 2,
      stdout: "0 scenarios: 0 passed, 0 failed; 1 file(s) not run: bad input\n",
      stderr: `${p}:1:1: error: no scenario named "nope" ("passes", "fails")\n`,
    });
  });

  test("--variant v9 changes the driver variant shown", async () => {
    const sva = join(EXAMPLES, "sva-4-smmus.smmu");
    const r = await cli("run", "--variant", "v9", sva);
    expect(r).toEqual({
      status: 0,
      stdout: `${sva}\nPASS bind, munmap, release, unbind (driver-invs v9)\n1 scenario: 1 passed, 0 failed\n`,
      stderr: "",
    });
    const json = report((await cli("run", "--json", "--variant", "v9", sva)).stdout);
    const files = json.files as Array<{ scenarios: Array<{ driver: unknown }> }>;
    expect(files[0]?.scenarios[0]?.driver).toEqual({ plugin: "driver-invs", variant: "v9" });
  });

  test("--variant overrides a scenario's own driver line", async () => {
    const v9 = join(EXAMPLES, "v9-as-posted.smmu");
    const r = await cli("run", "--variant", "mainline", v9);
    expect(r.status).toBe(1);
    const heads = r.stdout.match(/^(PASS|FAIL) .*$/gm) ?? [];
    expect(heads.length).toBeGreaterThan(0);
    for (const h of heads) expect(h).toMatch(/^FAIL .*\(driver-invs mainline\)$/);
  });

  test("--variant with an unknown variant: exit 2 naming the variants", async () => {
    const r = await cli("run", "--variant", "v7", S1_SHARED);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`smmu-emu: --variant: driver-invs has no variant "v7" (did you mean "v9"?); it has mainline, v9, share\n`);
  });

  test("--step-limit takes a positive integer", async () => {
    const r = await cli("run", "--step-limit", "100000", S1_SHARED);
    expect(r.status).toBe(0);
    const bad = await cli("run", "--step-limit", "0", S1_SHARED);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe("");
  });

  test("--step-limit 0 says what is wrong", async () => {
    const bad = await cli("run", "--step-limit", "0", S1_SHARED);
    expect(bad.stderr).toBe("error: option '--step-limit <n>' argument '0' is invalid. not a positive integer: 0\n(run with --help for usage)\n");
  });

  test("--driver naming no driver plugin is a usage error, before anything runs", async () => {
    const r = await cli("run", "--driver", "invz", S1_SHARED);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`smmu-emu: --driver: no driver plugin "driver-invz" (did you mean "driver-invs"?); loaded: driver-legacy, driver-invs\n`);
  });

  test("no command at all: the help, on stderr, as a usage error", async () => {
    const r = await cli();
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^Usage: smmu-emu \[options\] \[command\]\n/);
  });

  test("a command's help lists the global options", async () => {
    const r = await cli("run", "--help");
    expect(r.stdout).toMatch(/\nGlobal Options:\n[\s\S]*\n  --json +print one machine-readable JSON report/);
  });

  test("run with no files is a usage error", async () => {
    const r = await cli("run");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("error: missing required argument 'files'\n(run with --help for usage)\n");
  });
});

// ---------------------------------------------------------------------------
// check and validate

/** The plugins a topology of plain SMMUs and devices uses: each kind's default, and the default driver. */
const BUILTINS_USED = [
  { name: "driver-invs", kind: "driver", version: VERSION },
  { name: "pcie-ats", kind: "device", version: VERSION },
  { name: "smmu-v3", kind: "smmu", version: VERSION },
];

/** The report of check or validate with a good input, before what was checked. */
const NOTHING_RUN = { formatVersion: 1, tool: "smmu-emu", version: VERSION, files: [], diagnostics: [], summary: { scenarios: 0, passed: 0, failed: 0, skipped: 0, rejected: 0 } };

describe("check", () => {
  test("a good file: exit 0 and one ok line", async () => {
    const r = await cli("check", S1_SHARED);
    expect(r).toEqual({ status: 0, stdout: `${S1_SHARED}: ok: 2 SMMU(s), 2 device(s), 0 vSMMU(s), 1 domain(s), 1 scenario(s)\n`, stderr: "" });
    const p = FAILED;
    expect((await cli("check", p)).stdout).toBe(`${p}: ok: 1 SMMU(s), 1 device(s), 0 vSMMU(s), 1 domain(s), 2 scenario(s)\n`);
  });

  test("check does not run: a file whose expectations fail checks ok", async () => {
    expect((await cli("check", STALE)).status).toBe(0);
  });

  test("a bad file: exit 2 with the diagnostics on stderr", async () => {
    const p = f("syntax.smmu");
    expect(await cli("check", p)).toEqual({ status: 2, stdout: "", stderr: `${p}:3:17: error: expected ';' but found '}'\n` });
    const missing = f("missing");
    expect(await cli("check", missing)).toEqual({ status: 2, stdout: "", stderr: `${missing}:1:1: error: cannot read ${missing}: ENOENT\n` });
  });

  test("--json: one report that says what was checked, or with the diagnostics when the file is bad", async () => {
    const ok = await cli("--json", "check", S1_SHARED);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toBe("");
    expect(report(ok.stdout)).toEqual({
      ...NOTHING_RUN,
      checked: {
        file: S1_SHARED,
        input: "smmu",
        smmus: 2,
        devices: 2,
        vsmmus: 0,
        domains: 1,
        scenarios: 1,
        plugins: BUILTINS_USED,
      },
    });
    const bad = await cli("--json", "check", f("syntax.smmu"));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("");
    const doc = report(bad.stdout);
    expect((doc.diagnostics as Diagnostic[]).map((d) => `${d.line}:${d.column}: ${d.message}`)).toEqual(["3:17: expected ';' but found '}'"]);
    expect(doc.summary).toEqual({ scenarios: 0, passed: 0, failed: 0, skipped: 0, rejected: 1 });
    expect(doc).not.toHaveProperty("checked");
  });

  test("--json: the plugins used are those the nodes name, what they extend, and every driver line's", async () => {
    const tegra = await cli("--json", "check", join(EXAMPLES, "tegra264-erratum.smmu"));
    expect(tegra.status).toBe(0);
    const checked = report(tegra.stdout).checked as { plugins: unknown[]; smmus: number; scenarios: number };
    /* smmu0 is a tegra264-smmu, which extends smmu-v3 (smmu1's) */
    expect(checked.plugins).toEqual([...BUILTINS_USED, { name: "tegra264-smmu", kind: "smmu", version: "1.0.0" }]);
    const nested = report((await cli("--json", "check", join(EXAMPLES, "nested-8-vsmmus.smmu"))).stdout).checked;
    expect(nested).toMatchObject({ input: "smmu", smmus: 8, devices: 8, vsmmus: 8, domains: 9, scenarios: 3 });
    expect((nested as { plugins: Array<{ name: string }> }).plugins.map((p) => p.name)).toEqual(["driver-invs", "pcie-ats", "smmu-v3", "vsmmu"]);
  });
});

describe("validate", () => {
  test("a valid topology: exit 0 and one ok line", async () => {
    const p = f("topo.json");
    expect(await cli("validate", p)).toEqual({ status: 0, stdout: `${p}: ok: 1 SMMU(s), 1 device(s), 0 vSMMU(s), 1 domain(s)\n`, stderr: "" });
  });

  test("a schema violation: exit 2 with a positioned message and its hint", async () => {
    const p = f("topo-bad.json");
    expect(await cli("validate", p)).toEqual({
      status: 2,
      stdout: "",
      stderr: `${p}:3:59: error: sids[0] must be an integer, not a string ("0x40")\n  hint: JSON has no hexadecimal numbers: write 64\n`,
    });
  });

  test("--json: what was checked, with no scenarios", async () => {
    const p = f("topo.json");
    const r = await cli("--json", "validate", p);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(report(r.stdout)).toEqual({
      ...NOTHING_RUN,
      checked: { file: p, input: "json", smmus: 1, devices: 1, vsmmus: 0, domains: 1, scenarios: 0, plugins: BUILTINS_USED },
    });
  });

  test("--json: the diagnostic with its range, code and hint", async () => {
    const p = f("topo-bad.json");
    const r = await cli("--json", "validate", p);
    expect(r.status).toBe(2);
    expect(report(r.stdout).diagnostics).toEqual([
      {
        file: p,
        line: 3,
        column: 59,
        endLine: 3,
        endColumn: 65,
        severity: "error",
        code: "schema",
        message: 'sids[0] must be an integer, not a string ("0x40")',
        hint: "JSON has no hexadecimal numbers: write 64",
      },
    ]);
  });

  test("an unreadable path: exit 2", async () => {
    const missing = join(dir, "missing.json");
    expect(await cli("validate", missing)).toEqual({ status: 2, stdout: "", stderr: `${missing}:1:1: error: cannot read ${missing}: ENOENT\n` });
  });
});

// ---------------------------------------------------------------------------
// graph

/** The clusters and domains of graph.smmu's DOT, with or without a scenario. */
function graphTopology(): string[] {
  return [
    String.raw`  subgraph "cluster_smmu/smmu0" {`,
    String.raw`    graph [label="", style="rounded", color="gray60"];`,
    String.raw`    "smmu/smmu0" [label="smmu0\nfeatures: ats, nesting\noptions: force_sync", shape="box3d"];`,
    String.raw`    "device/gpu0" [label="gpu0\nsids: 0x100, 0x101\nats: true\npasid_bits: 8", shape="box", style="rounded"];`,
    String.raw`    "vsmmu/vsmmu0" [label="vsmmu0\nvSMMU", shape="hexagon"];`,
    String.raw`  }`,
    String.raw`  subgraph "cluster_smmu/smmu1" {`,
    String.raw`    graph [label="", style="rounded", color="gray60"];`,
    String.raw`    "smmu/smmu1" [label="smmu1\nfeatures: range_inv", shape="box3d"];`,
    String.raw`    "device/nic0" [label="nic0\nsids: 0x40", shape="box", style="rounded"];`,
    String.raw`  }`,
    String.raw`  "domain/s2" [label="s2\nstage: s2\nnest_parent: true", shape="ellipse"];`,
    String.raw`  "domain/guest" [label="guest\nstage: nested\nats: false", shape="ellipse"];`,
    String.raw`  "domain/d1" [label="d1\nstage: s1\npage_size: 16K", shape="ellipse"];`,
  ];
}

const GRAPH_EDGES = [
  String.raw`  "vsmmu/vsmmu0" -> "domain/s2" [label="S2 parent", style="dashed"];`,
  String.raw`  "vsmmu/vsmmu0" -> "domain/guest" [label="nested", style="dashed"];`,
];

const GRAPH_SCENARIO = 'quotes " and a back\\slash';

interface DotStructure {
  /** node id -> the cluster it is declared in (null: at the top) */
  nodes: Map<string, string | null>;
  edges: Array<[string, string]>;
  clusters: string[];
  /** the graph's own attributes, as the parser reads them (quotes unescaped, nothing else) */
  graphAttrs: Record<string, string>;
}

/**
 * Parse DOT with ts-graphviz's parser (it throws on a syntax error) and check
 * its structure: one directed graph, every ID quoted, every node declared
 * once, every edge between declared nodes, subgraphs only as clusters.
 */
function dotStructure(text: string): DotStructure {
  const ast = parseDot(text);
  const graphs = ast.children.filter((c) => c.type === "Graph");
  expect(graphs).toHaveLength(1);
  const g = graphs[0]!;
  expect(g.directed).toBe(true);
  expect(g.id?.quoted).toBe(true);
  const out: DotStructure = { nodes: new Map(), edges: [], clusters: [], graphAttrs: {} };
  const walk = (stmts: readonly ClusterStatementASTNode[], cluster: string | null): void => {
    for (const s of stmts) {
      switch (s.type) {
        case "Node":
          expect(s.id.quoted, s.id.value).toBe(true);
          expect(out.nodes.has(s.id.value), `${s.id.value} declared twice`).toBe(false);
          out.nodes.set(s.id.value, cluster);
          for (const a of s.children) expect(a.type === "Attribute" && a.value.quoted).toBe(true);
          break;
        case "Edge":
          expect(s.targets).toHaveLength(2);
          for (const t of s.targets) expect(t.type === "NodeRef" && t.id.quoted).toBe(true);
          out.edges.push(s.targets.map((t) => (t.type === "NodeRef" ? t.id.value : "")) as [string, string]);
          break;
        case "Subgraph":
          expect(cluster).toBeNull();
          expect(s.id?.quoted).toBe(true);
          expect(s.id?.value).toMatch(/^cluster/);
          out.clusters.push(s.id!.value);
          walk(s.children, s.id!.value);
          break;
        case "AttributeList":
          for (const a of s.children) {
            expect(a.type === "Attribute" && a.value.quoted).toBe(true);
            if (a.type === "Attribute" && s.kind === "Graph" && cluster === null) out.graphAttrs[a.key.value] = a.value.value;
          }
          break;
        default:
          break;
      }
    }
  };
  walk(g.children, null);
  for (const [from, to] of out.edges) {
    expect(out.nodes.has(from), `edge from undeclared ${from}`).toBe(true);
    expect(out.nodes.has(to), `edge to undeclared ${to}`).toBe(true);
  }
  return out;
}

describe("graph", () => {
  /* the .json is graph.smmu's topology written as JSON, as validate takes it: the same drawing */
  test.each([["graph.smmu"], ["graph.json"]])("a topology (%s): its DOT, exactly, on stdout", async (name) => {
    const p = f(name);
    const r = await cli("graph", p);
    expect(r).toEqual({
      status: 0,
      stdout: [`digraph "smmu-emu" {`, `  graph [label="${p}", labelloc="t", rankdir="LR"];`, ...graphTopology(), ...GRAPH_EDGES, "}", ""].join("\n"),
      stderr: "",
    });
  });

  test("--scenario NAME: its attachments in the order written; solid at the end, dotted replaced, dashed in expect error", async () => {
    const p = f("graph.smmu");
    const r = await cli("graph", p, "--scenario", GRAPH_SCENARIO);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      [
        `digraph "smmu-emu" {`,
        String.raw`  graph [label="${p}\nscenario \"quotes \" and a back\\slash\"", labelloc="t", rankdir="LR"];`,
        ...graphTopology(),
        String.raw`  "static/blocked" [label="blocked\nstatic domain", shape="ellipse", style="dashed"];`,
        ...GRAPH_EDGES,
        String.raw`  "device/gpu0" -> "domain/guest" [label="#1 (line 12)", style="dotted", color="gray50", fontcolor="gray50"];`,
        String.raw`  "device/nic0" -> "domain/d1" [label="#2 (line 13)", style="dotted", color="gray50", fontcolor="gray50"];`,
        String.raw`  "device/nic0" -> "domain/s2" [label="#3 (line 15)\nexpect error", style="dashed", color="red", fontcolor="red"];`,
        String.raw`  "device/gpu0" -> "static/blocked" [label="#4 (line 16)", style="solid", penwidth="2"];`,
        String.raw`  "device/gpu0" -> "domain/d1" [label="#5 pasid 1 (line 17)", style="solid", penwidth="2"];`,
        String.raw`  "device/nic0" -> "static/blocked" [label="#6 (line 18)", style="solid", penwidth="2"];`,
        "}",
        "",
      ].join("\n"),
    );
    /* a DOT parser reads the title back as written: the quotes escaped once, the backslash doubled for the label */
    expect(dotStructure(r.stdout).graphAttrs.label).toBe(String.raw`${p}\nscenario "quotes " and a back\\slash"`);
  });

  test("bad input: the same diagnostics and exit 2 as check (and validate for .json)", async () => {
    for (const name of ["syntax.smmu", "unknown-name.smmu", "missing", "a-directory"]) {
      const g = await cli("graph", f(name));
      expect(g.status, name).toBe(2);
      expect(g.stderr).not.toBe("");
      expect(g).toEqual(await cli("check", f(name)));
    }
    expect(await cli("graph", f("topo-bad.json"))).toEqual(await cli("validate", f("topo-bad.json")));
  });

  test("--scenario naming no scenario, or on a JSON topology: exit 2, positioned", async () => {
    const p = f("graph.smmu");
    expect(await cli("graph", p, "--scenario", "nope")).toEqual({
      status: 2,
      stdout: "",
      stderr: `${p}:1:1: error: no scenario named "nope" ("${GRAPH_SCENARIO}")\n`,
    });
    const j = f("graph.json");
    expect(await cli("graph", j, "--scenario", "x")).toEqual({ status: 2, stdout: "", stderr: `${j}:1:1: error: a topology written as JSON has no scenarios\n` });
  });

  test("--json does not apply: a usage error", async () => {
    expect(await cli("--json", "graph", S1_SHARED)).toEqual({ status: 2, stdout: "", stderr: "smmu-emu: graph: --json does not apply: graph prints DOT\n" });
  });

  test("every example, alone and with each of its scenarios: DOT that parses, every node of the topology once, in its SMMU's cluster", async () => {
    for (const path of EXAMPLE_FILES) {
      const file = await loadSmmuWithPlugins(path, builtinRegistry());
      const t = file.topology;
      for (const scenario of [undefined, ...file.scenarios.map((s) => s.name)]) {
        const r = await cli("graph", path, ...(scenario === undefined ? [] : ["--scenario", scenario]));
        expect(r.status, `${path} ${scenario}`).toBe(0);
        expect(r.stderr).toBe("");
        const dot = dotStructure(r.stdout);
        const want = new Map<string, string | null>([
          ...t.smmus.map((s): [string, string] => [`smmu/${s.name}`, `cluster_smmu/${s.name}`]),
          ...t.devices.map((d): [string, string] => [`device/${d.name}`, `cluster_smmu/${d.smmu}`]),
          ...(t.vsmmus ?? []).map((v): [string, string] => [`vsmmu/${v.name}`, `cluster_smmu/${v.smmu}`]),
          ...t.domains.map((d): [string, null] => [`domain/${d.name}`, null]),
        ]);
        const statics = [...dot.nodes.keys()].filter((n) => n.startsWith("static/"));
        for (const s of statics) want.set(s, null);
        expect(statics.every((s) => s === "static/blocked" || s === "static/identity")).toBe(true);
        expect(dot.nodes).toEqual(want);
        expect(dot.clusters).toEqual(t.smmus.map((s) => `cluster_smmu/${s.name}`));
        if (scenario === undefined) expect(dot.edges.every(([from]) => from.startsWith("vsmmu/"))).toBe(true);
      }
    }
  });

  test("the same input gives byte-identical DOT", async () => {
    const argv = ["graph", join(EXAMPLES, "nested-8-vsmmus.smmu"), "--scenario", "one S2 shared by 8 vSMMUs"];
    const a = await cli(...argv);
    expect(a.status).toBe(0);
    expect(await cli(...argv)).toEqual(a);
  });
});

// ---------------------------------------------------------------------------
// Command diffs

describe("expect commands: a diff, not positional", () => {
  /* how the diff reads is test/scenarios/report/command-diffs.expected; here, that --json carries the same lines */
  const TLBI = (page: number): string => `TLBI_NH_VA asid 1 vmid 0 num 0 scale 0 leaf 1 ttl 0 tg 0 addr 0x${page.toString(16)}000`;
  const matched = (...lines: string[]): string[] => lines.map((l) => `    ${l}`);
  const ATC_INV = "ATC_INV sid 0x40 ssid 0 ssv 0 global 0 size 3 addr 0x10000";
  const FIELD = ["  ... 6 as expected", ...matched(TLBI(0x16), TLBI(0x17), "CMD_SYNC"), "  - ATC_INV sid 0x40 size 2 addr 0x10000", `  + ${ATC_INV}`, ...matched("CMD_SYNC")];

  test("--json carries the same lines as the failure's detail", async () => {
    const p = DIFFS;
    const doc = report((await cli("--json", "run", "--scenario", "one field differs", p)).stdout);
    const [file] = doc.files as Array<{ scenarios: Array<{ failures: unknown[] }> }>;
    expect(file?.scenarios[0]?.failures).toEqual([{ file: p, line: 52, column: 3, message: "commands on smmu0 differ", detail: FIELD }]);
  });
});

// ---------------------------------------------------------------------------
// Usage

describe("usage", () => {
  const HELP: Array<[string, string[], string[]]> = [
    ["smmu-emu", [], ["-V, --version", "--json", "--no-color", "-h, --help", "run [options] <files...>", "check [options] <file>", "validate [options] <file>", "export [options] <file>", "graph [options] <file>"]],
    ["run", ["run"], ["<files...>", "--scenario <name>", "--topology <file>", "--driver <name>", "--variant <name>", "--step-limit <n>", "--timeout <seconds>", "-h, --help"]],
    ["check", ["check"], ["<file>", "--topology <file>", "--timeout <seconds>", "-h, --help"]],
    ["export", ["export"], ["<file>", "--timeout <seconds>", "-h, --help"]],
    ["graph", ["graph"], ["<file>", "--scenario <name>", "--timeout <seconds>", "-h, --help", "Solid: what the device", "dot -Tsvg"]],
    ["validate", ["validate"], ["<file>", "--timeout <seconds>", "-h, --help"]],
    ["explore", ["explore"], ["<files...>", "--split-depth <d>", "--timeout <seconds>", "--jobs <n>", "-h, --help"]],
  ];

  test.each(HELP)("%s --help: exit 0 and every option listed", async (_name, cmd, options) => {
    for (const argv of [[...cmd, "--help"], [...cmd, "-h"]]) {
      const r = await cli(...argv);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(new RegExp(`^Usage: smmu-emu${cmd.length ? ` ${cmd[0]!}` : ""} \\[options\\]`));
      for (const o of options) expect(r.stdout).toContain(o);
    }
  });

  test("every command the top-level help lists has a --help of its own", async () => {
    const top = await cli("--help");
    const commands = [...(top.stdout.split(/^Commands:$/m)[1] ?? "").matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== "help");
    expect(commands).toEqual(expect.arrayContaining(["run", "check", "validate", "graph"]));
    for (const c of commands) {
      const r = await cli(c, "--help");
      expect(r.status, c).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(new RegExp(`^Usage: smmu-emu ${c} `));
      expect(r.stdout).toContain("-h, --help");
    }
  });

  test("help COMMAND is the command's --help", async () => {
    for (const c of ["run", "check", "validate", "graph"]) {
      const a = await cli("help", c);
      expect(a.status).toBe(0);
      expect(a).toEqual(await cli(c, "--help"));
    }
  });

  test("--version: exit 0 and the package version", async () => {
    expect(await cli("--version")).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: "" });
  });

  test("an unknown option: exit 2 and an error on stderr", async () => {
    for (const argv of [["--bogus"], ["run", "--bogus", S1_SHARED], ["check", "--frob", S1_SHARED]]) {
      const r = await cli(...argv);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^error: unknown option '--(bogus|frob)'\n\(run with --help for usage\)\n$/);
    }
  });

  test("an unknown command: exit 2", async () => {
    const r = await cli("frob");
    expect(r).toEqual({ status: 2, stdout: "", stderr: "error: unknown command 'frob'\n(run with --help for usage)\n" });
  });

  test("a missing option argument: exit 2", async () => {
    const r = await cli("run", S1_SHARED, "--scenario");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("error: option '--scenario <name>' argument missing\n(run with --help for usage)\n");
  });
});

// ---------------------------------------------------------------------------
// The JSON report and its schema

describe("--json reports validate against schemas/report.schema.json", () => {
  test("a failing run", async () => {
    const p = FAILED;
    const r = await cli("--json", "run", p);
    expect(r.status).toBe(1);
    const doc = report(r.stdout);
    expect(doc.summary).toEqual({ scenarios: 2, passed: 1, failed: 1, skipped: 0, rejected: 0 });
    const [file] = doc.files as Array<{ file: string; scenarios: Array<Record<string, unknown>> }>;
    expect(file?.file).toBe(p);
    expect(file?.scenarios[1]).toMatchObject({
      name: "fails",
      passed: false,
      driver: { plugin: "driver-invs", variant: "mainline" },
      file: p,
      line: 11,
      column: 10,
      violations: [],
      warnings: [],
    });
    expect(file?.scenarios[1]?.failures).toEqual([
      { file: p, line: 13, column: 3, message: "expected 3 commands on smmu0, got 11" },
      {
        file: p,
        line: 14,
        column: 3,
        message: "the invalidation array of d1 differs",
        detail: ["    smmu0 S1_ASID 1 ssid 0 users 1", "  - smmu0 ATS 0x41 ssid 0 users 1", "  + smmu0 ATS 0x40 ssid 0 users 1"],
      },
      {
        file: p,
        line: 17,
        column: 3,
        message: "commands on smmu0 differ",
        detail: [
          "    TLBI_NH_VA asid 1 vmid 0 num 0 scale 0 leaf 1 ttl 0 tg 0 addr 0x1000",
          "    CMD_SYNC",
          "    ATC_INV sid 0x40 ssid 0 ssv 0 global 0 size 0 addr 0x1000",
          "  + CMD_SYNC",
        ],
      },
    ]);
  });

  test("a run with a stale translation: the violation, its IOVA in hex and the op that should have removed it", async () => {
    const p = STALE;
    const r = await cli("--json", "run", p);
    expect(r.status).toBe(1);
    const doc = report(r.stdout);
    const [file] = doc.files as Array<{ scenarios: Array<Record<string, unknown>> }>;
    expect(file?.scenarios[0]?.violations).toEqual([
      {
        kind: "stale-translation",
        message: `gpu0 read 0x10000 pasid 2 was served from gpu0.atc (to 0x1000000000), but "unmap d1 0x10000 size 0x1000" at ${p}:14:3 removed that translation and has returned`,
        device: "gpu0",
        iova: "0x10000",
        cache: "gpu0.atc",
        op: { seq: 6, label: "unmap d1 0x10000 size 0x1000", at: `${p}:14:3`, cpu: "cpu0" },
        during: { seq: 7, label: "dma gpu0 read 0x10000", at: `${p}:15:3`, cpu: "cpu0" },
      },
    ]);
    expect(file?.scenarios[0]?.commands).toEqual({ smmu0: { commands: 22, syncs: 10 } });
  });

  test("bad input, passing and failing files together", async () => {
    const r = await cli("--json", "run", S1_SHARED, FAILED, f("syntax.smmu"), f("missing"), f("unknown-name.smmu"));
    expect(r.status).toBe(2);
    const doc = report(r.stdout);
    /* the files run, in the order given */
    expect((doc.files as Array<{ file: string }>).map((x) => x.file)).toEqual([S1_SHARED, FAILED]);
    expect((doc.diagnostics as Diagnostic[]).length).toBeGreaterThanOrEqual(3);
    /* s1-shared passes its one, failed-expectations passes one of two; the other three files are not run */
    expect(doc.summary).toEqual({ scenarios: 3, passed: 2, failed: 1, skipped: 0, rejected: 3 });
  });

  test("every optional field jsonReport can emit is allowed, and only those", () => {
    const span = { file: "a.smmu", line: 3, column: 5 };
    const result: ScenarioResult = {
      name: "",
      span,
      driver: { plugin: "driver-invs", variant: "mainline" },
      passed: false,
      failures: [{ span, message: "m", detail: ["  - a", "  + b", "    c"] }, { span, message: "n" }],
      violations: [
        { kind: "stale-translation", message: "s", device: "gpu0", iova: 0xffff_ffff_f000, cache: "smmu0.iotlb", op: { seq: 3, label: "unmap d1", at: "a.smmu:4:3", cpu: "cpu0" }, during: { seq: 4, label: "dma", cpu: "cpu0" } },
        { kind: "tag-not-flushed", message: "t", op: { seq: 1, label: "detach", cpu: "cpu0" } },
        { kind: "tag-not-flushed", message: "u" },
      ],
      warnings: ["WARNING: arm_smmu_invs_unref: refcount < 0"],
      commands: { smmu0: { commands: 0, syncs: 0 }, "smmu.1-x": { commands: 7, syncs: 2 } },
      metrics: { elapsed: 0, invalidations: [], latency: null, commandsPerInvalidation: null, syncsPerInvalidation: null, arrayEntries: null, caches: {}, walks: {} },
    };
    const diags: Diagnostic[] = [
      { file: "<topology>", line: 1, column: 1, severity: "warning", code: "schema", message: "w" },
      { file: "a.smmu", line: 2, column: 3, endLine: 2, endColumn: 9, severity: "error", code: "parse", message: "e", hint: "h" },
    ];
    const skipped: ScenarioResult = { ...result, passed: false, skipped: { span, reason: "r", lacks: "no array" }, failures: [{ span, message: "r", lacks: "no array" }], violations: [], warnings: [] };
    const doc = JSON.parse(JSON.stringify(jsonReport([{ file: "a.smmu", scenarios: [result, skipped] }], diags, "1.2.3"))) as Record<string, unknown>;
    expect(validateReport(doc), schemaErrors(validateReport.errors)).toBe(true);
    expect(validateReport(JSON.parse(JSON.stringify(jsonReport([], [], "0.0.0"))))).toBe(true);

    /* the schema is closed: an extra or a missing property, a wrong type, all rejected */
    const mutate = (edit: (d: any) => void): boolean => {
      const copy = structuredClone(doc) as any;
      edit(copy);
      return validateReport(copy);
    };
    expect(mutate((d) => (d.extra = 1))).toBe(false);
    expect(mutate((d) => (d.formatVersion = 2))).toBe(false);
    expect(mutate((d) => delete d.summary)).toBe(false);
    expect(mutate((d) => (d.summary.errors = 0))).toBe(false);
    expect(mutate((d) => delete d.summary.skipped)).toBe(false);
    /* a skipped scenario says why, only a skipped one does, and it neither passed nor has failures */
    expect(mutate((d) => (d.files[0].scenarios[0].status = "other"))).toBe(false);
    expect(mutate((d) => delete d.files[0].scenarios[1].skipped)).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[0].skipped = d.files[0].scenarios[1].skipped))).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[1].passed = true))).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[1].failures = []))).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[1].skipped.reason = ""))).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[0].extra = 1))).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[0].line = 0))).toBe(false);
    expect(mutate((d) => delete d.files[0].scenarios[0].commands)).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[0].driver.extra = 1))).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[0].failures[0].span = {}))).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[0].violations[0].iova = 65536))).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[0].violations[0].during = {}))).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[0].violations[0].kind = "other"))).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[0].commands.smmu0.extra = 1))).toBe(false);
    expect(mutate((d) => (d.files[0].scenarios[0].commands["0bad"] = { commands: 0, syncs: 0 }))).toBe(false);
    expect(mutate((d) => (d.diagnostics[0].severity = "info"))).toBe(false);
    expect(mutate((d) => (d.diagnostics[0].column = 1.5))).toBe(false);
    expect(mutate((d) => (d.diagnostics[0].extra = 1))).toBe(false);
    expect(mutate((d) => delete d.diagnostics[0].code)).toBe(false);
  });

  const NO_METRICS = { elapsed: 0, invalidations: [], latency: null, commandsPerInvalidation: null, syncsPerInvalidation: null, arrayEntries: null, caches: {}, walks: {} };

  test("jsonReport's document is typed as the schema describes: checked, rejected, during and seq allowed, and only as described", () => {
    const doc: JsonReport = jsonReport([], [], "1.2.3", {
      rejected: 2,
      checked: { file: "t.json", input: "json", smmus: 1, devices: 0, vsmmus: 0, domains: 0, scenarios: 0, plugins: [{ name: "smmu-v3", kind: "smmu", version: "1.0.0" }] },
    });
    expect(doc.summary.rejected).toBe(2);
    const json = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
    expect(validateReport(json), schemaErrors(validateReport.errors)).toBe(true);
    const mutate = (edit: (d: any) => void): boolean => {
      const copy = structuredClone(json) as any;
      edit(copy);
      return validateReport(copy);
    };
    expect(mutate((d) => delete d.checked)).toBe(true);
    expect(mutate((d) => delete d.summary.rejected)).toBe(false);
    expect(mutate((d) => (d.summary.rejected = -1))).toBe(false);
    expect(mutate((d) => (d.checked.extra = 1))).toBe(false);
    expect(mutate((d) => delete d.checked.plugins)).toBe(false);
    expect(mutate((d) => (d.checked.input = "yaml"))).toBe(false);
    expect(mutate((d) => (d.checked.plugins[0].kind = "iommu"))).toBe(false);
    expect(mutate((d) => (d.checked.plugins[0].extra = 1))).toBe(false);
    const withViolation = (v: unknown): boolean =>
      mutate((d) => {
        d.files = [
          {
            file: "a.smmu",
            scenarios: [
              { name: "", status: "failed", passed: false, driver: { plugin: "driver-invs", variant: "mainline" }, file: "a.smmu", line: 1, column: 1, failures: [], violations: [v], warnings: [], commands: {}, metrics: NO_METRICS },
            ],
          },
        ];
      });
    const op = { seq: 3, label: "unmap d1", at: "a.smmu:4:3", cpu: "cpu0" };
    expect(withViolation({ kind: "stale-translation", message: "s", op, during: { seq: 4, label: "dma", cpu: "cpu1" } })).toBe(true);
    expect(withViolation({ kind: "stale-translation", message: "s", op: { ...op, seq: 0 } })).toBe(false);
    expect(withViolation({ kind: "stale-translation", message: "s", op: { label: "unmap d1", cpu: "cpu0" } })).toBe(false);
    expect(withViolation({ kind: "stale-translation", message: "s", during: { seq: 4, label: "dma" } })).toBe(false);
    expect(withViolation({ kind: "stale-translation", message: "s", during: { ...op, extra: 1 } })).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// plugins --json and its schema

/** Every property of every (sub)schema of `schema` that has no description, as JSON Pointers. */
function undocumented(schema: unknown): string[] {
  const out: string[] = [];
  const visit = (node: unknown, path: string): void => {
    if (typeof node !== "object" || node === null) return;
    const n = node as Record<string, unknown>;
    for (const [k, v] of Object.entries((n.properties ?? {}) as Record<string, Record<string, unknown>>)) {
      if (typeof v.description !== "string" || !v.description) out.push(`${path}/properties/${k}`);
      visit(v, `${path}/properties/${k}`);
    }
    for (const k of ["items", "additionalProperties", "propertyNames", "if", "then", "else", "not"]) visit(n[k], `${path}/${k}`);
    for (const [k, v] of Object.entries((n.$defs ?? {}) as Record<string, unknown>)) visit(v, `${path}/$defs/${k}`);
    for (const k of ["allOf", "anyOf", "oneOf", "prefixItems"]) ((n[k] ?? []) as unknown[]).forEach((v, i) => visit(v, `${path}/${k}/${i}`));
  };
  visit(schema, "#");
  return out;
}

describe("plugins --json validates against schemas/plugins.schema.json", () => {
  const TEGRA = join(EXAMPLES, "plugins", "tegra264-smmu.ts");

  test("the built-in plugins, and one given with --plugin after them", async () => {
    const r = await cli("--json", "--plugin", TEGRA, "plugins");
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const doc = JSON.parse(r.stdout) as { formatVersion: number; tool: string; version: string; plugins: Array<Record<string, unknown>> };
    expect(validatePlugins(doc), schemaErrors(validatePlugins.errors)).toBe(true);
    expect(r.stdout).toBe(`${JSON.stringify(doc, null, 2)}\n`);
    expect(Object.keys(doc)).toEqual(["formatVersion", "tool", "version", "plugins"]);
    expect([doc.formatVersion, doc.tool, doc.version]).toEqual([1, "smmu-emu", VERSION]);
    const names = doc.plugins.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["smmu-v3", "pcie-ats", "vsmmu", "driver-invs"]));
    expect(names.at(-1)).toBe("tegra264-smmu");
    expect(doc.plugins.at(-1)).toMatchObject({ name: "tegra264-smmu", version: "1.0.0", kind: "smmu", apiVersions: [1], extends: "smmu-v3" });
    expect(doc.plugins.find((p) => p.name === "driver-invs")?.variants).toEqual(expect.arrayContaining(["mainline", "v9"]));
    /* the report schema does not describe it, nor this schema a report */
    expect(validateReport(doc)).toBe(false);
    expect(validatePlugins(JSON.parse(JSON.stringify(jsonReport([], [], VERSION))))).toBe(false);
  });

  test("the schema is closed: an extra or a missing property, a wrong type, variants on a non-driver or none on a driver, all rejected", async () => {
    const doc = JSON.parse((await cli("--json", "plugins")).stdout) as { plugins: Array<{ kind: string }> };
    const smmu = doc.plugins.findIndex((p) => p.kind === "smmu");
    const driver = doc.plugins.findIndex((p) => p.kind === "driver");
    const mutate = (edit: (d: any) => void): boolean => {
      const copy = structuredClone(doc) as any;
      edit(copy);
      return validatePlugins(copy);
    };
    expect(mutate(() => {})).toBe(true);
    expect(mutate((d) => (d.extra = 1))).toBe(false);
    expect(mutate((d) => (d.formatVersion = 2))).toBe(false);
    expect(mutate((d) => delete d.plugins)).toBe(false);
    expect(mutate((d) => (d.plugins[smmu].extra = 1))).toBe(false);
    expect(mutate((d) => (d.plugins[smmu].kind = "iommu"))).toBe(false);
    expect(mutate((d) => (d.plugins[smmu].name = "Bad Name"))).toBe(false);
    expect(mutate((d) => (d.plugins[smmu].apiVersions = []))).toBe(false);
    expect(mutate((d) => delete d.plugins[smmu].properties)).toBe(false);
    expect(mutate((d) => (d.plugins[smmu].properties[0].extra = 1))).toBe(false);
    expect(mutate((d) => (d.plugins[smmu].variants = ["v9"]))).toBe(false);
    expect(mutate((d) => delete d.plugins[driver].variants)).toBe(false);
  });

  test("a plugin that fails to load: exit 2 and the report, with the diagnostic and nothing rejected", async () => {
    const missing = join(dir, "no-such-plugin.ts");
    const r = await cli("--json", "--plugin", missing, "plugins");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("");
    const doc = report(r.stdout);
    expect(doc.summary).toEqual({ scenarios: 0, passed: 0, failed: 0, skipped: 0, rejected: 0 });
    expect((doc.diagnostics as Diagnostic[]).map((d) => [d.file, d.line, d.column, d.code])).toEqual([[missing, 1, 1, "plugin"]]);
  });

  test("both schemas are draft 2020-12 with their $id and a description on every property", () => {
    for (const [schema, id] of [
      [reportSchema, "https://smmu-emu.dev/schemas/report.schema.json"],
      [pluginsSchema, "https://smmu-emu.dev/schemas/plugins.schema.json"],
    ] as const) {
      expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
      expect(schema.$id).toBe(id);
      expect(undocumented(schema)).toEqual([]);
    }
  });
});

// ---------------------------------------------------------------------------
// Determinism

describe("the same input gives byte-identical output", () => {
  test.each([
    ["human", [] as string[]],
    ["--json", ["--json"]],
  ])("%s", async (_name, flags) => {
    /* every example's report is compared with its record, run after run, in test/examples/ */
    const argv = [...flags, "run", S1_SHARED, FAILED, STALE];
    const a = await cli(...argv);
    const b = await cli(...argv);
    expect(a.status).toBe(1);
    expect(b.stdout).toBe(a.stdout);
    expect(b.stderr).toBe(a.stderr);
    expect(b.status).toBe(a.status);
  });

  test("bad input, human and --json", async () => {
    for (const flags of [[], ["--json"]]) {
      const argv = [...flags, "run", f("unknown-name.smmu"), f("syntax.smmu")];
      const a = await cli(...argv);
      const b = await cli(...argv);
      expect(a.status).toBe(2);
      expect(b).toEqual(a);
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
