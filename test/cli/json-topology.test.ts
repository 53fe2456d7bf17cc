/**
 * Topologies written as JSON, first class: the library's Simulator checks
 * what it is given with `validate`'s messages; `export` prints a .smmu file's
 * topology as that JSON; a .smmu file includes one (`include "x.json";`) and
 * `run --topology x.json` reads scenarios after one, with the same results as
 * the file written whole, and problems reported where they are (in the JSON
 * file, in JSON's words).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli, type CliRun } from "../helpers/cli.js";
import { formatDiagnostic, InputError } from "../../src/core/diagnostics.js";
import { loadSmmuWithPlugins } from "../../src/engine/load.js";
import { builtinRegistry, Simulator, TopologyError, type Topology } from "../../src/index.js";
import { loadTopologyJson } from "../../src/schema/json-source.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

let dir: string;
const path = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "smmu-emu-json-"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const TOPOLOGY = `driver invs share;
smmu smmu0 { features: range_inv, ats; cmd_ns: 30; }
smmu smmu1 { features: ats; }
device gpu0 { smmu: smmu0; sids: 0x100, 0x101; ats: true; pasid_bits: 4; }
device nic0 { smmu: smmu1; sids: 0x200; }
domain d1 { stage: s1; page_size: 16K; }
`;

const SCENARIOS = `scenario "shared" {
  attach gpu0 d1;
  attach nic0 d1;
  map d1 0x10000 size 0x4000;
  expect dma gpu0 read 0x10000 via walk;
  unmap d1 0x10000 size 0x4000;
  expect count smmu0 ATC_INV 4;
  expect no stale;
}
scenario "fails" {
  attach gpu0 d1;
  expect invs d1 { smmu0 S1_ASID 2; }
}
`;

/** The exported JSON of TOPOLOGY, exactly. */
const EXPORTED = `{
  "$schema": "https://smmu-emu.dev/schemas/topology.schema.json",
  "smmus": [
    {
      "name": "smmu0",
      "features": ["range_inv", "ats"],
      "props": {
        "cmd_ns": 30
      }
    },
    {
      "name": "smmu1",
      "features": ["ats"]
    }
  ],
  "devices": [
    {
      "name": "gpu0",
      "smmu": "smmu0",
      "sids": [256, 257],
      "ats": true,
      "pasidBits": 4
    },
    {
      "name": "nic0",
      "smmu": "smmu1",
      "sids": [512]
    }
  ],
  "domains": [
    {
      "name": "d1",
      "stage": "s1",
      "pageSize": 16384
    }
  ],
  "driver": {
    "plugin": "driver-invs",
    "variant": "share"
  }
}
`;

describe("export", () => {
  test("prints the topology of a .smmu file as JSON, its driver line as the topology's driver", async () => {
    writeFileSync(path("whole.smmu"), `${TOPOLOGY}${SCENARIOS}`);
    const r = await cli("export", path("whole.smmu"));
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toBe(EXPORTED);
    writeFileSync(path("topo.json"), r.stdout);
    expect(await cli("validate", path("topo.json"))).toEqual({ status: 0, stdout: `${path("topo.json")}: ok: 2 SMMU(s), 2 device(s), 0 vSMMU(s), 1 domain(s)\n`, stderr: "" });
  });

  test("every example's topology round-trips: what export prints is what the file compiles to", async () => {
    const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".smmu"));
    expect(examples.length).toBeGreaterThan(10);
    for (const name of examples) {
      const file = join(ROOT, "examples", name);
      const r = await cli("export", file);
      expect([name, r.status, r.stderr]).toEqual([name, 0, ""]);
      /* with the plugins the file uses, which its nodes name */
      const registry = builtinRegistry();
      const compiled = await loadSmmuWithPlugins(file, registry);
      const driver = compiled.driver ? { plugin: compiled.driver.plugin, ...(compiled.driver.variant ? { variant: compiled.driver.variant } : {}), ...(compiled.driver.options ? { options: compiled.driver.options } : {}) } : undefined;
      const { $schema, ...topology } = JSON.parse(r.stdout) as Topology & { $schema: string };
      expect($schema).toBe("https://smmu-emu.dev/schemas/topology.schema.json");
      expect(topology).toEqual({ ...compiled.topology, ...(driver ? { driver } : {}) });
      expect(loadTopologyJson(r.stdout, `${name}.json`, registry)).toEqual(topology);
    }
  });

  test("bad input is reported as check reports it, exit 2", async () => {
    writeFileSync(path("bad.smmu"), "smmu smmu0 { features: ats; }\ndevice gpu0 { smmu: smmu0; sids: 1; ats: 1; }\n");
    expect(await cli("export", path("bad.smmu"))).toEqual({ status: 2, stdout: "", stderr: `${path("bad.smmu")}:2:42: error: "ats" takes true or false, not the number 1\n` });
  });
});

