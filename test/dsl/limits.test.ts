/**
 * Hostile .smmu input (issue 13): each case is a diagnostic naming the
 * limit at the place that goes over it (src/dsl/limits.ts), never an
 * internal error. Bounded by the cases' sizes, as filed, not by time.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";
import reportSchema from "../../schemas/report.schema.json" with { type: "json" };
import { formatDiagnostic, InputError, type Diagnostic } from "../../src/core/diagnostics.js";
import type { SmmuFile } from "../../src/dsl/ast.js";
import { compileSmmu, type CompileOptions } from "../../src/dsl/compile.js";
import { DEFAULT_LIMITS } from "../../src/dsl/limits.js";
import { validateGrammar } from "../../src/dsl/parser.js";
import { loadSmmu } from "../../src/engine/load.js";
import { builtinRegistry } from "../../src/index.js";
import { jsonReport } from "../../src/report/json.js";

const registry = builtinRegistry();

/** Every diagnostic of compiling and validating `text`, formatted. */
function diags(text: string): string[] {
  return caught(() => loadSmmu("t.smmu", registry, text)).map(formatDiagnostic);
}

/** Every diagnostic of compiling `text` with `limits`, formatted. */
function compiled(text: string, opts: CompileOptions): string[] {
  return caught(() => compileSmmu(text, "t.smmu", opts)).map(formatDiagnostic);
}

function caught(f: () => SmmuFile): Diagnostic[] {
  try {
    f();
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics;
    throw err;
  }
  return [];
}

const TOPO = `smmu smmu0 { features: ats; }
device gpu0 { smmu: smmu0; sids: 0x100; ats: true; }
domain d1 { stage: s1; }
`;

/** A scenario body after TOPO; its lines start at line 5. */
const scenario = (body: string): string => `${TOPO}scenario "s" {\n${body}\n}\n`;

const nested = (open: string, close: string, levels: number, inner: string): string => open.repeat(levels) + inner + close.repeat(levels);

const FIFTY_MB = 50_000_000;

describe("nesting", () => {
  test("the limits' defaults", () => {
    expect(DEFAULT_LIMITS).toEqual({
      nesting: 64,
      iterations: 1_000_000,
      nodes: 100_000,
      statements: 250_000,
      evaluations: 10_000_000,
      literalLength: 4096,
      fileSize: 4 * 1024 * 1024,
      includeSize: 8 * 1024 * 1024,
      includeDepth: 16,
    });
  });

  /* the 65th bracket open at once is reported; each chunk's '{' (or the '(') is at a known offset */
  test.each([
    ["parentheses", `param A = ${nested("(", ")", 600, "1")};`, "t.smmu:1:75"],
    ["for loops", scenario(nested("for i in 0 .. 0 { ", " }", 600, "flush d1;")), `t.smmu:5:${1 + 63 * 18 + 16}`],
    ["concurrently blocks", scenario(nested("concurrently { ", " }", 600, "flush d1;")), `t.smmu:5:${1 + 63 * 15 + 13}`],
    ["expect error blocks", scenario(nested("expect error -EINVAL { ", " }", 600, "flush d1;")), `t.smmu:5:${1 + 63 * 23 + 21}`],
    ["a loop of topology", nested("for i in 0 .. 0 { ", " }", 600, "smmu s { }"), `t.smmu:1:${1 + 64 * 18 + 16}`],
  ])("600 levels of %s: one error at the bracket past 64", (_, text, at) => {
    expect(diags(text)).toEqual([`${at}: error: nesting deeper than 64 levels`]);
  });

  test("an unclosed run of brackets is the same error", () => {
    expect(diags(`param A = ${"(".repeat(600)}`)).toEqual(["t.smmu:1:75: error: nesting deeper than 64 levels"]);
  });

  test("64 levels parse and lower: 63 loops in a scenario, 64 parentheses in a param", () => {
    const text = `param A = ${nested("(", ")", 64, "0x1000")};\n${TOPO}scenario "s" {\n${nested("for i in 0 .. 0 { ", " }", 63, "map d1 A size 4K;")}\n}\n`;
    const file = loadSmmu("t.smmu", registry, text);
    expect(file.scenarios[0]!.body).toEqual([
      { kind: "map", domain: "d1", iova: 0x1000, size: 0x1000, readonly: false, span: { file: "t.smmu", line: 6, column: 1135, endLine: 6, endColumn: 1152 } },
    ]);
  });

  test("the limit is an option", () => {
    expect(compiled("param A = ((1));", { limits: { nesting: 1 } })).toEqual(["t.smmu:1:12: error: nesting deeper than 1 levels"]);
  });

  test("the grammar passes chevrotain's validations (a run skips them)", () => {
    expect(() => validateGrammar()).not.toThrow();
  });
});

