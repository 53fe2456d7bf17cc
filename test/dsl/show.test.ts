/**
 * The `show` statement: a target of the wrong kind, a PASID where only a CD
 * takes one, a word `show` does not know, each at its position; and what it
 * prints, in the JSON report as the schema says (the text report is pinned
 * by test/scenarios/show/show.expected).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";
import { formatDiagnostic, InputError } from "../../src/core/diagnostics.js";
import { loadSmmu } from "../../src/engine/load.js";
import { builtinRegistry } from "../../src/index.js";
import reportSchema from "../../schemas/report.schema.json" with { type: "json" };
import { cli } from "../helpers/cli.js";
import { readmeShown } from "../helpers/readme.js";
import { steLines } from "../../plugins/smmu-v3/show.js";

function diags(text: string): string[] {
  try {
    loadSmmu("t.smmu", builtinRegistry(), text);
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics.map(formatDiagnostic);
    throw err;
  }
  return [];
}

const TOPO = `smmu smmu0 { features: ats; }
device gpu0 { smmu: smmu0; sids: 0x100; ats: true; pasid_bits: 4; }
domain d1 { stage: s1; }
`;

/** A scenario body after TOPO; its lines start at line 5. */
const scenario = (body: string): string => `${TOPO}scenario "s" {\n${body}\n}\n`;

describe("bad show statements, all of them in one pass", () => {
  test("each mistake at its position", () => {
    const body = [
      "  show invz d1;",
      "  show invs gpu0;",
      "  show iotlb d1;",
      "  show ste smmu0;",
      "  show ste gpu0 pasid 1;",
      "  show cd gpu0 pasid 0x100000;",
      "  show cd gpu1;",
      "  show atc nic;",
    ].join("\n");
    expect(diags(scenario(body))).toEqual([
      `t.smmu:5:8: error: expected one of invs, ste, cd, iotlb, atc to show, not "invz" (did you mean "invs"?)`,
      "t.smmu:6:13: error: show invs takes a domain, and gpu0 is a device",
      "t.smmu:7:14: error: show iotlb takes an SMMU, and d1 is a domain",
      "t.smmu:8:12: error: show ste takes a device, and smmu0 is an SMMU",
      "t.smmu:9:23: error: only a CD is shown at a PASID (show cd gpu0 pasid N), not ste",
      "t.smmu:10:22: error: PASID 1048576 is outside 0..1048575",
      `t.smmu:11:11: error: unknown device "gpu1" (did you mean "gpu0"?)`,
      `t.smmu:12:12: error: unknown device "nic"`,
    ]);
  });

  test("a show without its target", () => {
    expect(diags(scenario("  show invs;"))).toEqual(["t.smmu:5:12: error: expected a name but found ';'"]);
  });
});

describe("the JSON report", () => {
  test("each show with its position, the statement and its lines, as the schema says", async () => {
    const r = await cli("run", "--json", "test/scenarios/show/show.smmu");
    expect(r.stderr).toBe("");
    const report = JSON.parse(r.stdout);
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(reportSchema);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    const [first, failed, legacy] = report.files[0].scenarios;
    expect(first.shows.slice(0, 2)).toEqual([
      {
        file: "test/scenarios/show/show.smmu",
        line: 25,
        column: 3,
        what: "show invs d1",
        lines: ["smmu0 S1_ASID 1 ssid 0 users 1", "smmu0 ATS 0x100 ssid 0 users 1", "smmu0 ATS 0x101 ssid 0 users 1"],
      },
      { file: "test/scenarios/show/show.smmu", line: 26, column: 3, what: "show invs idle", lines: ["empty"] },
    ]);
    expect(first.shows.at(-1)).toEqual({ file: "test/scenarios/show/show.smmu", line: 39, column: 3, what: "show atc gpu0", lines: ["empty"] });
    expect(failed.shows.map((s: { what: string }) => s.what)).toEqual(["show invs d1"]);
    expect(legacy.shows[0].lines).toEqual(["driver-legacy keeps no invalidation array for d1"]);
  });

  test("a scenario without show statements has no shows", async () => {
    const r = await cli("run", "--json", "examples/s1-shared.smmu");
    expect(JSON.parse(r.stdout).files[0].scenarios.every((s: object) => !("shows" in s))).toBe(true);
  });
});

describe("the README", () => {
  test("examples/inside.smmu prints what the README shows, and so does its --metrics", async () => {
    const r = await cli("run", "examples/inside.smmu");
    expect([r.status, r.stdout]).toEqual([0, readmeShown("npx smmu-emu run examples/inside.smmu")]);
    const m = await cli("run", "--metrics", "examples/inside.smmu");
    expect(`${m.stdout.split("\n").slice(-6).join("\n")}`).toBe(readmeShown("npx smmu-emu run --metrics examples/inside.smmu | tail -5"));
  });
});

describe("a node whose plugin shows nothing of itself", () => {
  test("fails the scenario at the statement, and the run goes on", async () => {
    const d = mkdtempSync(join(tmpdir(), "smmu-show-"));
    /* an endpoint that serves no request at all */
    writeFileSync(
      join(d, "mute.ts"),
      `export default { name: "mute-device", kind: "device", version: "1.0.0", apiVersions: [1], description: "", schema: {},
  setup(ctx) { return { kind: "device", name: ctx.node, smmu: ctx.spec.smmu, sids: ctx.spec.sids, pci: true, atsCapable: false, pasidBits: 0, atsEnabled: false, enableAts() {}, disableAts() {} }; } };\n`,
    );
    const file = join(d, "t.smmu");
    writeFileSync(file, `use "./mute.ts";\nsmmu smmu0 { features: ats; }\ndevice dev0 { plugin: "mute-device"; smmu: smmu0; sids: 0x10; }\nscenario "s" {\n  show atc dev0;\n  show ste dev0;\n}\n`);
    const r = await cli("run", file);
    expect([r.status, r.stderr]).toEqual([1, ""]);
    expect(r.stdout).toBe(
      [
        file,
        "FAIL s (driver-invs mainline)",
        `  ${file}:5:3: show atc dev0: nothing on the platform answers "ep:show" for dev0`,
        `  ${file}:6:3: show ste dev0`,
        "    sid 0x10",
        "      STRTAB_STE_0_V 1",
        "      STRTAB_STE_0_CFG 0 (ABORT)",
        "      qwords 0x1 0x0 0x0 0x0 0x0 0x0 0x0 0x0",
        "1 scenario: 0 passed, 1 failed",
        "",
      ].join("\n"),
    );
  });
});

describe("show ste and the configuration cache", () => {
  const rest = [0n, 0n, 0n, 0n, 0n, 0n, 0n];
  test("an STE changed with no CFGI_STE since: the older copy the SMMU still uses, after the one in memory", () => {
    expect(steLines([0x9n, ...rest], [0x1n, ...rest])).toEqual([
      "STRTAB_STE_0_V 1",
      "STRTAB_STE_0_CFG 4 (BYPASS)",
      "qwords 0x9 0x0 0x0 0x0 0x0 0x0 0x0 0x0",
      "the configuration cache holds an older copy: qwords 0x1 0x0 0x0 0x0 0x0 0x0 0x0 0x0",
    ]);
  });

  test("a cached copy that is the same says nothing", () => {
    expect(steLines([0x9n, ...rest], [0x9n, ...rest])).toEqual(["STRTAB_STE_0_V 1", "STRTAB_STE_0_CFG 4 (BYPASS)", "qwords 0x9 0x0 0x0 0x0 0x0 0x0 0x0 0x0"]);
  });
});
