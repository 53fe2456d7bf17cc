/**
 * smmu-emu as a user installs it: `npm pack`, then an empty project that
 * installs the tarball offline (its dependencies from npm's cache, pinned by
 * a lockfile made from ours) and runs the installed CLI and library. Also a
 * lone plugin file beside a scenario, importing "smmu-emu" with no
 * node_modules of its own, and a plugin package named by `use` from a .smmu
 * file given by a relative path.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string> };
const TSX = join(ROOT, "node_modules/.bin/tsx");
const CLI_SOURCE = join(ROOT, "src/cli/bin.ts");

interface Lock {
  packages: Record<string, { dev?: boolean } & Record<string, unknown>>;
}

/** A package-lock.json for a project depending on the tarball: ours, less the dev packages. */
function lockFor(tarball: string): unknown {
  const ours = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as Lock;
  const packages: Record<string, unknown> = {
    "": { name: "user", version: "1.0.0", dependencies: { "smmu-emu": `file:${tarball}` } },
    "node_modules/smmu-emu": { version: PKG.version, resolved: `file:${tarball}`, dependencies: PKG.dependencies, bin: { "smmu-emu": "bin/smmu-emu.js" } },
  };
  for (const [k, v] of Object.entries(ours.packages)) if (k !== "" && !v.dev) packages[k] = v;
  return { name: "user", version: "1.0.0", lockfileVersion: 3, requires: true, packages };
}

const run = (cmd: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

const PASS_S1_SHARED = ["s1-shared.smmu", "PASS one S1 domain on two SMMUs (driver-invs share)", "1 scenario: 1 passed, 0 failed", ""].join("\n");

/** A device plugin in a lone .ts file: no package.json, no node_modules. */
const LONE_PLUGIN = `import { definePlugin, type EndpointNode } from "smmu-emu";
export default definePlugin({
  kind: "device", name: "my-ep", version: "1.0.0", apiVersions: [1], extends: "pcie-ats",
  description: "pcie-ats, counting its DMAs", schema: {},
  setup(ctx, base) {
    ctx.state.set("dmas", 0);
    ctx.intercept("ep:dma", ctx.node, (req, next) => { ctx.state.set("dmas", Number(ctx.state.get("dmas")) + 1); return next(req); });
    return base as EndpointNode;
  },
});
`;

const LONE_SCENARIO = `use "./my-plugin.ts";
smmu smmu0 { features: ats; }
device dev0 { smmu: smmu0; sids: 0x10; plugin: "my-ep"; }
domain d1 { stage: s1; }
scenario "counted" {
  attach dev0 d1;
  map d1 0x1000 size 4K;
  expect dma dev0 read 0x1000 via walk;
  expect state dev0 dmas 1;
}
`;

describe("npm pack, installed into an empty project offline", () => {
  let dir: string;
  let project: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "smmu-emu-pack-"));
    /* the build is incremental: after `npm ci` (which builds) it has little to do */
    execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "pipe" });
    const name = execFileSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").pop()!;
    project = join(dir, "user");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user", version: "1.0.0", type: "module", dependencies: { "smmu-emu": `file:../${name}` } }));
    writeFileSync(join(project, "package-lock.json"), JSON.stringify(lockFor(`../${name}`)));
    execFileSync("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: project, stdio: "pipe" });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the tarball holds the built CLI and library, the schemas and the examples, not the sources or tests", () => {
    const files = execFileSync("tar", ["-tzf", join(dir, `smmu-emu-${PKG.version}.tgz`)], { encoding: "utf8" }).split("\n");
    for (const f of ["package/bin/smmu-emu.js", "package/dist/src/index.js", "package/dist/src/cli/bin.js", "package/dist/plugins/index.js", "package/schemas/report.schema.json", "package/examples/s1-shared.smmu"]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^package\/(src|test|plugins)\//.test(f) || f.endsWith(".test.js"))).toEqual([]);
  });

  test("npx smmu-emu run: the installed CLI runs an example", () => {
    copyFileSync(join(ROOT, "examples/s1-shared.smmu"), join(project, "s1-shared.smmu"));
    expect(run("npx", ["--offline", "smmu-emu", "run", "s1-shared.smmu"], project)).toEqual({ status: 0, stdout: PASS_S1_SHARED, stderr: "" });
  });

  test('import { Simulator } from "smmu-emu": the installed library runs', () => {
    const script = `import { Simulator } from "smmu-emu";
const s = new Simulator({ smmus: [{ name: "smmu0", features: ["ats"] }], devices: [{ name: "dev0", smmu: "smmu0", sids: [16], ats: true }], domains: [{ name: "d1", stage: "s1" }] });
s.attach("dev0", "d1");
console.log(JSON.stringify(s.invs("d1").entries.map((e) => [e.smmu, e.type, e.id])));`;
    writeFileSync(join(project, "lib.mjs"), script);
    expect(run("node", ["lib.mjs"], project)).toEqual({ status: 0, stdout: '[["smmu0","S1_ASID",1],["smmu0","ATS",16]]\n', stderr: "" });
  });

  test("a lone plugin file beside the scenario imports the installed smmu-emu", () => {
    const lone = join(dir, "lone");
    mkdirSync(lone);
    writeFileSync(join(lone, "my-plugin.ts"), LONE_PLUGIN);
    writeFileSync(join(lone, "a.smmu"), LONE_SCENARIO);
    const r = run("node", [join(project, "node_modules/smmu-emu/bin/smmu-emu.js"), "run", "a.smmu"], lone);
    expect(r).toEqual({ status: 0, stdout: ["a.smmu", "PASS counted (driver-invs mainline)", "1 scenario: 1 passed, 0 failed", ""].join("\n"), stderr: "" });
  });
});