describe("literals and 64-bit values", () => {
  test("a 50 MB number literal is wider than 64 bits, at the literal", () => {
    expect(diags(`param A = ${"9".repeat(FIFTY_MB)};`)).toEqual(["t.smmu:1:11: error: number literal wider than 64 bits"]);
  });

  test("a 50 MB string literal is longer than the limit, at the literal; the parse error after it is cut short", () => {
    expect(diags(`use "${"a".repeat(FIFTY_MB)}"`)).toEqual([
      "t.smmu:1:5: error: string longer than 4096 characters",
      `t.smmu:1:50000007: error: expected ';' but found the end of the file`,
    ]);
    expect(diags(`scenario "s" "${"b".repeat(FIFTY_MB)}" { }`)).toEqual([
      "t.smmu:1:14: error: string longer than 4096 characters",
      `t.smmu:1:14: error: expected '{' but found '"${"b".repeat(76)}...'`,
    ]);
  });

  test("a 50 MB name is longer than the limit, at the name", () => {
    expect(diags(`param ${"n".repeat(FIFTY_MB)} = 1;`)).toEqual(["t.smmu:1:7: error: name longer than 4096 characters"]);
  });

  test("a 50 MB literal of leading zeros is its value", () => {
    const file = loadSmmu("t.smmu", registry, `${TOPO}scenario "s" { map d1 0x${"0".repeat(FIFTY_MB)}1000 size 4K; }\n`);
    expect(file.scenarios[0]!.body[0]).toMatchObject({ kind: "map", iova: 0x1000 });
  });

  test.each([
    ["18446744073709551615", []],
    ["0xffff_ffff_ffff_ffff", []],
    ["15G", []],
    ["18446744073709551616", ["t.smmu:1:11: error: number literal wider than 64 bits"]],
    ["0x1_0000_0000_0000_0000", ["t.smmu:1:11: error: number literal wider than 64 bits"]],
    ["17179869184G", ["t.smmu:1:11: error: number literal wider than 64 bits"]],
    ["0x1G", ["t.smmu:1:11: error: expected a number, a name or '(' but found the bad number '0x1G' (numbers are decimal, 0x hex, or decimal with K, M or G)"]],
  ])("param A = %s;", (literal, expected) => {
    expect(diags(`param A = ${literal};`)).toEqual(expected);
  });

  test("a result or an intermediate wider than 64 bits is an error at its operator", () => {
    const text = [
      "param A = 0xffff_ffff;",
      "param B = A * A * A;", // the second '*'
      "param C = -0xffff_ffff_ffff_ffff - 1;",
      "param D = 0xffff_ffff_ffff_ffff + 0 - 0xffff_ffff_ffff_ffff * 2;", // the '*', evaluated before the '-'
      "param E = 1 << 64;",
      "param F = 16G * 1G;",
      "param G = (0xffff_ffff_ffff_ffff + 1) * 0;",
      "param H = 0 - 0xffff_ffff_ffff_ffff;", // fits: either sign
      "param I = B + C + D + E + F + G;", // the params that failed fail quietly
    ].join("\n");
    expect(diags(text)).toEqual([
      "t.smmu:2:17: error: the result of '*' is wider than 64 bits",
      "t.smmu:3:34: error: the result of '-' is wider than 64 bits",
      "t.smmu:4:61: error: the result of '*' is wider than 64 bits",
      "t.smmu:5:13: error: the result of '<<' is wider than 64 bits",
      "t.smmu:6:15: error: the result of '*' is wider than 64 bits",
      "t.smmu:7:34: error: the result of '+' is wider than 64 bits",
    ]);
  });

  test("an 80-bit param squared eight times: the literal is the error", () => {
    const lines = ["param P0 = 0xffff_ffff_ffff_ffff_ffff;", ...Array.from({ length: 8 }, (_, i) => `param P${i + 1} = P${i} * P${i};`)];
    expect(diags(lines.join("\n"))).toEqual(["t.smmu:1:12: error: number literal wider than 64 bits"]);
  });

  test("a 32-bit param squared eight times: the square that overflows, once", () => {
    const lines = ["param P0 = 0xffff_ffff;", ...Array.from({ length: 8 }, (_, i) => `param P${i + 1} = P${i} * P${i};`)];
    expect(diags(lines.join("\n"))).toEqual(["t.smmu:3:15: error: the result of '*' is wider than 64 bits"]);
  });

  test("200,000 shifts: the first that overflows; 200,000 that do not, evaluated", () => {
    expect(diags(`param A = 1${" << 64".repeat(200_000)};`)).toEqual(["t.smmu:1:13: error: the result of '<<' is wider than 64 bits"]);
    expect(diags(`param A = 0${" << 64".repeat(200_000)};\nparam B = A / 0;`)).toEqual(["t.smmu:2:13: error: division by zero"]);
  });

  test("eight lines of 20,000 products: each line's 40th '*' (3^41 > 2^64)", () => {
    const lines = Array.from({ length: 8 }, (_, i) => `param P${i} = ${Array(20_000).fill("3").join(" * ")};`);
    expect(diags(lines.join("\n"))).toEqual(Array.from({ length: 8 }, (_, i) => `t.smmu:${i + 1}:${14 + 39 * 4}: error: the result of '*' is wider than 64 bits`));
  });
});

