/**
 * The command line for the people who use it: output cut short by its reader
 * (`| head -1`) is a quiet exit, output files are opened before anything
 * runs, --scenario repeats and takes globs, `run --list` lists without
 * running, --version and --help load nothing but commander (the static
 * import graph of the entry point, read from the sources), and chevrotain
 * is loaded as its one-file bundle.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import listSchema from "../../schemas/list.schema.json" with { type: "json" };
import reportSchema from "../../schemas/report.schema.json" with { type: "json" };
import { cli } from "../helpers/cli.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const TOPOLOGY = `smmu smmu0 { features: ats; }
device nic0 { smmu: smmu0; sids: 0x40; ats: true; }
domain d1 { stage: s1; }
`;

const scenario = (name: string): string => `scenario "${name}" {\n  attach nic0 d1;\n  expect no stale;\n}\n`;

let dir: string;
const path = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "smmu-emu-robust-"));
  /* a.smmu: "alpha one" at line 5, "alpha two" at 9, "beta" at 13 */
  writeFileSync(path("a.smmu"), `${TOPOLOGY}\n${scenario("alpha one")}${scenario("alpha two")}${scenario("beta")}`);
  /* b.smmu: "gamma" at line 6, under driver-legacy */
  writeFileSync(path("b.smmu"), `driver legacy;\n${TOPOLOGY}\n${scenario("gamma")}`);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("output cut short by its reader", () => {
  test("`run ... | head -1`: a quiet exit, status 0, no stack trace", () => {
    /* enough output after the first line that a write meets the closed pipe */
    const files = Array.from({ length: 6 }, () => "examples/s1-shared.smmu").join(" ");
    const script = `node --import tsx src/cli/bin.ts run ${files} 2>"${path("stderr")}" | head -1; echo "status=\${PIPESTATUS[0]}"`;
    const r = spawnSync("bash", ["-c", script], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    expect(r.stdout).toBe("examples/s1-shared.smmu\nstatus=0\n");
    expect(readFileSync(path("stderr"), "utf8")).toBe("");
  });
});

describe("output files opened before the run", () => {
  test("--trace to a path that cannot be written: a usage error naming the flag, exit 2, nothing run", async () => {
    const bad = path("no-such-dir/trace.json");
    expect(await cli("run", "--trace", bad, path("a.smmu"))).toEqual({ status: 2, stdout: "", stderr: `smmu-emu: --trace: cannot write ${bad}: ENOENT\n` });
    expect(await cli("run", "--trace", dir, path("a.smmu"))).toEqual({ status: 2, stdout: "", stderr: `smmu-emu: --trace: cannot write ${dir}: EISDIR\n` });
  });

  test("--trace FILE is created (emptied) before the run: there even when the run stops at a usage error", async () => {
    const trace = path("trace.json");
    writeFileSync(trace, "old");
    const r = await cli("run", "--trace", trace, "--driver", "nosuch", path("a.smmu"));
    expect(r.status).toBe(2);
    expect(existsSync(trace)).toBe(true);
    expect(readFileSync(trace, "utf8")).not.toContain("old");
  });
});

describe("--scenario: repeated, and globs", () => {
  test("each one given runs, in file order; a glob matches across files", async () => {
    const r = await cli("run", "--scenario", "beta", "--scenario", "alpha one", path("a.smmu"));
    expect(r.stdout.split("\n").filter((l) => /^(PASS|FAIL|SKIP) /.test(l))).toEqual(["PASS alpha one (driver-invs mainline)", "PASS beta (driver-invs mainline)"]);
    const g = await cli("run", "--scenario", "alpha*", "--scenario", "g?mma", path("a.smmu"), path("b.smmu"));
    expect(g).toEqual({
      status: 0,
      stdout: [
        path("a.smmu"),
        "PASS alpha one (driver-invs mainline)",
        "PASS alpha two (driver-invs mainline)",
        path("b.smmu"),
        "PASS gamma (driver-legacy v7.0)",
        "3 scenarios: 3 passed, 0 failed",
        "",
      ].join("\n"),
      stderr: "",
    });
    const set = await cli("run", "--scenario", "[ab]*[!a]", path("a.smmu"));
    expect(set.stdout).toContain("PASS alpha one");
    expect(set.stdout).toContain("PASS alpha two");
    expect(set.stdout).not.toContain("beta");
  });

  test("one that matches no scenario of any file is an error naming it, and nothing runs", async () => {
    expect(await cli("run", "--scenario", "alpha*", "--scenario", "delta*", path("a.smmu"), path("b.smmu"))).toEqual({
      status: 2,
      stdout: "0 scenarios: 0 passed, 0 failed; 2 file(s) not run: bad input\n",
      stderr: [
        `${path("a.smmu")}:1:1: error: no scenario matches "delta*" ("alpha one", "alpha two", "beta")`,
        `${path("b.smmu")}:1:1: error: no scenario matches "delta*" ("gamma")`,
        "",
      ].join("\n"),
    });
  });
});

describe("run --list", () => {
  test("each file's scenarios with their position and driver, nothing run", async () => {
    expect(await cli("run", "--list", path("a.smmu"), path("b.smmu"))).toEqual({
      status: 0,
      stdout: [
        `${path("a.smmu")}:5:10: alpha one (driver-invs mainline)`,
        `${path("a.smmu")}:9:10: alpha two (driver-invs mainline)`,
        `${path("a.smmu")}:13:10: beta (driver-invs mainline)`,
        `${path("b.smmu")}:6:10: gamma (driver-legacy v7.0)`,
        "",
      ].join("\n"),
      stderr: "",
    });
    const some = await cli("run", "--list", "--scenario", "*two", "--variant", "v9", path("a.smmu"));
    expect(some.stdout).toBe(`${path("a.smmu")}:9:10: alpha two (driver-invs v9)\n`);
  });

  test("--json: the same as data, valid against schemas/list.schema.json; a bad file's diagnostics, exit 2", async () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    ajv.addSchema(reportSchema);
    const validate = ajv.compile(listSchema);
    const r = await cli("--json", "run", "--list", path("b.smmu"), path("missing.smmu"));
    expect(r.status).toBe(2);
    const doc = JSON.parse(r.stdout) as unknown;
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc).toMatchObject({
      files: [{ file: path("b.smmu"), scenarios: [{ name: "gamma", file: path("b.smmu"), line: 6, column: 10, driver: { plugin: "driver-legacy", variant: "v7.0" } }] }],
      diagnostics: [{ file: path("missing.smmu"), line: 1, column: 1, code: "io" }],
    });
  });
});

