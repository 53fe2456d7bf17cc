/**
 * Users' plugins: the two example plugins loaded from a .smmu file and with
 * --plugin, and every way a plugin can go wrong, each with its exact message.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, test } from "vitest";
import { main, type Io } from "../../src/cli/main.js";
import { exampleReport, exampleRun } from "../helpers/example-runs.js";

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), tty: false };
}

async function run(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  const io = capture();
  const status = await main(argv, io);
  return { status, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

/** The scenarios of an example's run that passed, as the PASS lines of `smmu-emu run` name them: "NAME (PLUGIN VARIANT)". */
function passed(example: string): string[] {
  return exampleReport(example)
    .files.flatMap((f) => f.scenarios)
    .filter((s) => s.passed)
    .map((s) => `${s.name} (${s.driver.plugin} ${s.driver.variant})`);
}

/** A directory with these files (names may have directories), for plugins and scenarios written by the tests. */
function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), "smmu-plugin-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(d, name)), { recursive: true });
    writeFileSync(join(d, name), text);
  }
  return d;
}

const TOPO = `smmu smmu0 { features: ats; }
device dev0 { smmu: smmu0; sids: 0x10; ats: true; }
domain d1 { stage: s1; }
`;

describe("the example plugins", () => {
  /* the example's run is the one the global setup made (test/helpers/example-runs.ts) */
  test("tegra264-smmu from the file's `use`: TLBI/CFGI lists twice, each with a sync", () => {
    expect(exampleRun("tegra264-erratum.smmu").status).toBe(0);
    expect(passed("tegra264-erratum.smmu")).toEqual(
      expect.arrayContaining(["TLBI and CFGI lists twice, each with a sync (driver-invs mainline)", "a full batch rolling over syncs too (driver-invs mainline)"]),
    );
  });

  test("tegra264-smmu with --plugin: a node names it, the file does not `use` it", async () => {
    const d = dir({
      "t.smmu": `smmu smmu0 { plugin: "tegra264-smmu"; features: ats; }
device dev0 { smmu: smmu0; sids: 0x10; }
domain d1 { stage: s1; }
scenario "s" {
  attach dev0 d1;
  map d1 0x10000 size 4K;
  expect count smmu0 commands 17;
  unmap d1 0x10000 size 4K;
  expect commands smmu0 { TLBI_NH_VA asid 1 leaf 1 addr 0x10000; CMD_SYNC; TLBI_NH_VA asid 1 leaf 1 addr 0x10000; CMD_SYNC; }
  expect state smmu0 doubled 5;
}
`,
    });
    const r = await run("run", "--plugin", "examples/plugins/tegra264-smmu.ts", join(d, "t.smmu"));
    expect(r.err).toBe("");
    expect(r.status).toBe(0);
  });

  test("lossy-atc from the file's `use`: the dropped invalidation is an expected stale translation", () => {
    expect(exampleRun("lossy-atc.smmu").status).toBe(0);
    expect(passed("lossy-atc.smmu")).toContain("the second ATC_INV is dropped (driver-invs mainline)");
  });

  test("lossy-atc with --plugin: unexpected, the stale translation fails the scenario at the DMA's line", async () => {
    const d = dir({
      "t.smmu": `smmu smmu0 { features: ats; }
device nic0 { plugin: "lossy-atc"; smmu: smmu0; sids: 0x40; ats: true; drop: 2; }
domain d1 { stage: s1; }
scenario "s" {
  attach nic0 d1;
  map d1 0x10000 size 4K;
  dma nic0 read 0x10000;
  unmap d1 0x10000 size 4K;
  dma nic0 read 0x10000;
}
`,
    });
    const file = join(d, "t.smmu");
    const r = await run("run", "--plugin", "examples/plugins/lossy-atc.ts", file);
    expect(r.status).toBe(1);
    expect(r.out.split("\n")).toEqual([
      file,
      "FAIL s (driver-invs mainline)",
      `  ${file}:9:3: stale-translation: nic0 read 0x10000 was served from nic0.atc (to 0x1000000000), ` +
        `but "unmap d1 0x10000 size 0x1000" at ${file}:8:3 removed that translation and has returned`,
      "1 scenario: 0 passed, 1 failed",
    ]);
  });

  test("smmu-emu plugins lists the built-in models and a user's, the same way", async () => {
    const r = await run("plugins", "--plugin", "examples/plugins/lossy-atc.ts");
    expect(r.status).toBe(0);
    const lines = r.out.split("\n");
    for (const head of ["smmu-v3 0.1.0  smmu  plugin API 1", "pcie-ats 0.1.0  device  plugin API 1", "vsmmu 0.1.0  vsmmu  plugin API 1", "driver-invs 0.1.0  driver  plugin API 1"]) {
      expect(lines).toContain(head);
    }
    expect(lines).toContain("lossy-atc 1.0.0  device (extends pcie-ats)  plugin API 1");
    expect(lines).toContain("  drop: integer  which ATC_INV to drop, counting from 1");
  });
});