describe("budgets", () => {
  test("evaluations: where the budget runs out, once; the loop stops there", () => {
    /* gpu0's sids and the loop's bounds are 3, each time round '*', i, 4K and 4K: the 25th round's i is the 101st */
    const text = scenario("  for i in 0 .. 999 { map d1 i * 4K size 4K; }");
    expect(compiled(text, { limits: { evaluations: 100 } })).toEqual([
      "t.smmu:5:30: error: more than 100 evaluations in all (operands and operators; a loop's body counts each time round)",
    ]);
  });

  test("evaluations, at the default: a million iterations of 40 each", () => {
    /* 3, then 249,999 rounds of 19 '+', 20 i and 4K; the 250,000th round's 19 '+' and 18 i make 10,000,000: its 19th i */
    const text = scenario(`  for i in 0 .. 999999 { map d1 ${Array(20).fill("i").join(" + ")} size 4K; }`);
    expect(diags(text)).toEqual([
      `t.smmu:5:${33 + 18 * 4}: error: more than 10000000 evaluations in all (operands and operators; a loop's body counts each time round)`,
    ]);
  });

  test("statements and nodes: what counts where; loops and scenarios do not count", () => {
    const text = `${TOPO}for i in 0 .. 1 { domain e#i { stage: s1; } }\nparam P = 1;\nscenario "s" {\n  for i in 0 .. 1 { flush d1; expect commands smmu0 contains { CMD_SYNC; CMD_SYNC; } }\n}\n`;
    /* nodes: 3 + 2 domains; statements: the param + 2 x (flush, expect, 2 entries) = 9 */
    expect(compiled(text, { limits: { nodes: 5, statements: 9 } })).toEqual([]);
    expect(compiled(text, { limits: { statements: 8 } })).toEqual([
      "t.smmu:7:74: error: more than 8 statements in all (statements, expected entries and declarations other than nodes; a loop's body counts each time round)",
    ]);
    expect(compiled(text, { limits: { nodes: 4 } })).toEqual([
      "t.smmu:4:19: error: more than 4 nodes in all (smmu, device, vsmmu and domain declarations; a loop's body counts each time round)",
    ]);
  });

  test("statements, at the default: 13,000 loop iterations of twenty", () => {
    /* 12,500 rounds of 20 flushes make 250,000: the next round's first */
    const text = scenario(`  for i in 0 .. 12 { for j in 0 .. 999 { ${"flush d1; ".repeat(20)}} }`);
    expect(diags(text)).toEqual([
      "t.smmu:5:42: error: more than 250000 statements in all (statements, expected entries and declarations other than nodes; a loop's body counts each time round)",
    ]);
  });

  test("nodes, at the default: a loop of 100,001 domains", () => {
    expect(diags("for i in 0 .. 100000 { domain d#i { stage: s1; } }")).toEqual([
      "t.smmu:1:24: error: more than 100000 nodes in all (smmu, device, vsmmu and domain declarations; a loop's body counts each time round)",
    ]);
  });
});

