/**
 * The command line, through main(argv, io) with a capturing Io: exit
 * statuses (0 pass, 1 a failed expectation, 2 bad input or usage), the exact
 * human output, one JSON document with --json that validates against
 * schemas/report.schema.json, and byte-identical output run after run.
 * Scratch files go to a temporary directory, never into the repository.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import reportSchema from "../../schemas/report.schema.json" with { type: "json" };
import { main, type Io } from "../../src/cli/main.js";
import type { Diagnostic } from "../../src/core/diagnostics.js";
import type { ScenarioResult } from "../../src/engine/runner.js";
import { jsonReport } from "../../src/report/json.js";

// ---------------------------------------------------------------------------
// Harness

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** main() with its output captured as a terminal-less process would print it (each write ends a line). */
async function cli(...argv: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    out: (t) => {
      stdout += `${t}\n`;
    },
    err: (t) => {
      stderr += `${t}\n`;
    },
    tty: false,
  };
  const status = await main(argv, io);
  return { status, stdout, stderr };
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLES = join(ROOT, "examples");
const EXAMPLE_FILES = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith(".smmu"))
  .sort()
  .map((f) => join(EXAMPLES, f));
const S1_SHARED = join(EXAMPLES, "s1-shared.smmu");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

const ajv = new Ajv2020({ strict: true, allErrors: true });
const validateReport = ajv.compile(reportSchema);

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
  "fail.smmu": `// one scenario passes, one fails three expectations
smmu smmu0 { features: ats; }
device nic0 { smmu: smmu0; sids: 0x40; ats: true; }
domain d1 { stage: s1; }

scenario "passes" {
  attach nic0 d1;
  expect invs d1 { smmu0 S1_ASID 1; smmu0 ATS 0x40; }
}

scenario "fails" {
  attach nic0 d1;
  expect count smmu0 commands 3;
  expect invs d1 { smmu0 S1_ASID 1; smmu0 ATS 0x41; }
  map d1 0x1000 size 4K;
  unmap d1 0x1000 size 4K;
  expect commands smmu0 { TLBI_NH_VA asid 1 leaf 1 ...; CMD_SYNC; ATC_INV sid 0x40 ...; }
}
`,
  /* v9's ssid-blind merge: a stale ATC entry that no expectation acknowledges */
  "stale.smmu": `smmu smmu0 { features: ats, nesting; }
device gpu0 { smmu: smmu0; sids: 0x100; ats: true; pasid_bits: 8; }
domain d1 { stage: s1; }

scenario "stale" {
  driver invs v9;
  attach gpu0 blocked;
  attach gpu0 d1 pasid 1;
  attach gpu0 d1 pasid 2;
  map d1 0x10000 size 4K;
  dma gpu0 read 0x10000 pasid 2;
  unmap d1 0x10000 size 4K;
  dma gpu0 read 0x10000 pasid 2;
}
`,
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
      stdout: `${S1_SHARED}\nPASS one S1 domain on two SMMUs (driver-invs mainline)\n1 scenario: 1 passed, 0 failed\n`,
      stderr: "",
    });
  });

  test("every example: exit 0", async () => {
    const r = await cli("run", ...EXAMPLE_FILES);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain("FAIL");
    expect(r.stdout).toMatch(/\n\d+ scenarios: (\d+) passed, 0 failed\n$/);
  });

  test("a failed expectation: exit 1, each failure at file:line:col with its diff", async () => {
    const p = f("fail.smmu");
    const r = await cli("run", p);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(
      [
        p,
        "PASS passes (driver-invs mainline)",
        "FAIL fails (driver-invs mainline)",
        `  ${p}:13:3: expected 3 commands on smmu0, got 11`,
        `  ${p}:14:3: the invalidation array of d1 differs`,
        "        smmu0 S1_ASID 1 ssid 0 users 1",
        "      - smmu0 ATS 0x41 ssid 0 users 1",
        "      + smmu0 ATS 0x40 ssid 0 users 1",
        `  ${p}:17:3: commands on smmu0 differ`,
        "        TLBI_NH_VA asid 1 vmid 0 num 0 scale 0 leaf 1 ttl 0 tg 0 addr 0x1000",
        "        CMD_SYNC",
        "        ATC_INV sid 0x40 ssid 0 ssv 0 global 0 size 0 addr 0x1000",
        "      + CMD_SYNC",
        "2 scenarios: 1 passed, 1 failed",
        "",
      ].join("\n"),
    );
  });

  test("a stale translation nobody expected: exit 1, a failure where it happened", async () => {
    const p = f("stale.smmu");
    const r = await cli("run", p);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(
      [
        p,
        "FAIL stale (driver-invs v9)",
        `  ${p}:13:3: stale-translation: gpu0 read 0x10000 pasid 2 was served from gpu0.atc (to 0x1000000000), but "unmap d1 0x10000 size 0x1000" at ${p}:12:3 removed that translation and has returned`,
        "1 scenario: 0 passed, 1 failed",
        "",
      ].join("\n"),
    );
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
      `${S1_SHARED}\nPASS one S1 domain on two SMMUs (driver-invs mainline)\n1 scenario: 1 passed, 0 failed; 1 file(s) not run: bad input\n`,
    );
    expect(r.stderr).toBe(`${f("syntax.smmu")}:3:17: error: expected ';' but found '}'\n`);
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
      summary: { scenarios: 0, passed: 0, failed: 0 },
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
    const p = f("fail.smmu");
    const r = await cli("run", "--scenario", "passes", p);
    expect(r).toEqual({ status: 0, stdout: `${p}\nPASS passes (driver-invs mainline)\n1 scenario: 1 passed, 0 failed\n`, stderr: "" });

    const r2 = await cli("run", "--scenario", "fails", p);
    expect(r2.status).toBe(1);
    expect(r2.stdout).toContain("FAIL fails (driver-invs mainline)\n");
    expect(r2.stdout).not.toContain("passes");
    expect(r2.stdout.endsWith("1 scenario: 0 passed, 1 failed\n")).toBe(true);
  });

  test("--scenario with an unknown NAME: exit 2, the message lists the scenarios", async () => {
    const p = f("fail.smmu");
    const r = await cli("run", "--scenario", "nope", p);
    expect(r).toEqual({
      status: 2,
      stdout: "0 scenarios: 0 passed, 0 failed; 1 file(s) not run: bad input\n",
      stderr: `${p}:1:1: error: no scenario named "nope" ("passes", "fails")\n`,
    });
  });

  test("--variant v9 changes the driver variant shown", async () => {
    const r = await cli("run", "--variant", "v9", S1_SHARED);
    expect(r).toEqual({
      status: 0,
      stdout: `${S1_SHARED}\nPASS one S1 domain on two SMMUs (driver-invs v9)\n1 scenario: 1 passed, 0 failed\n`,
      stderr: "",
    });
    const json = report((await cli("run", "--json", "--variant", "v9", S1_SHARED)).stdout);
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
    expect(r.stderr).toBe(`smmu-emu: --variant: driver-invs has no variant "v7" (did you mean "v9"?); it has mainline, v9\n`);
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
    expect(r.stderr).toBe(`smmu-emu: --driver: no driver plugin "driver-invz" (did you mean "driver-invs"?); loaded: driver-invs\n`);
  });

  test("no command at all: the help, on stderr, as a usage error", async () => {
    const r = await cli();
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^Usage: smmu-emu \[options\] \[command\]\n/);
  });

  test("a command's help lists the global options", async () => {
    const r = await cli("run", "--help");
    expect(r.stdout).toMatch(/\nGlobal Options:\n(.*\n)*  --json +print one machine-readable JSON report on stdout\n/);
  });

  test("run with no files is a usage error", async () => {
    const r = await cli("run");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("error: missing required argument 'files'\n(run with --help for usage)\n");
  });
});