/** A plugin module with no imports (a plugin needs nothing from smmu-emu but its shape). */
const plugin = (body: string): string => `export default ${body};\n`;

describe("a plugin that goes wrong", () => {
  test("fails to load: it throws while being imported", async () => {
    const d = dir({ "boom.ts": `throw new Error("boom at import");\n`, "t.smmu": `use "./boom.ts";\n${TOPO}` });
    const r = await run("check", join(d, "t.smmu"));
    expect(r.status).toBe(2);
    expect(r.err).toBe(`${join(d, "t.smmu")}:1:1: error: plugin "./boom.ts" failed to load: boom at import`);
  });

  test("fails to load: no such file", async () => {
    const d = dir({ "t.smmu": `${TOPO}use "./missing.ts";\n` });
    const r = await run("check", join(d, "t.smmu"));
    expect(r.status).toBe(2);
    expect(r.err).toBe(`${join(d, "t.smmu")}:4:1: error: plugin "./missing.ts": no such file ${join(d, "missing.ts")}`);
  });

  test("is not a plugin", async () => {
    const d = dir({ "np.ts": plugin(`{ name: "np", kind: "gpu" }`), "t.smmu": `use "./np.ts";\n` });
    const r = await run("check", join(d, "t.smmu"));
    expect(r.err).toBe(`${join(d, "t.smmu")}:1:1: error: plugin "./np.ts" is not a plugin: "kind" must be one of smmu, device, vsmmu, driver`);
  });

  test("supports another plugin API version", async () => {
    const d = dir({
      "old.ts": plugin(`{ name: "old-smmu", kind: "smmu", version: "0.1.0", apiVersions: [0], description: "", schema: {}, setup() {} }`),
    });
    const r = await run("plugins", "--plugin", join(d, "old.ts"));
    expect(r.status).toBe(2);
    expect(r.err).toBe(`${join(d, "old.ts")}:1:1: error: plugin "old-smmu" (${join(d, "old.ts")}) supports plugin API 0, but smmu-emu provides API 1`);
  });

  test("has an invalid schema", async () => {
    const d = dir({
      "bad.ts": plugin(`{ name: "bad-schema", kind: "device", version: "1", apiVersions: [1], description: "", schema: { type: "thing" }, setup() {} }`),
      "t.smmu": `use "./bad.ts";\n`,
    });
    const r = await run("check", join(d, "t.smmu"));
    expect(r.err).toMatch(new RegExp(`^${join(d, "t.smmu")}:1:1: error: plugin "bad-schema" \\(./bad.ts\\) has an invalid schema: schema is invalid: data/type must be equal to one of the allowed values`));
  });

  test("receives properties its schema rejects: at the property, in the .smmu file", async () => {
    const d = dir({ "t.smmu": `use "${join(process.cwd(), "examples/plugins/lossy-atc.ts")}";\n${TOPO}device nic0 { plugin: "lossy-atc"; smmu: smmu0; sids: 0x40; drop: 0; }\n` });
    const r = await run("check", join(d, "t.smmu"));
    expect(r.status).toBe(2);
    expect(r.err).toBe(`${join(d, "t.smmu")}:5:61: error: "drop" must be at least 1, not 0`);
  });

  test("a node of a plugin nobody loaded", async () => {
    const d = dir({ "t.smmu": `smmu smmu0 { plugin: "tegra264-smmu"; features: ats; }\n` });
    const r = await run("check", join(d, "t.smmu"));
    expect(r.err).toBe(`${join(d, "t.smmu")}:1:22: error: unknown plugin "tegra264-smmu"\n  hint: loaded SMMU plugins: smmu-v3`);
  });

  const device = (name: string, setup: string): string =>
    plugin(`{ name: "${name}", kind: "device", version: "1", apiVersions: [1], extends: "pcie-ats", description: "", schema: {}, setup: ${setup} }`);
  const scenario = (name: string): string => `${TOPO.replace("ats: true; }", `ats: true; plugin: "${name}"; }`)}scenario "s" {
  attach dev0 d1;
  map d1 0x10000 size 4K;
  dma dev0 read 0x10000;
  unmap d1 0x10000 size 4K;
  expect no stale;
}
`;

  test("throws in a handler: the scenario fails at the statement, naming the plugin and the event", async () => {
    const d = dir({
      "throws.ts": device("throws", `(ctx, base) => { ctx.intercept("ep:atc-inv", ctx.node, () => { throw new Error("ATC on fire"); }); return base; }`),
    });
    writeFileSync(join(d, "t.smmu"), `use "./throws.ts";\n${scenario("throws")}`);
    const r = await run("run", join(d, "t.smmu"));
    expect(r.status).toBe(1);
    expect(r.out.split("\n").slice(1, 3)).toEqual([
      "FAIL s (driver-invs mainline)",
      `  ${join(d, "t.smmu")}:6:3: plugin "throws" failed handling "ep:atc-inv": ATC on fire`,
    ]);
  });

  test("sends a malformed reply: the scenario fails at the statement, naming the plugin, the event and the field", async () => {
    const d = dir({
      "malformed.ts": device("malformed", `(ctx, base) => { ctx.intercept("ep:atc-inv", ctx.node, () => ({ completed: "yes" })); return base; }`),
    });
    writeFileSync(join(d, "t.smmu"), `use "./malformed.ts";\n${scenario("malformed")}`);
    const r = await run("run", join(d, "t.smmu"));
    expect(r.status).toBe(1);
    expect(r.out.split("\n").slice(1, 3)).toEqual([
      "FAIL s (driver-invs mainline)",
      `  ${join(d, "t.smmu")}:6:3: plugin "malformed" sent a malformed "ep:atc-inv": reply: completed must be a boolean, not \"yes\"`,
    ]);
  });

  test("emits a malformed notification", async () => {
    const d = dir({
      "noisy.ts": device("noisy", `(ctx, base) => { ctx.on("ep:ats", () => ctx.emit("dma:served", { device: 1 })); return base; }`),
    });
    writeFileSync(join(d, "t.smmu"), `use "./noisy.ts";\n${scenario("noisy")}`);
    const r = await run("run", join(d, "t.smmu"));
    expect(r.status).toBe(1);
    expect(r.out.split("\n")[2]).toBe(`  ${join(d, "t.smmu")}:6:3: plugin "noisy" sent a malformed "dma:served": sid is missing`);
  });

  test("throws in setup: reported where the scenario starts, the run is not passed", async () => {
    const d = dir({ "s.ts": device("setup-throws", `() => { throw new Error("no hardware"); }`) });
    writeFileSync(join(d, "t.smmu"), `use "./s.ts";\n${scenario("setup-throws")}`);
    const r = await run("run", join(d, "t.smmu"));
    expect(r.status).toBe(2);
    expect(r.err).toBe(`${join(d, "t.smmu")}:5:10: error: plugin "setup-throws" failed handling "setup": no hardware`);
  });
});