describe("names that are Object.prototype's", () => {
  const WORDS = ["toString", "constructor", "__proto__", "valueOf", "hasOwnProperty"];

  test.each(WORDS)("%s as a property of an smmu, a device and a domain, and as a driver option: unknown, at its key", (w) => {
    expect(diags(`smmu smmu0 { features: ats; ${w}: 1; }\ndevice gpu0 { smmu: smmu0; sids: 1; ${w}: 1, 2; }\ndriver invs mainline { ${w}: true; }\n`)).toEqual([
      `t.smmu:1:29: error: unknown property "${w}"\n  hint: smmu-v3 takes cmd_ns, sync_ns, walk_cache`,
      `t.smmu:2:37: error: unknown property "${w}"\n  hint: pcie-ats takes atc_inv_ns, ats_disable_drops_inv`,
      `t.smmu:3:24: error: unknown option "${w}"\n  hint: driver-invs takes parallel_syncs`,
    ]);
    expect(diags(`domain d1 { stage: s1; ${w}: 1; }`)).toEqual([`t.smmu:1:24: error: unknown domain property "${w}"`]);
    /* every problem at once: the repeat, and the option the driver does not take */
    expect(diags(`smmu smmu0 { }\nscenario "s" {\n  driver invs mainline { ${w}: true; ${w}: false; }\n}\n`)).toEqual([
      `t.smmu:3:26: error: unknown option "${w}"\n  hint: driver-invs takes parallel_syncs`,
      `t.smmu:3:${34 + w.length}: error: option "${w}" is given twice`,
    ]);
  });

  test.each(WORDS)("%s as a name anywhere else is a name like any other", (w) => {
    const text = `param ${w} = 1;\nsmmu ${w}x { features: ats; }\ndevice ${w} { smmu: ${w}x; sids: ${w}; ats: true; }\ndomain d1 { stage: s1; }\nscenario "${w}" {\n  attach ${w} d1;\n  array ${w} = alloc 0;\n  expect array ${w} { }\n  expect count ${w}x ${w} 0;\n}\n`;
    expect(diags(text)).toEqual([`t.smmu:9:${18 + w.length}: error: expected "commands" or an opcode, not "${w}"`]);
  });
});

