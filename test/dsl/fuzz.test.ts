/**
 * Fuzzing the language front end and the runner with fast-check: whatever
 * text comes in, loadSmmu() either returns a file or throws InputError whose
 * every diagnostic is positioned inside that text; and a file that loads runs
 * to results (failed expectations are results) or InputError, never anything
 * else. 4,500 cases in all, with fixed seeds so every run sees the same ones:
 *
 *   2,000 examples/*.smmu mutated: tokens or character ranges deleted,
 *         duplicated or replaced, tokens inserted, lines swapped, lines of
 *         other examples spliced in;
 *   2,000 texts made of the language's tokens (keywords, names, numbers,
 *         strings, punctuation, comments) and arbitrary characters;
 *     500 well-formed scenarios of random statements on a fixed topology,
 *         under both driver variants, to get deep into the runner.
 *
 * Bounded by those counts, never by time: a case that never ends is caught
 * by the runner's step limit (STEP_LIMIT), or shows as a test that does not
 * finish (SMMU_FUZZ_TRACE then names it).
 *
 * The bugs the fuzzing found are fixed; each keeps a minimal reproduction at
 * the end of this file.
 *
 * SMMU_FUZZ_SEED and SMMU_FUZZ_SCALE (a multiplier of the number of runs)
 * hunt further (SMMU_FUZZ_SCALE=20 runs the 90,000 cases of a campaign); SMMU_FUZZ_VERBOSE prints what each property reached;
 * SMMU_FUZZ_TRACE=file keeps the text of the case running (for a hang).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { IToken } from "chevrotain";
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import reportSchema from "../../schemas/report.schema.json" with { type: "json" };
import { codeFrame, InputError, type Diagnostic } from "../../src/core/diagnostics.js";
import type { SmmuFile } from "../../src/dsl/ast.js";
import { parseText } from "../../src/dsl/compile.js";
import { lex } from "../../src/dsl/lexer.js";
import { KW } from "../../src/dsl/tokens.js";
import { loadSmmu, loadSmmuWithPlugins } from "../../src/engine/load.js";
import { runFile, type ScenarioResult } from "../../src/engine/runner.js";
import { builtinRegistry } from "../../src/index.js";
import { jsonReport } from "../../src/report/json.js";

const FAKE = "fuzz.smmu";
const SEED = Number(process.env.SMMU_FUZZ_SEED ?? 42);
/** Multiplies every property's number of runs (1 in CI; more when hunting). */
const SCALE = Number(process.env.SMMU_FUZZ_SCALE ?? 1);
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));
const STEP_LIMIT = 20_000;

const registry = builtinRegistry();
const validateReport = new Ajv2020({ strict: true, allErrors: true }).compile(reportSchema);

// ---------------------------------------------------------------------------
// Corpus: the examples, with big generated topologies made small (a mutated
// copy of a 1024-device platform would take most of the time budget).

const EXAMPLE_DIR = fileURLToPath(new URL("../../examples/", import.meta.url));
const EXAMPLE_FILES = readdirSync(EXAMPLE_DIR)
  .filter((f) => f.endsWith(".smmu"))
  .sort()
  .map((f) => join(EXAMPLE_DIR, f));