/** The files and packages `entry` loads before anything runs: its static imports, transitively (type-only ones left out). */
function staticGraph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']/gm)) {
      if (m[1]) continue;
      const spec = m[2]!;
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
      else if (!spec.startsWith("node:")) packages.add(spec);
    }
  };
  visit(entry);
  return { files: [...files].map((f) => relative(ROOT, f)).sort(), packages: [...packages].sort() };
}

describe("bad input: check and run reject the same files, with the same messages", () => {
  /** Each of check, run and run --json on `file`: exit 2 and exactly `want`. */
  async function rejectedAlike(file: string, want: string[]): Promise<void> {
    for (const argv of [["check"], ["run"], ["run", "--json"]]) {
      const r = await cli(...argv, file);
      expect(r.status).toBe(2);
      if (argv.includes("--json")) {
        const doc = JSON.parse(r.stdout) as { diagnostics: Array<{ line: number; column: number; message: string }> };
        expect(doc.diagnostics.map((d) => `${file}:${d.line}:${d.column}: error: ${d.message}`)).toEqual(want);
      } else {
        expect(r.stderr).toBe(`${want.join("\n")}\n`);
      }
    }
  }

  test("the language's and the schemas' problems, all at once", async () => {
    const bad = path("bad-topology.smmu");
    writeFileSync(bad, `${TOPOLOGY.replace("ats: true;", "ats: true; pasid_bits: true;")}smmu smmu1 { cmd_ns: -1; }\nscenario "s" {\n  attach nic0 d2;\n}\n`);
    await rejectedAlike(bad, [
      `${bad}:2:63: error: "pasid_bits" takes a number, not the boolean true`,
      `${bad}:4:14: error: "cmd_ns" must be at least 0, not -1`,
      `${bad}:6:15: error: unknown domain "d2" (did you mean "d1"?)`,
    ]);
  });

  test("on a valid topology, what only the plugins know (run used to find it as it ran), with the language's problems", async () => {
    const bad = path("bad-names.smmu");
    writeFileSync(bad, `${TOPOLOGY}scenario "s" {\n  fail alloc invz;\n  fault nic0 atc_noresponse;\n  attach nic0 d2;\n}\n`);
    await rejectedAlike(bad, [
      `${bad}:5:3: error: driver-invs has no allocation site "invz" (invs, master_domain, cd_table)`,
      `${bad}:6:3: error: nic0 has no fault "atc_noresponse" (atc_no_response)`,
      `${bad}:7:15: error: unknown domain "d2" (did you mean "d1"?)`,
    ]);
  });
});

describe("starting fast", () => {
  test("the entry point loads commander and the CLI's own small modules, nothing else: each command is imported when it runs", () => {
    expect(staticGraph(join(ROOT, "src/cli/bin.ts"))).toEqual({
      files: ["src/cli/bin.ts", "src/cli/io.ts", "src/cli/main.ts", "src/cli/options.ts"],
      packages: ["commander"],
    });
  });

  test("chevrotain's values come from its one-file bundle (src/dsl/chevrotain.ts): every other import of it is a type import, which loads nothing", () => {
    const sources = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    const importers = sources.filter((f) => /from "chevrotain"/.test(readFileSync(join(ROOT, "src", f), "utf8")));
    expect(importers.length).toBeGreaterThan(1);
    for (const f of importers) {
      const lines = readFileSync(join(ROOT, "src", f), "utf8").split("\n").filter((l) => /^(import|export)\b.*from "chevrotain"/.test(l));
      expect(lines.every((l) => /^import type [^;]* from "chevrotain";$/.test(l)), `${f}: ${lines.join(" | ")}`).toBe(true);
    }
  });

  test("--version, and --help of run, still print what they did", async () => {
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
    expect(await cli("--version")).toEqual({ status: 0, stdout: `${version}\n`, stderr: "" });
    const help = await cli("run", "--help");
    expect(help.status).toBe(0);
    for (const flag of ["--scenario <name>", "--list", "--reporter <name>", "--trace <file>"]) expect(help.stdout).toContain(flag);
  });
});
