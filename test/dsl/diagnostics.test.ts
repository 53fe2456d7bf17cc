/**
 * Bad .smmu input: each kind of mistake gets its exact message at its exact
 * position (file:line:col), and a file with several gets all of them.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { formatDiagnostic, InputError } from "../../src/core/diagnostics.js";
import { loadSmmu } from "../../src/engine/load.js";
import { builtinRegistry } from "../../src/index.js";

function diags(text: string, file = "t.smmu"): string[] {
  try {
    loadSmmu(file, builtinRegistry(), text);
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics.map(formatDiagnostic);
    throw err;
  }
  return [];
}

const TOPO = `smmu smmu0 { features: ats; }
device gpu0 { smmu: smmu0; sids: 0x100; ats: true; }
domain d1 { stage: s1; }
domain p1 { stage: sva; }
`;

/** A scenario body after TOPO; its lines start at line 6. */
const scenario = (body: string): string => `${TOPO}scenario "s" {\n${body}\n}\n`;

describe("syntax", () => {
  test.each([
    [
      "unknown keyword at the top",
      "smmmu smmu0 { }",
      `t.smmu:1:1: error: expected a declaration (smmu, device, vsmmu, domain, param, for, include, use, driver or scenario) but found 'smmmu' (did you mean "smmu"?)`,
    ],
    [
      "unknown statement",
      scenario("  atach gpu0 d1;"),
      `t.smmu:6:3: error: expected a statement (attach, detach, map, unmap, flush, dma, sva, mm, fail, fault, expect, show, array, unref, concurrently, for or driver) or '}' but found 'atach' (did you mean "attach"?)`,
    ],
    ["missing semicolon, reported after the token it should follow", "smmu smmu0 { features: ats }", "t.smmu:1:27: error: expected ';' but found '}'"],
    ["missing closing brace", "smmu smmu0 { features: ats;", "t.smmu:1:28: error: expected a property (key: value;) or '}' but found the end of the file"],
    [
      "bad number",
      "device gpu0 { smmu: smmu0; sids: 12abc; }",
      "t.smmu:1:34: error: expected a value but found the bad number '12abc' (numbers are decimal, 0x hex, or decimal with K, M or G)",
    ],
    ["unexpected character", "smmu smmu0 { features: ats @; }", "t.smmu:1:28: error: unexpected character '@'"],
    ["missing size keyword", scenario("  map d1 0x1000 0x1000;"), "t.smmu:6:17: error: expected 'size' but found '0x1000'"],
    ["an expectation that does not exist", scenario("  expect nothing;"), "t.smmu:6:10: error: expected an expectation (commands, count, invs, array, dma, state, error, no stale, stale or a condition such as r0 == 1) but found 'nothing'"],
  ])("%s", (_, text, message) => {
    expect(diags(text)).toEqual([message]);
  });
});

