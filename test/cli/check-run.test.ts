/**
 * One validation pass: `check` rejects exactly the files `run` rejects, with
 * the same diagnostics, every problem of a file at once, including what only
 * the plugins can tell (a setup that fails, an allocation site or a fault
 * they do not have: src/engine/preflight.ts). A table of every kind of bad
 * input, beside test/cli/robust.test.ts's two files with many problems.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli } from "../helpers/cli.js";

const TOPO = `smmu smmu0 { features: ats; }
device nic0 { smmu: smmu0; sids: 0x40; ats: true; }
domain d1 { stage: s1; }
`;

/** A device plugin whose setup throws, written as a module without imports. */
const BOOM = `export default { name: "boom", kind: "device", version: "1", apiVersions: [1], extends: "pcie-ats", description: "", schema: { type: "object" }, setup() { throw new Error("no hardware"); } };\n`;

/** A device plugin whose setup returns nothing (no model for the engine to read). */
const NOTHING = `export default { name: "nothing", kind: "device", version: "1", apiVersions: [1], description: "", schema: { type: "object" }, setup() {} };\n`;

/** Each bad file, and what both commands print for it (`F` is its path). */
const BAD: ReadonlyArray<[name: string, text: string, diagnostics: string[]]> = [
  ["a syntax error", `${TOPO}scenario "s" { attach nic0 ; }\n`, ["F:4:28: error: expected a name but found ';'"]],
  ["a statement naming no device", `${TOPO}scenario "s" { attach nic9 d1; }\n`, [`F:4:23: error: unknown device "nic9" (did you mean "nic0"?)`]],
  [
    "the topology's problems with the scenarios'",
    `smmu smmu0 { features: atz; }\ndevice nic0 { smmu: smmu1; sids: 0x40; ats: true; }\ndomain d1 { stage: s1; }\nscenario "s" { attach nic0 d2; }\n`,
    [
      `F:1:24: error: features[0]: "atz" is not one of: range_inv, e2h, ats, sva, nesting, cd2l, attr_types_ovr (did you mean "ats"?)`,
      `F:2:21: error: unknown SMMU "smmu1" (did you mean "smmu0"?)`,
      `F:4:28: error: unknown domain "d2" (did you mean "d1"?)`,
    ],
  ],
  ["the file's driver variant", `driver invs v10;\n${TOPO}scenario "s" { attach nic0 d1; }\n`, [`F:1:1: error: driver-invs has no variant "v10"; it has mainline, v9, share`]],
  [
    "a second scenario's driver variant",
    `${TOPO}scenario "ok" { attach nic0 d1; }\nscenario "s" { driver invs v10; attach nic0 d1; }\n`,
    [`F:5:16: error: driver-invs has no variant "v10"; it has mainline, v9, share`],
  ],
  ["a driver option", `driver invs mainline { parallel_sink: true; }\n${TOPO}scenario "s" { attach nic0 d1; }\n`, [`F:1:24: error: unknown option "parallel_sink" (did you mean "parallel_syncs"?)`]],
  ["a driver nobody loaded", `${TOPO}scenario "s" { driver nope; attach nic0 d1; }\n`, [`F:4:16: error: no driver plugin "driver-nope"; loaded: driver-legacy, driver-invs`]],
  [
    "an allocation site the driver does not have",
    `${TOPO}scenario "s" {\n  attach nic0 d1;\n  expect error -ENOMEM { fail alloc bogus_site; attach nic0 d1; }\n}\n`,
    [`F:6:26: error: driver-invs has no allocation site "bogus_site" (invs, master_domain, cd_table)`],
  ],
  ["a fault the device does not have", `${TOPO}scenario "s" { fault nic0 bogus; }\n`, [`F:4:16: error: nic0 has no fault "bogus" (atc_no_response)`]],
  [
    "a plugin whose setup throws, under each driver the scenarios choose",
    `use "./boom.ts";\n${TOPO.replace("ats: true; }", `ats: true; plugin: "boom"; }`)}scenario "a" { attach nic0 d1; }\nscenario "b" { driver legacy; attach nic0 d1; }\n`,
    [`F:5:10: error: plugin "boom" failed handling "setup": no hardware`, `F:6:16: error: plugin "boom" failed handling "setup": no hardware`],
  ],
  [
    "a plugin whose setup returns no model",
    `use "./nothing.ts";\n${TOPO.replace("ats: true; }", `ats: true; plugin: "nothing"; }`)}scenario "a" { attach nic0 d1; }\n`,
    [`F:5:10: error: plugin "nothing" failed handling "setup": setup() returned undefined, not the device node's model`],
  ],
  [
    "a plugin that does not load, with a scenario's problem",
    `use "./missing.ts";\n${TOPO}scenario "s" { attach nic9 d1; }\n`,
    [`F:1:1: error: plugin "./missing.ts": no such file DIR/missing.ts`, `F:5:23: error: unknown device "nic9" (did you mean "nic0"?)`],
  ],
];

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "smmu-check-run-"));
  writeFileSync(join(dir, "package.json"), `{ "type": "module" }\n`);
  writeFileSync(join(dir, "boom.ts"), BOOM);
  writeFileSync(join(dir, "nothing.ts"), NOTHING);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("check and run reject the same files with the same diagnostics", () => {
  test.each(BAD.map(([name, text, ds], i) => [name, i, text, ds] as const))("%s", async (_name, i, text, diagnostics) => {
    const path = join(dir, `bad${i}.smmu`);
    writeFileSync(path, text);
    const check = await cli("check", path);
    const run = await cli("run", path);
    const want = diagnostics.map((d) => `${d.replaceAll("F:", `${path}:`).replaceAll("DIR/", `${dir}/`)}\n`).join("");
    expect(check).toEqual({ status: 2, stdout: "", stderr: want });
    expect(run).toEqual({ status: 2, stdout: "0 scenarios: 0 passed, 0 failed; 1 file(s) not run: bad input\n", stderr: want });
  });

  test("a statement that only needs what another driver has is no bad input: the scenario is skipped when it runs", async () => {
    const path = join(dir, "legacy.smmu");
    writeFileSync(path, `driver legacy;\n${TOPO}scenario "s" { fail alloc invs; attach nic0 d1; }\n`);
    expect(await cli("check", path)).toEqual({ status: 0, stdout: `${path}: ok: 1 SMMU(s), 1 device(s), 0 vSMMU(s), 1 domain(s), 1 scenario(s)\n`, stderr: "" });
    expect(await cli("run", path)).toEqual({
      status: 0,
      stdout: [
        path,
        "SKIP s (driver-legacy v7.0)",
        `  ${path}:5:16: driver-legacy keeps no invalidation array: fail alloc invs needs a driver that has one (driver-invs)`,
        "1 scenario: 0 passed, 0 failed, 1 skipped",
        "",
      ].join("\n"),
      stderr: "",
    });
  });
});