describe("one diagnostic per position, with its count", () => {
  test("a typo in a loop of 250,000: once, counted, in the JSON report too", () => {
    const ds = caught(() => loadSmmu("t.smmu", registry, scenario("  for i in 0 .. 249999 { attach gpux d1; }")));
    expect(ds.map(formatDiagnostic)).toEqual(['t.smmu:5:33: error: unknown device "gpux" (did you mean "gpu0"?) (reported 250000 times)']);
    const doc = JSON.parse(JSON.stringify(jsonReport([], ds, "0.0.0"))) as { diagnostics: unknown[] };
    expect(doc.diagnostics).toEqual([
      {
        file: "t.smmu",
        line: 5,
        column: 33,
        endLine: 5,
        endColumn: 37,
        severity: "error",
        code: "unknown-node",
        message: 'unknown device "gpux" (did you mean "gpu0"?) (reported 250000 times)',
        count: 250_000,
      },
    ]);
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(reportSchema);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  });

  test("each mistake at its own place, each counted", () => {
    expect(diags(`scenario "s" {\n  for i in 0 .. 999 { attach gpux d1; }\n}\n`)).toEqual([
      't.smmu:2:30: error: unknown device "gpux" (reported 1000 times)',
      't.smmu:2:35: error: unknown domain "d1" (reported 1000 times)',
    ]);
  });

  test("a built name differs each time round: the first stands for them all", () => {
    expect(diags(scenario("  for i in 0 .. 99 { attach gpu#i d1; }"))).toEqual([
      't.smmu:5:29: error: unknown device "gpu1" (did you mean "gpu0"?) (reported 99 times)',
    ]);
  });

  test("a typo in a loop of the topology: validation counts it too", () => {
    expect(diags(`smmu smmu0 { features: ats; }\nfor i in 0 .. 9999 { device dev#i { smmu: smmux; sids: i + 1; } }`)).toEqual([
      't.smmu:2:43: error: unknown SMMU "smmux" (did you mean "smmu0"?) (reported 10000 times)',
    ]);
  });

  test("once is not counted", () => {
    expect(caught(() => loadSmmu("t.smmu", registry, scenario("  attach gpux d1;")))).toEqual([
      { file: "t.smmu", line: 5, column: 10, endLine: 5, endColumn: 14, severity: "error", code: "unknown-node", message: 'unknown device "gpux" (did you mean "gpu0"?)' },
    ]);
  });
});

describe("the first bytes and the README's driver line", () => {
  test("a UTF-8 byte order mark is skipped; columns count from after it", () => {
    expect(loadSmmu("t.smmu", registry, `\uFEFF${TOPO}`).topology.smmus).toEqual([{ name: "smmu0", features: ["ats"] }]);
    expect(diags(`\uFEFFsmmu smmu0 { features: ats @; }`)).toEqual(["t.smmu:1:28: error: unexpected character '@'"]);
  });

  test("a byte order mark anywhere else is an unexpected character", () => {
    expect(diags(`smmu smmu0 { }\n\uFEFFdomain d1 { stage: s1; }`)).toEqual(["t.smmu:2:1: error: unexpected character '\uFEFF'"]);
  });

  test("driver legacy v7.0; in the file and in a scenario", () => {
    const file = loadSmmu("t.smmu", registry, `${TOPO}driver legacy v7.0;\nscenario "s" {\n  driver legacy v7.0;\n  attach gpu0 d1;\n}\n`);
    expect(file.driver).toEqual({ plugin: "driver-legacy", variant: "v7.0", span: { file: "t.smmu", line: 4, column: 1, endLine: 4, endColumn: 20 } });
    expect(file.scenarios[0]!.driver).toEqual({ plugin: "driver-legacy", variant: "v7.0", span: { file: "t.smmu", line: 6, column: 3, endLine: 6, endColumn: 22 } });
  });

  test("a version is a driver's variant, not a name", () => {
    expect(diags(scenario("  attach gpu0 v7.0;"))).toEqual(["t.smmu:5:15: error: expected a name but found 'v7.0'"]);
    expect(diags(`${TOPO}driver invs v7.1;`)).toEqual(['t.smmu:4:1: error: driver-invs has no variant "v7.1"; it has mainline, v9, share']);
  });
});