describe("names and values", () => {
  test.each([
    ["unknown device", scenario("  attach gpu9 d1;"), `t.smmu:6:10: error: unknown device "gpu9" (did you mean "gpu0"?)`],
    ["unknown domain", scenario("  attach gpu0 d7;"), `t.smmu:6:15: error: unknown domain "d7" (did you mean "d1"?)`],
    ["unknown SMMU in a property", "device gpu0 { smmu: smmu9; sids: 1; }\nsmmu smmu0 { features: ats; }", `t.smmu:1:21: error: unknown SMMU "smmu9" (did you mean "smmu0"?)`],
    ["unknown property", "smmu smmu0 { featurs: ats; }", `t.smmu:1:14: error: unknown smmu property "featurs" (did you mean "features"?)`],
    ["duplicate property", "domain d1 { stage: s1; stage: s2; }", `t.smmu:1:24: error: property "stage" is given twice`],
    ["boolean expected", "smmu smmu0 { features: ats; }\ndevice gpu0 { smmu: smmu0; sids: 1; ats: 1; }", `t.smmu:2:42: error: "ats" takes true or false, not the number 1`],
    [
      "unknown feature (the smmu-v3 plugin's schema)",
      "smmu smmu0 { features: rangeinv; }",
      `t.smmu:1:24: error: features[0]: "rangeinv" is not one of: range_inv, e2h, ats, sva, nesting, cd2l, attr_types_ovr (did you mean "range_inv"?)`,
    ],
    ["unknown parameter", "param N = 2;\nsmmu smmu0 { features: ats; }\ndevice gpu0 { smmu: smmu0; sids: 0x100 + M; }", `t.smmu:3:42: error: unknown parameter "M" (did you mean "N"?)`],
    ["division by zero", "smmu smmu0 { features: ats; }\ndevice gpu0 { smmu: smmu0; sids: 1 / 0; }", "t.smmu:2:36: error: division by zero"],
    ["a loop too long", "for i in 0 .. 1000000 { }", "t.smmu:1:1: error: loop of 1000001 iterations is more than 1000000"],
    /* each loop is within the limit; nested, they are not */
    ["nested loops too long", "for i in 0 .. 1000 {\n  for j in 0 .. 1000 { }\n}", "t.smmu:2:3: error: loops run more than 1000000 iterations in all (nested loops multiply)"],
    ["StreamID out of range", "smmu smmu0 { features: ats; }\ndevice gpu0 { smmu: smmu0; sids: 0x80000000; }", "t.smmu:2:34: error: sids[0] must be at most 2147483647 (0x7fffffff), not 2147483648 (0x80000000)"],
    /* in the file's own words: its property names, sizes with their unit */
    ["a limit, named as written", "smmu smmu0 { features: ats; }\ndevice gpu0 { smmu: smmu0; sids: 1; pasid_bits: 99; }", `t.smmu:2:49: error: "pasid_bits" must be at most 20, not 99`],
    ["a size not allowed, with its unit", "domain d1 { stage: s1; page_size: 8K; }", `t.smmu:1:35: error: "page_size": 8K is not one of: 4K, 16K, 64K`],
    ["a rule naming another property", "smmu smmu0 { features: ats; }\ndevice gpu0 { smmu: smmu0; sids: 1; pci: false; pasid_bits: 8; }", `t.smmu:2:61: error: device "gpu0": "pasid_bits" needs a PCI device, but "pci" is false`],
  ])("%s", (_, text, message) => {
    expect(diags(text)).toEqual([message]);
  });
});

describe("a value of the wrong kind, said as what it is", () => {
  const SMMU = "smmu smmu0 { features: ats; }\n";
  test.each([
    ["a boolean for a number", `${SMMU}device gpu0 { smmu: smmu0; sids: 1; pasid_bits: true; }`, `t.smmu:2:49: error: "pasid_bits" takes a number, not the boolean true`],
    ["a boolean in a list of numbers", `${SMMU}device gpu0 { smmu: smmu0; sids: 1, false; }`, `t.smmu:2:37: error: "sids" takes a number, not the boolean false`],
    ["a string for a boolean", `${SMMU}device gpu0 { smmu: smmu0; sids: 1; pci: "yes"; }`, `t.smmu:2:42: error: "pci" takes true or false, not the string "yes"`],
    ["a name for a boolean", `${SMMU}device gpu0 { smmu: smmu0; sids: 1; ats: yes; }`, `t.smmu:2:42: error: "ats" takes true or false, not the name yes`],
    ["a number for a name", "domain d1 { stage: 3; }", `t.smmu:1:20: error: "stage" takes a name, not the number 3`],
    ["a string for a name", `${SMMU}device gpu0 { smmu: "smmu0"; sids: 1; }`, `t.smmu:2:21: error: "smmu" takes a name, not the string "smmu0"`],
    ["a name for a string", `smmu smmu0 { plugin: smmu_v3; }`, `t.smmu:1:22: error: "plugin" takes a string in quotes, e.g. "smmu-v3", not the name smmu_v3`],
    /* a plugin's property is checked by its schema, at the property */
    ["a boolean for a plugin's number", "smmu smmu0 { cmd_ns: true; }", `t.smmu:1:14: error: "cmd_ns" takes a number, not the boolean true`],
    ["a number for a plugin's boolean", "smmu smmu0 { walk_cache: 1; }", `t.smmu:1:14: error: "walk_cache" takes true or false, not the number 1`],
    ["a boolean in a statement", scenario("  map d1 true size 4K;"), "t.smmu:6:10: error: expected a number, not the boolean true"],
  ])("%s", (_, text, message) => {
    expect(diags(text)).toEqual([message]);
  });

  test("a param may be called true: then it is a number", () => {
    expect(diags(`param true = 4;\n${SMMU}device gpu0 { smmu: smmu0; sids: 1; pasid_bits: true; }`)).toEqual([]);
  });
});

