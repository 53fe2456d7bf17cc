/**
 * Token types of the .smmu language (src/dsl/lexer.ts makes the tokens).
 * Words the grammar looks for are keyword tokens in the Identifier category,
 * so they still work as names (a device called "read" is fine) while the
 * parser can ask for them by kind. The patterns document each token; the
 * lexer implements them by hand.
 */
import type { TokenType } from "chevrotain";
import { createToken } from "./chevrotain.js";

export const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\n]*/, group: "comments" });
export const BlockComment = createToken({ name: "BlockComment", pattern: /\/\*[\s\S]*?\*\//, group: "comments" });

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "a name" });

/** A number: decimal or hexadecimal with _ separators, decimal with a K/M/G multiplier. */
export const NumberLit = createToken({
  name: "NumberLit",
  pattern: /(?:0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*|[0-9](?:_?[0-9])*[KMG]?)(?![A-Za-z0-9_])/,
  label: "a number",
});
/** Digits running into letters ("12abc", "0x1G"): caught as one token so the error names it. */
export const BadNumber = createToken({ name: "BadNumber", pattern: /[0-9][A-Za-z0-9_]*/, label: "a number" });
export const StringLit = createToken({ name: "StringLit", pattern: /"(?:[^"\\\n]|\\.)*"/, label: "a string" });
/** A name with a dotted version, as driver variants are written: `v7.0`. */
export const VersionLit = createToken({ name: "VersionLit", pattern: /[A-Za-z_][A-Za-z0-9_]*(?:\.[0-9]+)+/, label: "a version" });

const kw = (word: string): TokenType =>
  createToken({ name: `Kw_${word}`, pattern: new RegExp(word), longer_alt: Identifier, categories: [Identifier], label: `'${word}'` });

export const KW = {
  include: kw("include"),
  use: kw("use"),
  param: kw("param"),
  driver: kw("driver"),
  smmu: kw("smmu"),
  device: kw("device"),
  vsmmu: kw("vsmmu"),
  domain: kw("domain"),
  scenario: kw("scenario"),
  for: kw("for"),
  in: kw("in"),
  attach: kw("attach"),
  detach: kw("detach"),
  map: kw("map"),
  unmap: kw("unmap"),
  flush: kw("flush"),
  dma: kw("dma"),
  sva: kw("sva"),
  bind: kw("bind"),
  unbind: kw("unbind"),
  mm: kw("mm"),
  invalidate: kw("invalidate"),
  release: kw("release"),
  fail: kw("fail"),
  alloc: kw("alloc"),
  fault: kw("fault"),
  expect: kw("expect"),
  commands: kw("commands"),
  contains: kw("contains"),
  count: kw("count"),
  invs: kw("invs"),
  empty: kw("empty"),
  trash: kw("trash"),
  error: kw("error"),
  warn: kw("warn"),
  no: kw("no"),
  stale: kw("stale"),
  via: kw("via"),
  abort: kw("abort"),
  ok: kw("ok"),
  pa: kw("pa"),
  size: kw("size"),
  pasid: kw("pasid"),
  sid: kw("sid"),
  to: kw("to"),
  readonly: kw("readonly"),
  read: kw("read"),
  write: kw("write"),
  off: kw("off"),
  users: kw("users"),
  ssid: kw("ssid"),
  x: kw("x"),
  array: kw("array"),
  merge: kw("merge"),
  unref: kw("unref"),
  purge: kw("purge"),
  concurrently: kw("concurrently"),
  state: kw("state"),
  /* litmus threads and the conditions over their registers (src/dsl/lower-litmus.ts) */
  thread: kw("thread"),
  and: kw("and"),
  or: kw("or"),
  not: kw("not"),
  show: kw("show"),
} as const;

const punctuation = new Map<TokenType, string>();

/** A punctuation token: matched by its text, and named by it in messages. */
const punct = (name: string, text: string): TokenType => {
  const t = createToken({ name, pattern: new RegExp(text.replace(/[.*+{}()/]/g, "\\$&")), label: `'${text}'` });
  punctuation.set(t, text);
  return t;
};

export const LBrace = punct("LBrace", "{");
export const RBrace = punct("RBrace", "}");
export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const Semi = punct("Semi", ";");
export const Colon = punct("Colon", ":");
export const Comma = punct("Comma", ",");
export const Ellipsis = punct("Ellipsis", "...");
export const DotDot = punct("DotDot", "..");
export const Hash = punct("Hash", "#");
export const Equals = punct("Equals", "=");
export const Plus = punct("Plus", "+");
export const Minus = punct("Minus", "-");
export const Star = punct("Star", "*");
export const Slash = punct("Slash", "/");
export const Percent = punct("Percent", "%");
export const Shl = punct("Shl", "<<");
export const Shr = punct("Shr", ">>");
export const EqEq = punct("EqEq", "==");
export const NotEq = punct("NotEq", "!=");

/** Each punctuation token's text, by its type: the image of every token of the type. */
export const PUNCTUATION: ReadonlyMap<TokenType, string> = punctuation;

/** Every token type the parser reads (comments are not given to it). */
export const ALL_TOKENS: TokenType[] = [
  StringLit,
  NumberLit,
  BadNumber,
  VersionLit,
  ...Object.values(KW),
  Identifier,
  LBrace,
  RBrace,
  LParen,
  RParen,
  Semi,
  Colon,
  Comma,
  Ellipsis,
  DotDot,
  Hash,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Shl,
  Shr,
  EqEq,
  NotEq,
];

/** Each keyword's token type, by the word. */
export const KEYWORDS: ReadonlyMap<string, TokenType> = new Map(Object.entries(KW));
