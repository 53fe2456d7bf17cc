/**
 * `run --reporter ktap` checked by a KTAP parser written from ktap.rst
 * (test/helpers/ktap.ts) and `run --reporter junit` by an XML parser, both
 * on their structure: suites per file, cases per scenario, numbering,
 * directives, failure and skipped elements, counts, positions. Also skips
 * in the human report, and the exit statuses every reporter shares.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli } from "../helpers/cli.js";
import { ktapOutcome, parseKtap, type KtapDocument, type KtapTest } from "../helpers/ktap.js";

const TOPOLOGY = `smmu smmu0 { features: ats; }
device nic0 { smmu: smmu0; sids: 0x40; ats: true; }
domain d1 { stage: s1; }
`;

const SOURCES: Record<string, string> = {
  /* line 5: "passes"; line 9: "fails" (its failures at 11 and 12) */
  "mixed.smmu": `${TOPOLOGY}
scenario "passes" {
  attach nic0 d1;
  expect invs d1 { smmu0 S1_ASID 1; smmu0 ATS 0x40; }
}
scenario "fails" {
  attach nic0 d1;
  expect count smmu0 commands 3;
  expect invs d1 { smmu0 S1_ASID 1; smmu0 ATS 0x41; }
}
`,
  /* driver-legacy keeps no invalidation array: line 6 is skipped at 8; "# counts" (line 10) passes */
  "legacy.smmu": `driver legacy;
${TOPOLOGY}
scenario "needs an array" {
  attach nic0 d1;
  expect invs d1 { smmu0 S1_ASID 1; smmu0 ATS 0x40; }
}
scenario "# counts" {
  attach nic0 d1;
  expect no stale;
}
`,
  "bad.smmu": `${TOPOLOGY}\nscenario "x" { attach nic0 nowhere; }\n`,
};

let dir: string;
const path = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "smmu-emu-reporters-"));
  for (const [name, text] of Object.entries(SOURCES)) writeFileSync(path(name), text);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** "pass:P fail:F skip:S total:T" of a kunit stats line, as numbers. */
function stats(line: string | undefined): Record<string, number> {
  const m = /pass:(\d+) fail:(\d+) skip:(\d+) total:(\d+)$/.exec(line ?? "");
  if (!m) throw new Error(`not a stats line: ${line}`);
  return { pass: Number(m[1]), fail: Number(m[2]), skip: Number(m[3]), total: Number(m[4]) };
}

function suite(doc: KtapDocument, n: number): KtapTest {
  const t = doc.tests[n - 1];
  if (!t) throw new Error(`no test ${n}`);
  return t;
}