describe("topology rules", () => {
  test.each([
    ["duplicate name", "smmu smmu0 { features: ats; }\nsmmu smmu0 { features: ats; }", `t.smmu:2:6: error: duplicate name "smmu0" (already the name of the SMMU at line 1)`],
    [
      "StreamID claimed twice",
      "smmu smmu0 { features: ats; }\ndevice gpu0 { smmu: smmu0; sids: 0x100; }\ndevice gpu1 { smmu: smmu0; sids: 0x100; }",
      `t.smmu:3:34: error: device "gpu1": StreamID 0x100 is already claimed by "gpu0" on smmu0`,
    ],
    ["wrong stage combination: vsmmu on an S1 domain", "domain d1 { stage: s1; vsmmu: v0; }", `t.smmu:1:31: error: domain "d1": only nested domains take "vsmmu" (it is a stage s1 domain)`],
    [
      "wrong stage combination: a vSMMU over an S1 domain",
      "smmu smmu0 { features: ats; }\nvsmmu v0 { smmu: smmu0; parent: d1; }\ndomain d1 { stage: s1; }",
      `t.smmu:2:33: error: vSMMU "v0": parent "d1" is a stage s1 domain, but a vSMMU's parent must be a stage s2 domain with nest_parent: true;`,
    ],
  ])("%s", (_, text, message) => {
    expect(diags(text)).toEqual([message]);
  });
});

describe("scenarios", () => {
  test.each([
    ["unknown command", "  expect commands smmu0 { TLBI_NH_ASD asid 1; }", `t.smmu:6:27: error: unknown command "TLBI_NH_ASD" (did you mean "TLBI_NH_ASID"?)`],
    ["a field the command does not have", "  expect commands smmu0 { CMD_SYNC asid 1; }", `t.smmu:6:36: error: CMD_SYNC has no field "asid" (it has: none)`],
    ["unknown errno", "  expect error -ENOMM { attach gpu0 d1; }", `t.smmu:6:17: error: unknown errno "-ENOMM" (did you mean "-ENOMEM"?)`],
    ["a PASID on a static domain", "  attach gpu0 blocked pasid 1;", `t.smmu:6:15: error: a PASID takes a domain, not "blocked" (use detach ... pasid)`],
    ["flush of an SVA domain", "  flush p1;", `t.smmu:6:9: error: "p1" is an SVA domain, which iommu_flush_iotlb_all() cannot flush; its mm's notifier invalidates it (mm invalidate p1;)`],
    ["sva bind of a non-SVA domain", "  sva bind gpu0 d1 pasid 1;", `t.smmu:6:17: error: "d1" is an s1 domain; this needs an sva domain`],
    ["arrays used before they are made", "  unref a b;", [`t.smmu:6:9: error: unknown array "a"`, `t.smmu:6:11: error: unknown array "b"`]],
    ["a misplaced driver", "  attach gpu0 d1;\n  driver invs v9;", "t.smmu:7:3: error: a scenario's driver must be its first statement"],
    ["unknown DMA result", "  expect dma gpu0 read 0x0 via tlb;", `t.smmu:6:32: error: expected one of atc, iotlb, walk, bypass, not "tlb"`],
  ])("%s", (_, body, message) => {
    expect(diags(scenario(body))).toEqual(Array.isArray(message) ? message : [message]);
  });

  test("duplicate scenario names", () => {
    expect(diags(`${TOPO}scenario "s" { }\nscenario "s" { }`)).toEqual([`t.smmu:6:10: error: scenario "s" is already defined`]);
  });
});