const EXAMPLES: string[] = EXAMPLE_FILES.map((path) =>
  readFileSync(path, "utf8")
    .replace(/^param (\w+) = (\d+);/gm, (m, name: string, v: string) => (Number(v) > 8 ? `param ${name} = 3;` : m))
    .replace(/#(\d+)\b/g, (m, n: string) => (Number(n) > 8 ? "#7" : m)),
);
const EXAMPLE_LINES: string[] = EXAMPLES.flatMap((t) => t.split("\n")).filter((l) => l.trim() !== "");

/** Every token and comment of `text`, in order (lexing errors are skipped over). */
function tokensOf(text: string): IToken[] {
  const r = lex(text, FAKE);
  return [...r.tokens, ...r.comments].sort((a, b) => a.startOffset - b.startOffset);
}

const KEYWORDS = Object.keys(KW);
const NAMES = [...new Set(EXAMPLES.flatMap((t) => tokensOf(t).filter((k) => k.tokenType.name === "Identifier").map((k) => k.image)))].sort();
const PUNCTUATION = ["{", "}", "(", ")", ";", ":", ",", "...", "..", "#", "=", "+", "-", "*", "/", "%", "<<", ">>"];
const NUMBERS = [
  "0", "1", "2", "3", "7", "8", "64", "0x40", "0x100", "0x1000", "4K", "2M", "1G", "1_000", "0x1_0000",
  "0xffffffff", "0x7fffffff", "0x1_0000_0000_0000", "0xffff_ffff_ffff", "0x7fffffffffffffff", "0xffffffffffffffff",
  "18446744073709551616", "99999999999999999999999999", "1000001", "0G", "00", "0x0", "1_", "0x", "4KB",
];
const STRINGS = ['"x"', '""', '"a\\"b"', '"\\\\"', '"unterminated', '"two\nlines"', '"é ✓ 😀"'];
const LAYOUT = ["\n", " ", "\t", "\r\n", "\r", "//", "// c\n", "/*", "*/", "/* c */", "\u00a0", "\u2028", "\uFEFF"];

const tokenArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...KEYWORDS), weight: 4 },
  { arbitrary: fc.constantFrom(...NAMES), weight: 3 },
  { arbitrary: fc.constantFrom(...PUNCTUATION), weight: 4 },
  { arbitrary: fc.constantFrom(...NUMBERS), weight: 2 },
  { arbitrary: fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map((n) => (n < 0n ? `-0x${(-n).toString(16)}` : String(n))), weight: 1 },
  { arbitrary: fc.constantFrom(...STRINGS), weight: 1 },
  { arbitrary: fc.constantFrom(...LAYOUT), weight: 1 },
  { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 3 }), weight: 1 },
);

// ---------------------------------------------------------------------------
// Mutations

type Mutation =
  | { kind: "delete-tokens" | "duplicate-tokens"; at: number; count: number }
  | { kind: "replace-token"; at: number; text: string }
  | { kind: "respell-token"; at: number; pick: number }
  | { kind: "insert-tokens"; at: number; tokens: string[] }
  | { kind: "delete-chars" | "duplicate-chars"; at: number; count: number }
  | { kind: "replace-chars"; at: number; count: number; text: string }
  | { kind: "swap-lines"; at: number; other: number }
  | { kind: "splice-line"; at: number; line: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom("delete-tokens" as const, "duplicate-tokens" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("replace-token" as const), at: fc.nat(), text: tokenArb }),
  fc.record({ kind: fc.constant("respell-token" as const), at: fc.nat(), pick: fc.nat() }),
  fc.record({ kind: fc.constant("insert-tokens" as const), at: fc.nat(), tokens: fc.array(tokenArb, { minLength: 1, maxLength: 5 }) }),
  fc.record({ kind: fc.constantFrom("delete-chars" as const, "duplicate-chars" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("replace-chars" as const), at: fc.nat(), count: fc.integer({ min: 0, max: 8 }), text: fc.string({ unit: "binary", maxLength: 6 }) }),
  fc.record({ kind: fc.constant("swap-lines" as const), at: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constant("splice-line" as const), at: fc.nat(), line: fc.nat() }),
);

