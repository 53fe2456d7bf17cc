/**
 * Parse errors in the words of the language, with the position a reader
 * expects: a missing ';' is reported right after the token it should follow.
 */
import type { IParserErrorMessageProvider, IRecognitionException, IToken, TokenType } from "chevrotain";
import { diagnostic, type Diagnostic } from "../core/diagnostics.js";
import { didYouMean } from "../core/suggest.js";
import { isRegister, MEMORY_OPS } from "./lower-litmus.js";
import { Identifier, KW, Semi } from "./tokens.js";

/** A token's text for a message: a long one (a 50 MB literal) is cut short. */
function image(token: IToken): string {
  return token.image.length > 80 ? `${token.image.slice(0, 77)}...` : token.image;
}

function show(token: IToken): string {
  if (token.tokenType.name === "EOF") return "the end of the file";
  if (token.tokenType.name === "BadNumber") return `the bad number '${image(token)}' (numbers are decimal, 0x hex, or decimal with K, M or G)`;
  return `'${image(token)}'`;
}

function label(t: TokenType): string {
  return t.LABEL ?? t.name;
}

/** What each rule expects when none of its alternatives matches. */
const EXPECTED: Record<string, string> = {
  topItem: "a declaration (smmu, device, vsmmu, domain, param, for, include, use, driver or scenario)",
  stmt: "a statement (attach, detach, map, unmap, flush, dma, sva, mm, fail, fault, expect, show, array, unref, concurrently, for or driver)",
  expect: "an expectation (commands, count, invs, array, dma, state, error, no stale, stale or a condition such as r0 == 1)",
  value: "a value",
  operand: "a number, a name or '('",
  nameAtom: "a number, a name or '('",
  array: "'{' (the entries) or '=' then alloc, merge or purge",
  sva: "bind or unbind",
  mm: "invalidate or release",
  expectInvs: "'empty;', 'trash N' or '{' (the entries)",
  nodeDecl: "smmu, device, vsmmu or domain",
  expectDma: "a result (via, ok, fault or abort)",
  dmaSpec: "'read' or 'write'",
  property: "a property (key: value;)",
  command: "a command (e.g. TLBI_NH_VA asid 1 ...;)",
  "invalidation entry": "an entry (e.g. smmu0 S1_ASID 1 users 1;)",
  "memory operation": `a memory operation (${MEMORY_OPS.join(", ")})`,
  condNot: "a condition (r0 == 1, not, '(')",
  condOperand: "a register or a number",
  comparison: "'==' or '!='",
};

const KEYWORDS = Object.keys(KW);

/** What a block may hold before its '}', by the rule the block belongs to. */
const BLOCK_OF: Record<string, string> = {
  scenario: "stmt",
  stmtFor: "stmt",
  expectError: "stmt",
  concurrently: "stmt",
  topFor: "topItem",
  nodeDecl: "property",
  expectCommands: "command",
  expectInvs: "invalidation entry",
  thread: "memory operation",
};

/** A keyword the token may be a misspelling of; punctuation and numbers are never words, nor is a name far longer than any keyword. */
function nearKeyword(t: IToken): string {
  return /^[A-Za-z_]/.test(t.image) && t.image.length <= 40 && t.tokenType.name !== "EOF" ? didYouMean(t.image, KEYWORDS) : "";
}

/** A memory operation (or a load into a register) among statements: where it belongs. */
function misplacedMemOp(inside: string, t: IToken): string {
  const memOp = (MEMORY_OPS as readonly string[]).includes(t.image) || isRegister(t.image);
  return inside === "stmt" && memOp ? " (a memory operation goes in a thread { } inside a concurrently block)" : "";
}

export const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    /* the file's MANY stopped at something that starts no declaration */
    if (expected.name === "EOF") return `expected ${EXPECTED.topItem} but found ${show(actual)}${nearKeyword(actual)}`;
    const inside = expected.name === "RBrace" ? BLOCK_OF[ruleName] : undefined;
    if (inside) return `expected ${EXPECTED[inside] ?? `a ${inside}`} or '}' but found ${show(actual)}${nearKeyword(actual)}${misplacedMemOp(inside, actual)}`;
    /* `x = 1;`: a thread's accesses are the kernel's primitives */
    if (ruleName === "memOp" && expected === Identifier) return `expected ${EXPECTED["memory operation"]} but found ${show(actual)}`;
    return `expected ${label(expected)} but found ${show(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `expected ${EXPECTED.topItem} but found ${show(firstRedundant)}${nearKeyword(firstRedundant)}`;
  },
  buildNoViableAltMessage({ actual, ruleName }) {
    const found = actual[0]!;
    return `expected ${EXPECTED[ruleName] ?? "something else"} but found ${show(found)}${nearKeyword(found)}`;
  },
  buildEarlyExitMessage({ actual, ruleName }) {
    const want = ruleName === "property" ? "a value" : (EXPECTED[ruleName] ?? "at least one item");
    return `expected ${want} but found ${show(actual[0]!)}`;
  },
};

/** One diagnostic per parse error; a missing ';' points just past the previous token. */
export function parseDiagnostics(file: string, errors: readonly IRecognitionException[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let line = e.token.startLine ?? 1;
    let column = e.token.startColumn ?? 1;
    const prev = (e as IRecognitionException & { previousToken?: IToken }).previousToken;
    if (e.name === "MismatchedTokenException" && e.message.startsWith(`expected ${label(Semi)}`) && prev?.endLine !== undefined) {
      line = prev.endLine;
      column = (prev.endColumn ?? 0) + 1;
    }
    if (e.token.tokenType.name === "EOF" && prev?.endLine !== undefined) {
      line = prev.endLine;
      column = (prev.endColumn ?? 0) + 1;
    }
    const key = `${line}:${column}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(diagnostic({ file, line, column }, "parse", e.message));
  }
  return out;
}