describe("files", () => {
  test("an include that cannot be read, at the include's string", () => {
    expect(diags(`include "nope.smmu";`, join(tmpdir(), "t.smmu"))).toEqual([
      `${join(tmpdir(), "t.smmu")}:1:9: error: cannot read "nope.smmu": ENOENT`,
    ]);
  });

  test("an include cycle, and a mistake inside an included file reported in that file", () => {
    const dir = mkdtempSync(join(tmpdir(), "smmu-inc-"));
    writeFileSync(join(dir, "a.smmu"), `include "b.smmu";\n`);
    writeFileSync(join(dir, "b.smmu"), `include "a.smmu";\nsmmu smmu0 { features: ats }\n`);
    expect(diags(`include "a.smmu";`, join(dir, "main.smmu"))).toEqual([
      `${join(dir, "b.smmu")}:2:27: error: expected ';' but found '}'`,
    ]);
    writeFileSync(join(dir, "b.smmu"), `include "a.smmu";\n`);
    expect(diags(`include "a.smmu";`, join(dir, "main.smmu"))).toEqual([
      `${join(dir, "b.smmu")}:1:9: error: "a.smmu" includes itself (through 3 file(s))`,
    ]);
  });

  test("every problem of a file in one pass: the language's, the schemas', the driver's options', without a missing value for one that failed", () => {
    expect(
      diags(`smmu smmu0 { features: ats; cmd_ns: true; }
device gpu0 { smmu: 5; sids: 0x100; ats: 1; }
domain d1 { stage: s1; }
driver invs { parallel_syncs: 3; }
scenario "s" { attach gpu9 d1; }
`),
    ).toEqual([
      `t.smmu:1:29: error: "cmd_ns" takes a number, not the boolean true`,
      /* not also: device "gpu0" has no "smmu" */
      `t.smmu:2:21: error: "smmu" takes a name, not the number 5`,
      `t.smmu:2:42: error: "ats" takes true or false, not the number 1`,
      `t.smmu:4:15: error: "parallel_syncs" takes true or false, not the number 3`,
      `t.smmu:5:23: error: unknown device "gpu9" (did you mean "gpu0"?)`,
    ]);
  });

  test("what only running would find (names only the plugins know), with the language's problems, as run reports them", () => {
    expect(diags(scenario("  fail alloc invz;\n  fault gpu0 atc_noresponse;\n  attach gpu0 d9;\n  expect error -ENOMEM { fail alloc cd_tabel; }"))).toEqual([
      `t.smmu:6:3: error: driver-invs has no allocation site "invz" (invs, master_domain, cd_table)`,
      `t.smmu:7:3: error: gpu0 has no fault "atc_noresponse" (atc_no_response)`,
      `t.smmu:8:15: error: unknown domain "d9" (did you mean "d1"?)`,
      `t.smmu:9:26: error: driver-invs has no allocation site "cd_tabel" (invs, master_domain, cd_table)`,
    ]);
    /* under a driver without arrays, `fail alloc invs` is a skip when it runs, not bad input */
    expect(diags(`driver legacy;\n${scenario("  fail alloc invs;")}`)).toEqual([]);
  });

  test("every problem of a file is reported, in order", () => {
    expect(
      diags(`smmu smmu0 { features: rangeinv; }
device gpu0 { smmu: smmu0; sids: 0x100; }
device gpu1 { smmu: smmu1; sids: 0x100; }
domain d1 { stage: s1; vsmmu: v0; }
`),
    ).toEqual([
      `t.smmu:1:24: error: features[0]: "rangeinv" is not one of: range_inv, e2h, ats, sva, nesting, cd2l, attr_types_ovr (did you mean "range_inv"?)`,
      `t.smmu:3:21: error: unknown SMMU "smmu1" (did you mean "smmu0"?)`,
      `t.smmu:4:31: error: domain "d1": only nested domains take "vsmmu" (it is a stage s1 domain)`,
    ]);
  });
});