function mutate(text: string, m: Mutation): string {
  const splice = (from: number, to: number, insert: string): string => text.slice(0, from) + insert + text.slice(to);
  switch (m.kind) {
    case "delete-tokens":
    case "duplicate-tokens":
    case "replace-token":
    case "respell-token":
    case "insert-tokens": {
      const toks = tokensOf(text);
      if (toks.length === 0) return text + (m.kind === "insert-tokens" ? m.tokens.join(" ") : "");
      const i = m.at % toks.length;
      const first = toks[i]!;
      const start = first.startOffset;
      if (m.kind === "insert-tokens") return splice(start, start, `${m.tokens.join(" ")} `);
      if (m.kind === "replace-token") return splice(start, first.endOffset! + 1, m.text);
      if (m.kind === "respell-token") return splice(start, first.endOffset! + 1, respell(first, m.pick));
      const last = toks[Math.min(i + m.count, toks.length) - 1]!;
      const end = last.endOffset! + 1;
      return m.kind === "delete-tokens" ? splice(start, end, "") : splice(end, end, ` ${text.slice(start, end)}`);
    }
    case "delete-chars":
    case "duplicate-chars":
    case "replace-chars": {
      const at = m.at % (text.length + 1);
      const end = Math.min(at + m.count, text.length);
      if (m.kind === "replace-chars") return splice(at, end, m.text);
      return m.kind === "delete-chars" ? splice(at, end, "") : splice(end, end, text.slice(at, end));
    }
    case "swap-lines": {
      const lines = text.split("\n");
      const a = m.at % lines.length;
      const b = m.other % lines.length;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return lines.join("\n");
    }
    case "splice-line": {
      const lines = text.split("\n");
      lines.splice(m.at % (lines.length + 1), 0, EXAMPLE_LINES[m.line % EXAMPLE_LINES.length]!);
      return lines.join("\n");
    }
  }
}

/** Another token of the same kind (a number for a number, a name for a name), so the text still parses. */
function respell(t: IToken, pick: number): string {
  const pool = t.tokenType.name === "NumberLit" ? NUMBERS : t.tokenType.name === "Identifier" ? NAMES : t.tokenType.name === "StringLit" ? STRINGS : [t.image];
  return pool[pick % pool.length]!;
}

const mutatedExampleArb = fc
  .record({ example: fc.nat(), mutations: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) })
  .map(({ example, mutations }) => mutations.reduce(mutate, EXAMPLES[example % EXAMPLES.length]!));

const tokenSoupArb = fc
  .array(fc.tuple(tokenArb, fc.constantFrom(" ", " ", "", "\n")), { maxLength: 80 })
  .map((parts) => parts.map(([t, sep]) => t + sep).join(""));

// ---------------------------------------------------------------------------
// Well-formed scenarios of random statements

const TOPOLOGY = `smmu smmu0 { features: ats, nesting, sva, range_inv; }
smmu smmu1 { features: ats; }
device gpu0 { smmu: smmu0; sids: 0x100; ats: true; pasid_bits: 8; }
device gpu1 { smmu: smmu0; sids: 0x200; ats: true; }
device nic0 { smmu: smmu1; sids: 0x40; ats: true; pasid_bits: 8; }
vsmmu v0 { smmu: smmu0; parent: s2; }
domain d1 { stage: s1; }
domain d2 { stage: s1; }
domain s2 { stage: s2; nest_parent: true; }
domain n1 { stage: nested; vsmmu: v0; }
domain proc { stage: sva; }
`;

const dev = fc.constantFrom("gpu0", "gpu1", "nic0");
const dom = fc.constantFrom("d1", "d2", "s2", "n1", "proc");
const pasid = fc.integer({ min: 0, max: 3 });
const iova = fc.constantFrom("0", "0x1000", "0x10000", "0x200000", "0x7f0000");
const size = fc.constantFrom("4K", "8K", "0x3000", "2M");

const operationArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(dev, fc.constantFrom("d1", "d2", "s2", "n1", "proc", "blocked", "identity")).map(([d, t]) => `attach ${d} ${t};`),
  fc.tuple(dev, dom, pasid).map(([d, t, p]) => `attach ${d} ${t} pasid ${p};`),
  fc.tuple(dev, pasid).map(([d, p]) => `detach ${d} pasid ${p};`),
  dev.map((d) => `detach ${d};`),
  fc.tuple(dom, iova, size, fc.boolean()).map(([d, i, s, ro]) => `map ${d} ${i} size ${s}${ro ? " readonly" : ""};`),
  fc.tuple(dom, iova, size).map(([d, i, s]) => `unmap ${d} ${i} size ${s};`),
  /* nested and SVA domains have no flush (their guest, their mm invalidates): that is a diagnostic, tested in diagnostics.test.ts */
  fc.constantFrom("d1", "d2", "s2").map((d) => `flush ${d};`),
  fc.tuple(dev, fc.constantFrom("read", "write"), iova, fc.option(pasid, { nil: undefined })).map(([d, a, i, p]) => `dma ${d} ${a} ${i}${p === undefined ? "" : ` pasid ${p}`};`),
  fc.constantFrom("mm invalidate proc;", "mm invalidate proc 0x1000 size 0x2000;", "mm release proc;"),
);

const statementArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: operationArb, weight: 10 },
  { arbitrary: fc.tuple(dev, pasid).map(([d, p]) => `sva bind ${d} proc pasid ${p + 1};`), weight: 2 },
  { arbitrary: fc.tuple(dev, pasid).map(([d, p]) => `sva unbind ${d} pasid ${p + 1};`), weight: 1 },
  { arbitrary: fc.tuple(fc.constantFrom("invs", "master_domain", "cd_table"), fc.integer({ min: 1, max: 3 })).map(([s, n]) => `fail alloc ${s} count ${n};`), weight: 2 },
  { arbitrary: fc.tuple(dev, fc.boolean()).map(([d, off]) => `fault ${d} atc_no_response${off ? " off" : ""};`), weight: 1 },
  { arbitrary: fc.constantFrom("expect no stale;", "expect stale;", "expect stale gpu0 0x10000;"), weight: 1 },
  { arbitrary: fc.tuple(dev, iova, fc.constantFrom("via walk", "via atc", "via iotlb", "ok", "fault", "abort")).map(([d, i, r]) => `expect dma ${d} read ${i} ${r};`), weight: 1 },
  { arbitrary: fc.constantFrom("smmu0", "smmu1").map((s) => `expect commands ${s} contains { CMD_SYNC; }`), weight: 1 },
  { arbitrary: dom.map((d) => `expect invs ${d} empty;`), weight: 1 },
  { arbitrary: fc.tuple(fc.constantFrom("-ENOMEM", "-EINVAL", "oops", "livelock"), operationArb).map(([e, s]) => `expect error ${e} { ${s} }`), weight: 1 },
  { arbitrary: fc.array(operationArb, { minLength: 2, maxLength: 3 }).map((ss) => `concurrently { ${ss.join(" ")} }`), weight: 1 },
);

const generatedScenarioArb = fc
  .tuple(fc.constantFrom("", "driver invs mainline;", "driver invs v9;"), fc.array(statementArb, { minLength: 1, maxLength: 25 }))
  .map(([driver, body]) => `${TOPOLOGY}\nscenario "generated" {\n${[driver, ...body].filter(Boolean).map((s) => `  ${s}`).join("\n")}\n}\n`);

// ---------------------------------------------------------------------------
// The checks

/** Lines as the lexer counts them: "\n", "\r\n" and a lone "\r" each end one. */
function lineCount(text: string): number {
  return text.split(/\r\n|\r|\n/).length;
}

function checkDiagnostics(err: InputError, text: string): void {
  expect(err.diagnostics.length, "an InputError carries at least one diagnostic").toBeGreaterThan(0);
  const lines = lineCount(text);
  for (const d of err.diagnostics) {
    const where = JSON.stringify(d);
    expect(d.file, where).toBe(FAKE);
    expect(Number.isInteger(d.line) && d.line >= 1, `line: ${where}`).toBe(true);
    expect(Number.isInteger(d.column) && d.column >= 1, `column: ${where}`).toBe(true);
    expect(d.line, `line within the text (${lines} lines): ${where}`).toBeLessThanOrEqual(lines + 1);
    expect(typeof d.message === "string" && d.message.trim().length > 0, `message: ${where}`).toBe(true);
    expect(["error", "warning"]).toContain(d.severity);
    expect(d.code.length, `code: ${where}`).toBeGreaterThan(0);
    expect(() => codeFrame(d, text)).not.toThrow();
  }
  expect(
    err.diagnostics.some((d: Diagnostic) => d.severity === "error"),
    "an InputError holds an error",
  ).toBe(true);
}

interface Stats {
  cases: number;
  loaded: number;
  ran: number;
  scenarios: number;
  failedScenarios: number;
  tooBig: number;
}

function newStats(): Stats {
  return { cases: 0, loaded: 0, ran: 0, scenarios: 0, failedScenarios: 0, tooBig: 0 };
}