describe("loading, naming and reading plugins", () => {
  /** Counts the ATC Invalidate Requests its endpoint gets. */
  const COUNTING = plugin(
    `{ name: "counting-ats", kind: "device", version: "1", apiVersions: [1], extends: "pcie-ats", description: "", schema: { type: "object" }, ` +
      `setup(ctx, base) { let n = 0; ctx.state.set("invs", 0); ctx.intercept("ep:atc-inv", ctx.node, (req, next) => { ctx.state.set("invs", ++n); return next(req); }); return base; } }`,
  );
  const SUB_TOPO = `use "./counting.ts";
smmu smmu0 { features: ats; }
device dev0 { plugin: "counting-ats"; smmu: smmu0; sids: 0x10; ats: true; }
domain d1 { stage: s1; }
`;

  test("a `use` in an included file is relative to the included file", async () => {
    const d = dir({
      "sub/counting.ts": COUNTING,
      "sub/topo.smmu": SUB_TOPO,
      "t.smmu": `include "sub/topo.smmu";
scenario "s" {
  attach dev0 d1;
  map d1 0x10000 size 4K;
  unmap d1 0x10000 size 4K;
  expect state dev0 invs 2;
}
`,
    });
    const file = join(d, "t.smmu");
    const r = await run("run", file);
    expect(r.err).toBe("");
    expect(r.out.split("\n")).toEqual([file, "PASS s (driver-invs mainline)", "1 scenario: 1 passed, 0 failed"]);
  });

  test("... and not to the file being run: a plugin next to that one is not found from the included file", async () => {
    const d = dir({ "counting.ts": COUNTING, "sub/topo.smmu": SUB_TOPO, "t.smmu": `include "sub/topo.smmu";\n` });
    const r = await run("check", join(d, "t.smmu"));
    expect(r.status).toBe(2);
    expect(r.err).toBe(`${join(d, "sub/topo.smmu")}:1:1: error: plugin "./counting.ts": no such file ${join(d, "sub/counting.ts")}`);
  });

  /** A driver plugin extending driver-invs and returning its base, exposing what the base is and the ATC_INVs the driver queues. */
  const SYNCS = plugin(
    `{ name: "driver-syncs", kind: "driver", version: "1", apiVersions: [1], extends: "driver-invs", variants: ["mainline", "v9"], description: "", schema: { type: "object" }, ` +
      `setup(ctx, base) { let n = 0; ctx.state.set("base", base.plugin); ctx.state.set("variant", base.variant); ctx.state.set("atc_invs", 0); ` +
      `ctx.on("cmd:queued", (e) => { if (e.cmd.op === "ATC_INV") ctx.state.set("atc_invs", ++n); }); return base; } }`,
  );
  const SYNCS_SCENARIOS = `use "./syncs.ts";
driver syncs;
${TOPO}
scenario "mainline" {
  expect state driver base "driver-invs";
  expect state driver variant mainline;
  attach dev0 d1;
  map d1 0x10000 size 4K;
  expect count smmu0 ATC_INV 1;
  unmap d1 0x10000 size 4K;
  expect count smmu0 ATC_INV 1;
  expect state driver atc_invs 2;
}

scenario "v9" {
  driver syncs v9;
  expect state driver variant mainline;
}
`;

  test("a driver plugin that extends driver-invs and returns its base: results name it, with the variant; `expect state driver` reads its state", async () => {
    const d = dir({ "syncs.ts": SYNCS, "t.smmu": SYNCS_SCENARIOS });
    const file = join(d, "t.smmu");
    const r = await run("run", file);
    expect(r.err).toBe("");
    expect(r.status).toBe(1);
    expect(r.out.split("\n")).toEqual([
      file,
      "PASS mainline (driver-syncs mainline)",
      "FAIL v9 (driver-syncs v9)",
      `  ${file}:20:3: driver variant: expected "mainline", got "v9"`,
      "2 scenarios: 1 passed, 1 failed",
    ]);
    const json = JSON.parse((await run("run", "--json", file)).out) as { files: { scenarios: { driver: unknown }[] }[] };
    expect(json.files[0]!.scenarios.map((s) => s.driver)).toEqual([
      { plugin: "driver-syncs", variant: "mainline" },
      { plugin: "driver-syncs", variant: "v9" },
    ]);
  });

  test("`expect state` suggests the driver for a misspelt node", async () => {
    const d = dir({ "t.smmu": `${TOPO}scenario "s" {\n  expect state drivr syncs 0;\n}\n` });
    const r = await run("check", join(d, "t.smmu"));
    expect(r.status).toBe(2);
    expect(r.err).toBe(`${join(d, "t.smmu")}:5:16: error: unknown node "drivr" (did you mean "driver"?)`);
  });

  test("no SMMU, device or vSMMU may be called driver: that is the driver's node", async () => {
    const d = dir({ "t.smmu": `smmu smmu0 { features: ats; }\ndevice driver { smmu: smmu0; sids: 0x10; }\ndomain driver_d { stage: s1; }\n` });
    const r = await run("check", join(d, "t.smmu"));
    expect(r.status).toBe(2);
    expect(r.err).toBe(`${join(d, "t.smmu")}:2:8: error: a device cannot be called "driver": that is the driver's name (\`expect state driver ...\` reads the driver's state)`);
  });

  test("a plugin extending a misspelt plugin: did you mean", async () => {
    const d = dir({
      "x.ts": plugin(`{ name: "x", kind: "device", version: "1", apiVersions: [1], extends: "pcie-atx", description: "", schema: {}, setup() {} }`),
      "t.smmu": `use "./x.ts";\n`,
    });
    const r = await run("check", join(d, "t.smmu"));
    expect(r.status).toBe(2);
    expect(r.err).toBe(`${join(d, "t.smmu")}:1:1: error: plugin "x" (./x.ts) extends "pcie-atx", which is not a loaded device plugin (did you mean "pcie-ats"?)`);
  });

  test("the request a plugin passes to next() is shape-checked, the error its own", async () => {
    const d = dir({
      "bad-next.ts": plugin(
        `{ name: "bad-next", kind: "device", version: "1", apiVersions: [1], extends: "pcie-ats", description: "", schema: { type: "object" }, ` +
          `setup(ctx, base) { ctx.intercept("ep:atc-inv", ctx.node, (req, next) => next({ ...req, size: String(req.size) })); return base; } }`,
      ),
    });
    writeFileSync(
      join(d, "t.smmu"),
      `use "./bad-next.ts";\n${TOPO.replace("ats: true; }", `ats: true; plugin: "bad-next"; }`)}scenario "s" {\n  attach dev0 d1;\n}\n`,
    );
    const r = await run("run", join(d, "t.smmu"));
    expect(r.status).toBe(1);
    expect(r.out.split("\n").slice(1, 3)).toEqual([
      "FAIL s (driver-invs mainline)",
      `  ${join(d, "t.smmu")}:6:3: plugin "bad-next" sent a malformed "ep:atc-inv": request: size must be an integer, not "52"`,
    ]);
  });

  test("ctx.pageTable reads the table behind a translation: backed while mapped, not after the unmap", async () => {
    /* drops every ranged ATC_INV, so the unmapped page stays in the ATC, and checks each ATC hit against its page table */
    const d = dir({
      "checker.ts": plugin(
        `{ name: "checker", kind: "device", version: "1", apiVersions: [1], extends: "pcie-ats", description: "", schema: { type: "object" }, setup(ctx, base) {
  const count = { backed: 0, unbacked: 0 };
  ctx.intercept("ep:atc-inv", ctx.node, (req, next) => (req.size === 52 ? next(req) : { completed: true }));
  ctx.on("dma:served", (e) => {
    if (e.device !== ctx.node || e.via !== "atc") return;
    const b = e.t.backing[0];
    const key = ctx.pageTable(b.table)?.lookup(b.addr) ? "backed" : "unbacked";
    ctx.state.set(key, ++count[key]);
  });
  return base;
} }`,
      ),
    });
    writeFileSync(
      join(d, "t.smmu"),
      `use "./checker.ts";\n${TOPO.replace("ats: true; }", `ats: true; plugin: "checker"; }`)}scenario "s" {
  attach dev0 d1;
  map d1 0x10000 size 4K;
  dma dev0 read 0x10000;
  expect dma dev0 read 0x10000 via atc;
  expect state dev0 backed 1;
  unmap d1 0x10000 size 4K;
  expect dma dev0 read 0x10000 via atc;
  expect state dev0 unbacked 1;
  expect stale dev0 0x10000;
}
`,
    );
    const r = await run("run", join(d, "t.smmu"));
    expect(r.out.split("\n")[1]).toBe("PASS s (driver-invs mainline)");
    expect(r.status).toBe(0);
  });

  test("smmu-emu plugins shows core properties as .smmu files write them: pasid_bits", async () => {
    const r = await run("plugins");
    const lines = r.out.split("\n");
    const ats = lines.indexOf("pcie-ats 0.1.0  device  plugin API 1");
    expect(lines.slice(ats + 2, ats + 7)).toEqual([
      "  ats: boolean",
      "  pasid_bits: integer",
      "  pci: boolean",
      "  atc_inv_ns: integer  ns from an ATC Invalidate Request reaching the endpoint to its completion reaching the SMMU (1000 by default).",
      "  ats_disable_drops_inv: boolean  Whether the device drops an ATC Invalidate Request that is outstanding at it when its ATS is disabled (pci_disable_ats()), never completing it, as the kernel's authors hold a device may: false by default. Only a schedule explorer (smmu-emu explore) separates a request's sending from its handling.",
    ]);
    const json = JSON.parse((await run("plugins", "--json")).out) as { plugins: { name: string; properties: { name: string }[] }[] };
    expect(json.plugins.find((p) => p.name === "pcie-ats")!.properties.map((p) => p.name)).toEqual(["ats", "pasid_bits", "pci", "atc_inv_ns", "ats_disable_drops_inv"]);
  });
});