describe("--reporter ktap", () => {
  test("a suite per file, a test case per scenario, as kunit prints them; exit 1 for the failure", async () => {
    const r = await cli("run", "--reporter", "ktap", path("mixed.smmu"), path("legacy.smmu"));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("");
    const doc = parseKtap(r.stdout);
    expect(doc.version).toBe("KTAP version 1");
    expect(doc.plan).toBe(2);

    const mixed = suite(doc, 1);
    expect(mixed.description).toBe(path("mixed.smmu"));
    expect(ktapOutcome(mixed)).toBe("not ok");
    expect(mixed.subtests?.version).toBe("KTAP version 1");
    expect(mixed.subtests?.subtest).toBe(path("mixed.smmu"));
    expect(mixed.subtests?.plan).toBe(2);
    const [passes, fails] = mixed.subtests!.tests;
    expect([passes!.description, ktapOutcome(passes!), passes!.diagnostics]).toEqual(["passes", "ok", []]);
    expect([fails!.description, ktapOutcome(fails!)]).toEqual(["fails", "not ok"]);
    /* each failure as "file:line:col: message" before the result line, its diff under it */
    const failures = fails!.diagnostics.filter((d) => d.startsWith(path("mixed.smmu")));
    expect(failures).toEqual([`${path("mixed.smmu")}:11:3: expected 3 commands on smmu0, got 11`, `${path("mixed.smmu")}:12:3: the invalidation array of d1 differs`]);
    expect(fails!.diagnostics.slice(2)).toEqual(["      smmu0 S1_ASID 1 ssid 0 users 1", "    - smmu0 ATS 0x41 ssid 0 users 1", "    + smmu0 ATS 0x40 ssid 0 users 1"]);
    /* kunit's stats lines, then the suite's result */
    expect(stats(mixed.diagnostics.find((d) => d.startsWith(`${path("mixed.smmu")}: `)))).toEqual({ pass: 1, fail: 1, skip: 0, total: 2 });
    expect(stats(mixed.diagnostics.find((d) => d.startsWith("Totals: ")))).toEqual({ pass: 1, fail: 1, skip: 0, total: 2 });

    const legacy = suite(doc, 2);
    expect(ktapOutcome(legacy)).toBe("ok");
    const [needs, counts] = legacy.subtests!.tests;
    /* skipped: `ok N name # SKIP reason` */
    expect(needs!.ok).toBe(true);
    expect(needs!.directive).toEqual({ keyword: "SKIP", text: "driver-legacy keeps no invalidation array: expect invs d1 needs a driver that has one (driver-invs)" });
    expect(needs!.diagnostics).toEqual([`${path("legacy.smmu")}:8:3: ${needs!.directive!.text}`]);
    /* a description holds no "#" */
    expect([counts!.description, ktapOutcome(counts!)]).toEqual(["\uff03 counts", "ok"]);
    expect(stats(legacy.diagnostics.find((d) => d.startsWith("Totals: ")))).toEqual({ pass: 1, fail: 0, skip: 1, total: 2 });
  });

  test("a file of bad input is `not ok` after its diagnostics, the others still run; exit 2", async () => {
    const r = await cli("run", "--reporter", "ktap", path("bad.smmu"), path("legacy.smmu"));
    expect(r.status).toBe(2);
    const doc = parseKtap(r.stdout);
    expect(doc.plan).toBe(2);
    const bad = suite(doc, 1);
    expect([bad.description, ktapOutcome(bad), bad.subtests]).toEqual([path("bad.smmu"), "not ok", undefined]);
    expect(bad.diagnostics).toHaveLength(1);
    expect(bad.diagnostics[0]).toMatch(new RegExp(`^${path("bad.smmu").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:5:\\d+: error: `));
    expect(r.stderr).toBe(`${bad.diagnostics[0]}\n`);
    expect(ktapOutcome(suite(doc, 2))).toBe("ok");
  });

  test("every scenario skipped: the suite is skipped too (kunit_suite_has_succeeded), exit 0", async () => {
    const r = await cli("run", "--reporter", "ktap", "--scenario", "needs*", path("legacy.smmu"));
    expect(r.status).toBe(0);
    const legacy = suite(parseKtap(r.stdout), 1);
    expect(ktapOutcome(legacy)).toBe("skip");
    expect(legacy.subtests!.tests.map(ktapOutcome)).toEqual(["skip"]);
  });

  test("the README's KTAP example is what the command prints, and parses", async () => {
    const readme = readFileSync("README.md", "utf8");
    const command = "$ npx smmu-emu run --reporter ktap --driver legacy examples/v9-as-posted.smmu\n";
    const start = readme.indexOf(command);
    expect(start).toBeGreaterThan(-1);
    const shown = readme.slice(start + command.length, readme.indexOf("```", start));
    const r = await cli("run", "--reporter", "ktap", "--driver", "legacy", "examples/v9-as-posted.smmu");
    expect(r.stdout).toBe(shown);
    expect(suite(parseKtap(shown), 1).subtests!.tests.map(ktapOutcome)).toEqual(["not ok", "skip", "skip"]);
  });

  test("--json with another reporter, or --metrics with ktap, is a usage error naming the flag", async () => {
    expect(await cli("--json", "run", "--reporter", "ktap", path("mixed.smmu"))).toEqual({
      status: 2,
      stdout: "",
      stderr: "smmu-emu: --reporter: --reporter ktap and --json are two reports: choose one\n",
    });
    expect(await cli("run", "--reporter", "junit", "--metrics", path("mixed.smmu"))).toEqual({
      status: 2,
      stdout: "",
      stderr: "smmu-emu: --metrics: only in the human report, not with --reporter junit\n",
    });
    const r = await cli("run", "--reporter", "tap", path("mixed.smmu"));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: option '--reporter <name>' argument 'tap' is invalid\. Allowed choices are human, ktap, junit\./);
  });
});

// ---------------------------------------------------------------------------
// JUnit XML

type XmlNode = Record<string, unknown>;

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => ["testsuite", "testcase"].includes(name), parseAttributeValue: false });

function junit(text: string): XmlNode {
  expect(XMLValidator.validate(text)).toBe(true);
  return xml.parse(text) as XmlNode;
}