describe("plugins found from where the .smmu file is, named by a relative path", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "smmu-emu-use-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a lone plugin file beside the scenario (the CLI from source)", () => {
    writeFileSync(join(dir, "my-plugin.ts"), LONE_PLUGIN);
    writeFileSync(join(dir, "a.smmu"), LONE_SCENARIO);
    expect(run(TSX, [CLI_SOURCE, "run", "a.smmu"], dir)).toEqual({
      status: 0,
      stdout: ["a.smmu", "PASS counted (driver-invs mainline)", "1 scenario: 1 passed, 0 failed", ""].join("\n"),
      stderr: "",
    });
  });

  test('use "a-package;" resolves the ES module package from the file\'s folder, and a missing one says where it looked', () => {
    const pkg = join(dir, "node_modules/esm-only-ep");
    mkdirSync(pkg, { recursive: true });
    /* only an "import" condition: require.resolve() cannot find it */
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "esm-only-ep", version: "1.0.0", type: "module", exports: { ".": { import: "./index.js" } } }));
    writeFileSync(join(pkg, "index.js"), LONE_PLUGIN.replace(", type EndpointNode", "").replace(" as EndpointNode", ""));
    writeFileSync(join(dir, "b.smmu"), LONE_SCENARIO.replace('use "./my-plugin.ts";', 'use "esm-only-ep";'));
    expect(run(TSX, [CLI_SOURCE, "run", "b.smmu"], dir).stdout).toBe(["b.smmu", "PASS counted (driver-invs mainline)", "1 scenario: 1 passed, 0 failed", ""].join("\n"));
    writeFileSync(join(dir, "c.smmu"), LONE_SCENARIO.replace('use "./my-plugin.ts";', 'use "no-such-ep";'));
    const r = run(TSX, [CLI_SOURCE, "run", "c.smmu"], dir);
    expect([r.status, r.stderr]).toEqual([2, `c.smmu:1:1: error: plugin "no-such-ep": no such package (looked from ${dir})\n`]);
  });
});