// ---------------------------------------------------------------------------
// check and validate

describe("check", () => {
  test("a good file: exit 0 and one ok line", async () => {
    const r = await cli("check", S1_SHARED);
    expect(r).toEqual({ status: 0, stdout: `${S1_SHARED}: ok: 2 SMMU(s), 2 device(s), 0 vSMMU(s), 1 domain(s), 1 scenario(s)\n`, stderr: "" });
    const p = f("fail.smmu");
    expect((await cli("check", p)).stdout).toBe(`${p}: ok: 1 SMMU(s), 1 device(s), 0 vSMMU(s), 1 domain(s), 2 scenario(s)\n`);
  });

  test("check does not run: a file whose expectations fail checks ok", async () => {
    expect((await cli("check", f("stale.smmu"))).status).toBe(0);
  });

  test("a bad file: exit 2 with the diagnostics on stderr", async () => {
    const p = f("syntax.smmu");
    expect(await cli("check", p)).toEqual({ status: 2, stdout: "", stderr: `${p}:3:17: error: expected ';' but found '}'\n` });
    const missing = f("missing");
    expect(await cli("check", missing)).toEqual({ status: 2, stdout: "", stderr: `${missing}:1:1: error: cannot read ${missing}: ENOENT\n` });
  });

  test("--json: one report, with the diagnostics when the file is bad", async () => {
    const ok = await cli("--json", "check", S1_SHARED);
    expect(ok.status).toBe(0);
    expect(report(ok.stdout)).toEqual({
      formatVersion: 1,
      tool: "smmu-emu",
      version: VERSION,
      files: [],
      diagnostics: [],
      summary: { scenarios: 0, passed: 0, failed: 0 },
    });
    const bad = await cli("--json", "check", f("syntax.smmu"));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("");
    expect((report(bad.stdout).diagnostics as Diagnostic[]).map((d) => `${d.line}:${d.column}: ${d.message}`)).toEqual(["3:17: expected ';' but found '}'"]);
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
// Usage

describe("usage", () => {
  const HELP: Array<[string, string[], string[]]> = [
    ["smmu-emu", [], ["-V, --version", "--json", "--no-color", "-h, --help", "run [options] <files...>", "check <file>", "validate <file>"]],
    ["run", ["run"], ["<files...>", "--scenario <name>", "--driver <name>", "--variant <name>", "--step-limit <n>", "-h, --help"]],
    ["check", ["check"], ["<file>", "-h, --help"]],
    ["validate", ["validate"], ["<file>", "-h, --help"]],
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
    expect(commands).toEqual(expect.arrayContaining(["run", "check", "validate"]));
    for (const c of commands) {
      const r = await cli(c, "--help");
      expect(r.status, c).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(new RegExp(`^Usage: smmu-emu ${c} `));
      expect(r.stdout).toContain("-h, --help");
    }
  });

  test("help COMMAND is the command's --help", async () => {
    for (const c of ["run", "check", "validate"]) {
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
  test("run examples/*.smmu", async () => {
    const r = await cli("--json", "run", ...EXAMPLE_FILES);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const doc = report(r.stdout);
    const files = doc.files as Array<{ file: string; scenarios: Array<{ passed: boolean; commands: Record<string, unknown> }> }>;
    expect(files.map((x) => x.file)).toEqual(EXAMPLE_FILES);
    const all = files.flatMap((x) => x.scenarios);
    expect(all.every((s) => s.passed)).toBe(true);
    expect(doc.summary).toEqual({ scenarios: all.length, passed: all.length, failed: 0 });
    expect(doc.diagnostics).toEqual([]);
  });

  test("run examples/*.smmu --variant v9 and --variant mainline (failures, violations, diffs)", async () => {
    for (const variant of ["v9", "mainline"]) {
      const r = await cli("--json", "run", "--variant", variant, ...EXAMPLE_FILES);
      expect(r.stderr).toBe("");
      report(r.stdout);
    }
  });

  test("a failing run", async () => {
    const p = f("fail.smmu");
    const r = await cli("--json", "run", p);
    expect(r.status).toBe(1);
    const doc = report(r.stdout);
    expect(doc.summary).toEqual({ scenarios: 2, passed: 1, failed: 1 });
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
    const p = f("stale.smmu");
    const r = await cli("--json", "run", p);
    expect(r.status).toBe(1);
    const doc = report(r.stdout);
    const [file] = doc.files as Array<{ scenarios: Array<Record<string, unknown>> }>;
    expect(file?.scenarios[0]?.violations).toEqual([
      {
        kind: "stale-translation",
        message: `gpu0 read 0x10000 pasid 2 was served from gpu0.atc (to 0x1000000000), but "unmap d1 0x10000 size 0x1000" at ${p}:12:3 removed that translation and has returned`,
        device: "gpu0",
        iova: "0x10000",
        cache: "gpu0.atc",
        op: { label: "unmap d1 0x10000 size 0x1000", at: `${p}:12:3` },
      },
    ]);
    expect(file?.scenarios[0]?.commands).toEqual({ smmu0: { commands: 22, syncs: 10 } });
  });

  test("bad input, passing and failing files together", async () => {
    const r = await cli("--json", "run", S1_SHARED, f("fail.smmu"), f("syntax.smmu"), f("missing"), f("unknown-name.smmu"));
    expect(r.status).toBe(2);
    const doc = report(r.stdout);
    expect((doc.files as unknown[]).length).toBe(2);
    expect((doc.diagnostics as Diagnostic[]).length).toBeGreaterThanOrEqual(3);
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
        { kind: "stale-translation", message: "s", device: "gpu0", iova: 0xffff_ffff_f000, cache: "smmu0.iotlb", op: { seq: 3, label: "unmap d1", at: "a.smmu:4:3" }, during: { seq: 4, label: "dma" } },
        { kind: "tag-not-flushed", message: "t", op: { seq: 1, label: "detach" } },
        { kind: "tag-not-flushed", message: "u" },
      ],
      warnings: ["WARNING: arm_smmu_invs_unref: refcount < 0"],
      commands: { smmu0: { commands: 0, syncs: 0 }, "smmu.1-x": { commands: 7, syncs: 2 } },
    };
    const diags: Diagnostic[] = [
      { file: "<topology>", line: 1, column: 1, severity: "warning", code: "schema", message: "w" },
      { file: "a.smmu", line: 2, column: 3, endLine: 2, endColumn: 9, severity: "error", code: "parse", message: "e", hint: "h" },
    ];
    const doc = JSON.parse(JSON.stringify(jsonReport([{ file: "a.smmu", scenarios: [result] }], diags, "1.2.3"))) as Record<string, unknown>;
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
    expect(mutate((d) => (d.summary.skipped = 0))).toBe(false);
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

  test("the schema is a draft 2020-12 schema with its $id and a description on every property", () => {
    expect(reportSchema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(reportSchema.$id).toBe("https://smmu-emu.dev/schemas/report.schema.json");
    const undocumented: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== "object" || node === null) return;
      const n = node as Record<string, unknown>;
      if (n.properties && typeof n.properties === "object") {
        for (const [k, v] of Object.entries(n.properties as Record<string, Record<string, unknown>>)) {
          if (typeof v.description !== "string" || !v.description) undocumented.push(`${path}/properties/${k}`);
        }
      }
      for (const [k, v] of Object.entries(n)) walk(v, `${path}/${k}`);
    };
    walk(reportSchema, "#");
    expect(undocumented).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Determinism

describe("the same input gives byte-identical output", () => {
  test.each([
    ["human", [] as string[]],
    ["--json", ["--json"]],
  ])("%s", async (_name, flags) => {
    const argv = [...flags, "run", S1_SHARED, f("fail.smmu"), f("stale.smmu"), join(EXAMPLES, "v9-as-posted.smmu")];
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