/** loadSmmu(text): the file, or undefined after checking its InputError; anything else escapes. */
function load(text: string): SmmuFile | undefined {
  try {
    return loadSmmu(FAKE, registry, text);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    checkDiagnostics(err, text);
    return undefined;
  }
}

/** runFile(file): results, or undefined after checking its InputError. */
function run(file: SmmuFile, text: string): ScenarioResult[] | undefined {
  let results: ScenarioResult[];
  try {
    results = runFile(file, { registry, stepLimit: STEP_LIMIT });
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    checkDiagnostics(err, text);
    return undefined;
  }
  expect(results).toHaveLength(file.scenarios.length);
  for (const r of results) {
    expect(r.passed).toBe(r.failures.length === 0);
    for (const f of r.failures) {
      expect(f.span.file).toBe(FAKE);
      expect(f.span.line).toBeGreaterThanOrEqual(1);
      expect(f.span.line).toBeLessThanOrEqual(lineCount(text) + 1);
      expect(f.message.length).toBeGreaterThan(0);
    }
  }
  const doc: unknown = JSON.parse(JSON.stringify(jsonReport([{ file: FAKE, scenarios: results }], [], "0.0.0")));
  expect(validateReport(doc), JSON.stringify(validateReport.errors)).toBe(true);
  return results;
}

/**
 * Files whose topology is bigger than this load but do not run: a mutated
 * `param SMMUS = 4K;` makes 12,288 devices share one domain, whose attaches
 * alone take about a minute (each merges an array of every device so far).
 */
const MAX_NODES_TO_RUN = 300;

function nodes(file: SmmuFile): number {
  return file.topology.smmus.length + file.topology.devices.length + (file.topology.vsmmus?.length ?? 0);
}

/** One case: load, run what loads. */
function fuzzCase(text: string, stats: Stats): void {
  /* the case about to run, for when one never returns */
  if (process.env.SMMU_FUZZ_TRACE) writeFileSync(process.env.SMMU_FUZZ_TRACE, text);
  stats.cases++;
  const file = load(text);
  if (file && nodes(file) > MAX_NODES_TO_RUN) {
    stats.loaded++;
    stats.tooBig++;
  } else if (file) {
    stats.loaded++;
    const results = run(file, text);
    if (results) {
      stats.ran++;
      stats.scenarios += results.length;
      stats.failedScenarios += results.filter((r) => !r.passed).length;
    }
  }
}

function property(name: string, arb: fc.Arbitrary<string>, numRuns: number, seed: number): Stats {
  const stats = newStats();
  fc.assert(fc.property(arb, (text) => fuzzCase(text, stats)), { seed, numRuns });
  if (process.env.SMMU_FUZZ_VERBOSE) {
    const s = stats;
    console.log(
      `${name}: ${s.cases} cases, ${s.loaded} loaded, ${s.ran} ran (${s.scenarios} scenarios, ${s.failedScenarios} failed), ${s.tooBig} too big to run`,
    );
  }
  return stats;
}

// ---------------------------------------------------------------------------
// The properties

/* the plugins the examples `use` (examples/plugins/*.ts), so their mutants load with loadSmmu() */
beforeAll(async () => {
  for (const path of EXAMPLE_FILES) {
    if (/^use /m.test(readFileSync(path, "utf8"))) await loadSmmuWithPlugins(path, registry);
  }
});