describe("a topology written as JSON under scenarios", () => {
  /** The report of a run, each file's name line left out. */
  const report = (r: CliRun): string[] => r.stdout.split("\n").filter((l) => !l.startsWith(dir));

  test("include \"topo.json\"; and run --topology topo.json report what the whole file reports", async () => {
    writeFileSync(path("topo.json"), EXPORTED);
    writeFileSync(path("whole.smmu"), `${TOPOLOGY}${SCENARIOS}`);
    writeFileSync(path("included.smmu"), `include "topo.json";\n${SCENARIOS}`);
    writeFileSync(path("scenarios.smmu"), SCENARIOS);
    const whole = await cli("run", path("whole.smmu"));
    expect(whole.status).toBe(1);
    expect(report(whole)).toEqual([
      "PASS shared (driver-invs share)",
      "FAIL fails (driver-invs share)",
      `  ${path("whole.smmu")}:18:3: the invalidation array of d1 differs`,
      "      - smmu0 S1_ASID 2 ssid 0 users 1",
      "      + smmu0 S1_ASID 1 ssid 0 users 1",
      "      + smmu0 ATS 0x100 ssid 0 users 1",
      "      + smmu0 ATS 0x101 ssid 0 users 1",
      "2 scenarios: 1 passed, 1 failed",
      "",
    ]);
    const included = await cli("run", path("included.smmu"));
    const prelude = await cli("run", "--topology", path("topo.json"), path("scenarios.smmu"));
    /* the failure is at its line of the file that has it */
    expect(report(included)).toEqual(report(whole).map((l) => l.replace(`${path("whole.smmu")}:18:`, `${path("included.smmu")}:13:`)));
    expect(report(prelude)).toEqual(report(whole).map((l) => l.replace(`${path("whole.smmu")}:18:`, `${path("scenarios.smmu")}:12:`)));
    expect([included.status, prelude.status, included.stderr, prelude.stderr]).toEqual([1, 1, "", ""]);
    expect(await cli("check", "--topology", path("topo.json"), path("scenarios.smmu"))).toEqual({
      status: 0,
      stdout: `${path("scenarios.smmu")}: ok: 2 SMMU(s), 2 device(s), 0 vSMMU(s), 1 domain(s), 2 scenario(s)\n`,
      stderr: "",
    });
  });

  test("problems in the JSON file at its lines in JSON's words; in the .smmu file, in its own; the scenarios still checked against the JSON's nodes", async () => {
    writeFileSync(path("bad.json"), EXPORTED.replace('"pasidBits": 4', '"pasidBits": 40'));
    writeFileSync(path("bad-inc.smmu"), `include "bad.json";\ndevice gpu1 { smmu: smmu0; sids: 0x300; ats: 1; }\nscenario "s" {\n  attach gpu0 d1;\n  attach gpu2 d1;\n}\n`);
    const r = await cli("check", path("bad-inc.smmu"));
    expect([r.status, r.stdout]).toEqual([2, ""]);
    expect(r.stderr).toBe(
      [
        `${path("bad-inc.smmu")}:2:46: error: "ats" takes true or false, not the number 1`,
        `${path("bad-inc.smmu")}:5:10: error: unknown device "gpu2" (did you mean "gpu0"?)`,
        `${path("bad.json")}:22:20: error: "pasidBits" must be at most 20, not 40`,
        "",
      ].join("\n"),
    );
  });

  test("a topology that cannot be read: at 1:1 of it, and nothing the missing names would explain", async () => {
    writeFileSync(path("scenarios.smmu"), SCENARIOS);
    const r = await cli("run", "--topology", path("nope.json"), path("scenarios.smmu"));
    expect([r.status, r.stderr]).toEqual([2, `${path("nope.json")}:1:1: error: cannot read "${path("nope.json")}": ENOENT\n`]);
  });

  test("the .smmu file's nodes join the JSON's, checked together (a StreamID claimed in both)", async () => {
    writeFileSync(path("topo.json"), EXPORTED);
    writeFileSync(path("more.smmu"), `include "topo.json";\ndevice gpu1 { smmu: smmu0; sids: 0x100; }\n`);
    expect((await cli("check", path("more.smmu"))).stderr).toBe(`${path("more.smmu")}:2:34: error: device "gpu1": StreamID 0x100 is already claimed by "gpu0" on smmu0\n`);
  });
});

describe("the library's Simulator checks what it is given", () => {
  test("with validate's messages, each at its JSON Pointer", async () => {
    const topology = {
      smmus: [{ name: "smmu0", features: ["ats", "rangeinv"] }],
      devices: [{ name: "dev0", smmu: "smmu1", sids: [16], ats: "yes", pasidBits: 99 }],
      domains: [{ name: "d1", stage: "s1" }],
    };
    writeFileSync(path("lib.json"), JSON.stringify(topology));
    const v = await cli("validate", "--json", path("lib.json"));
    const want = (JSON.parse(v.stdout) as { diagnostics: Array<{ message: string }> }).diagnostics.map((d) => d.message);
    expect(want).toHaveLength(4);
    let err: unknown;
    try {
      new Simulator(topology as unknown as Topology);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TopologyError);
    const e = err as TopologyError;
    expect(e).toBeInstanceOf(InputError);
    expect(e.problems.map((p) => p.pointer)).toEqual(["/devices/0/ats", "/devices/0/pasidBits", "/devices/0/smmu", "/smmus/0/features/1"]);
    expect([...e.diagnostics.map((d) => d.message)].sort()).toEqual([...want].sort());
    expect(e.message).toBe(
      [
        'topology at /devices/0/ats: error: "ats" must be a boolean, not a string ("yes")',
        'topology at /devices/0/pasidBits: error: "pasidBits" must be at most 20, not 99',
        'topology at /devices/0/smmu: error: unknown SMMU "smmu1" (did you mean "smmu0"?)',
        'topology at /smmus/0/features/1: error: features[1]: "rangeinv" is not one of: range_inv, e2h, ats, sva, nesting, cd2l, attr_types_ovr (did you mean "range_inv"?)',
      ].join("\n"),
    );
    expect(e.diagnostics.map(formatDiagnostic)[0]).toBe('<topology>:1:1: error: "ats" must be a boolean, not a string ("yes")');
  });
});