describe("--reporter junit", () => {
  test("testsuites > testsuite per file > testcase per scenario, with failure and skipped, counts and positions", async () => {
    const r = await cli("run", "--reporter", "junit", path("mixed.smmu"), path("legacy.smmu"), path("bad.smmu"));
    expect(r.status).toBe(2);
    const doc = junit(r.stdout);
    const root = doc.testsuites as XmlNode;
    expect([root.name, root.tests, root.failures, root.errors, root.skipped]).toEqual(["smmu-emu", "5", "1", "1", "1"]);
    const suites = root.testsuite as XmlNode[];
    expect(suites.map((s) => [s.name, s.file, s.tests, s.failures, s.errors, s.skipped])).toEqual([
      [path("mixed.smmu"), path("mixed.smmu"), "2", "1", "0", "0"],
      [path("legacy.smmu"), path("legacy.smmu"), "2", "0", "0", "1"],
      [path("bad.smmu"), path("bad.smmu"), "1", "0", "1", "0"],
    ]);
    const cases = suites.map((s) => s.testcase as XmlNode[]);
    expect(cases[0]!.map((c) => [c.name, c.classname, c.file, c.line])).toEqual([
      ["passes", path("mixed.smmu"), path("mixed.smmu"), "5"],
      ["fails", path("mixed.smmu"), path("mixed.smmu"), "9"],
    ]);
    const [passes, fails] = cases[0]!;
    expect(passes!.failure).toBeUndefined();
    expect(passes!.skipped).toBeUndefined();
    const failure = fails!.failure as XmlNode;
    expect(failure.message).toBe(`${path("mixed.smmu")}:11:3: expected 3 commands on smmu0, got 11`);
    expect((failure["#text"] as string).split("\n")).toEqual([
      `${path("mixed.smmu")}:11:3: expected 3 commands on smmu0, got 11`,
      `${path("mixed.smmu")}:12:3: the invalidation array of d1 differs`,
      "      smmu0 S1_ASID 1 ssid 0 users 1",
      "    - smmu0 ATS 0x41 ssid 0 users 1",
      "    + smmu0 ATS 0x40 ssid 0 users 1",
    ]);
    const [needs, counts] = cases[1]!;
    expect((needs!.skipped as XmlNode).message).toBe(`${path("legacy.smmu")}:8:3: driver-legacy keeps no invalidation array: expect invs d1 needs a driver that has one (driver-invs)`);
    expect(needs!.failure).toBeUndefined();
    expect([counts!.name, counts!.failure, counts!.skipped]).toEqual(["# counts", undefined, undefined]);
    const error = cases[2]![0]!.error as XmlNode;
    expect(error.type).toBe("bad-input");
    expect(error.message).toMatch(/:5:\d+: error: /);
  });

  test("markup in names and messages is escaped, and the document is the same run after run", async () => {
    const p = path("markup.smmu");
    writeFileSync(p, `${TOPOLOGY}\nscenario "<a & 'b'> \\"c\\"" {\n  attach nic0 d1;\n  expect count smmu0 commands 1;\n}\n`);
    const a = await cli("run", "--reporter", "junit", p);
    const b = await cli("run", "--reporter", "junit", p);
    expect(b).toEqual(a);
    const c = ((junit(a.stdout).testsuites as XmlNode).testsuite as XmlNode[])[0]!.testcase as XmlNode[];
    expect(c[0]!.name).toBe(`<a & 'b'> "c"`);
  });
});

// ---------------------------------------------------------------------------
// Skips in the human report

describe("skips for people", () => {
  test("SKIP at the line that needed what the driver lacks; the summary counts skips apart; no failure, exit 0", async () => {
    expect(await cli("run", path("legacy.smmu"))).toEqual({
      status: 0,
      stdout: [
        path("legacy.smmu"),
        "SKIP needs an array (driver-legacy v7.0)",
        `  ${path("legacy.smmu")}:8:3: driver-legacy keeps no invalidation array: expect invs d1 needs a driver that has one (driver-invs)`,
        "PASS # counts (driver-legacy v7.0)",
        "2 scenarios: 1 passed, 0 failed, 1 skipped",
        "",
      ].join("\n"),
      stderr: "",
    });
  });

  test("--json: status, the skip's position and reason, and the count in the summary", async () => {
    const doc = JSON.parse((await cli("--json", "run", path("legacy.smmu"))).stdout) as {
      files: Array<{ scenarios: Array<{ status: string; passed: boolean; skipped?: unknown; failures: unknown[] }> }>;
      summary: unknown;
    };
    expect(doc.files[0]!.scenarios.map((s) => [s.status, s.passed, s.skipped, s.failures])).toEqual([
      [
        "skipped",
        false,
        { file: path("legacy.smmu"), line: 8, column: 3, reason: "driver-legacy keeps no invalidation array: expect invs d1 needs a driver that has one (driver-invs)", lacks: "no array" },
        [{ file: path("legacy.smmu"), line: 8, column: 3, message: "driver-legacy keeps no invalidation array: expect invs d1 needs a driver that has one (driver-invs)", lacks: "no array" }],
      ],
      ["passed", true, undefined, []],
    ]);
    expect(doc.summary).toEqual({ scenarios: 2, passed: 1, failed: 0, skipped: 1, rejected: 0 });
  });
});