describe("fuzzing loadSmmu and runFile", () => {
  /* each example as it is runs once, in test/examples/; here, the corpus as this harness loads it (with the plugins loaded above) */
  test("the corpus loads, what was made smaller runs, and the generated topology loads and runs", () => {
    EXAMPLES.forEach((text, i) => {
      const file = load(text);
      expect(file, EXAMPLE_FILES[i]).toBeDefined();
      if (text !== readFileSync(EXAMPLE_FILES[i]!, "utf8")) expect(run(file!, text), EXAMPLE_FILES[i]).toBeDefined();
    });
    const topology = `${TOPOLOGY}scenario "empty" { }\n`;
    const file = load(topology);
    expect(file).toBeDefined();
    expect(run(file!, topology)).toBeDefined();
  });

  test("2,000 mutated examples: only InputError, positioned in the text; what loads runs to results", () => {
    const s = property("mutated examples", mutatedExampleArb, runs(2_000), SEED);
    /* the mutations must leave enough intact to get past the parser and into the runner */
    expect(s.loaded).toBeGreaterThan(s.cases / 20);
    expect(s.ran).toBeGreaterThan(s.cases / 20);
  });

  test("2,000 texts of tokens and arbitrary characters: only InputError, positioned in the text", () => {
    property("token soup", tokenSoupArb, runs(2_000), SEED + 1);
  });

  test("500 generated scenarios: every one loads and runs to results", () => {
    const s = property("generated scenarios", generatedScenarioArb, runs(500), SEED + 2);
    expect(s.loaded).toBe(s.cases);
    expect(s.ran).toBeGreaterThan(s.cases * 0.9);
  });
});

// ---------------------------------------------------------------------------
// The bugs the fuzzing found, fixed: their reproductions

describe("bugs the fuzzing found", () => {
  /* v9 publishes ERR_PTR(-ENOMEM) when a purge cannot allocate; the next attach's merge dereferences it */
  test("v9: an attach after a failed purge published ERR_PTR(-ENOMEM) oopses", () => {
    const text = `smmu smmu0 { features: ats; }
device gpu0 { smmu: smmu0; sids: 0x100; ats: true; }
device gpu1 { smmu: smmu0; sids: 0x200; ats: true; }
domain d1 { stage: s1; }
scenario "attach after a failed purge" {
  driver invs v9;
  attach gpu0 d1;
  attach gpu1 d1;
  fail alloc invs;
  attach gpu0 blocked;
  attach gpu0 d1;
}
`;
    const [result] = runFile(loadSmmu(FAKE, registry, text), { registry });
    expect(result?.failures.map((f) => `${f.span.line}:${f.span.column}: ${f.message}`)).toEqual([
      "11:3: attach gpu0 d1: Unable to handle kernel paging request: arm_smmu_invs_merge dereferenced d1->invs = ERR_PTR(-ENOMEM)",
    ]);
  });

  /* iommu_flush_iotlb_all() has nothing to call for a nested domain (arm_smmu_nested_ops has no flush_iotlb_all) */
  test("flush of a nested domain is a diagnostic at the domain", () => {
    const text = `smmu smmu0 { features: nesting; }
vsmmu v0 { smmu: smmu0; parent: s2; }
domain s2 { stage: s2; nest_parent: true; }
domain n1 { stage: nested; vsmmu: v0; }
scenario "s" { flush n1; }
`;
    expect(() => loadSmmu(FAKE, registry, text)).toThrow(
      `${FAKE}:5:22: error: "n1" is a nested domain, which the host cannot flush; its guest invalidates its stage 1 (unmap n1 ...)`,
    );
  });

  /* an array statement that failed leaves its target unset; what reads it fails, it does not crash */
  test("an array whose merge failed is reported empty where it is read", () => {
    const text = `scenario "m" {
  fail alloc invs;
  array t { S2_VMID 1; }
  array a = alloc 0;
  array b = merge a t;
  expect array b { S2_VMID 1; }
}
`;
    const [result] = runFile(loadSmmu(FAKE, registry, text), { registry });
    expect(result?.failures.map((f) => `${f.span.line}:${f.span.column}: ${f.message}`)).toEqual([
      "5:3: arm_smmu_invs_merge() failed: -ENOMEM",
      "6:3: array b holds nothing: the statement that should have made it failed",
    ]);
  });

  /* the pattern, not the choice between a loop and a pattern, reports the missing ';' (and without computing lookahead paths) */
  test("a missing ';' in an expect commands block is reported after the command", () => {
    const text = `smmu smmu0 { }\nscenario "s" {\n  expect commands smmu0 { CMD_SYNC }\n  expect invs d1 { smmu0 S1_ASID }\n}\n`;
    expect(parseText(text, FAKE).diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`)).toEqual([
      "3:35: expected ';' but found '}'",
      "4:34: expected a number, a name or '(' but found '}'",
    ]);
  });
});
