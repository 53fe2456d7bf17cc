/**
 * The .smmu lexer, by hand: one pass over the text's character codes, with
 * no regular expression that could backtrack over (or overflow on) a 50 MB
 * literal. It makes the tokens src/dsl/tokens.ts describes, with chevrotain's
 * position fields, and checks the literals' limits as it goes: a number
 * wider than 64 bits, a name or string longer than limits.literalLength.
 * Line breaks are "\n", "\r\n" and a lone "\r"; a UTF-8 byte order mark
 * before the first line is skipped.
 */
import type { IToken, TokenType } from "chevrotain";
import { diagnostic, type Diagnostic } from "../core/diagnostics.js";
import { DEFAULT_LIMITS, type Limits } from "./limits.js";
import { literalValue, VALUE_BITS } from "./numbers.js";
import { BadNumber, BlockComment, DotDot, Ellipsis, EqEq, Identifier, KEYWORDS, LineComment, NotEq, NumberLit, PUNCTUATION, Shl, Shr, Slash, StringLit, VersionLit } from "./tokens.js";

export interface LexResult {
  tokens: IToken[];
  comments: IToken[];
  diagnostics: Diagnostic[];
}

/** The text of each token type that has only one: punctuation and keywords (their tokens share it). */
const FIXED = new Map<TokenType, string>([...PUNCTUATION, ...[...KEYWORDS].map(([word, t]) => [t, word] as const)]);
/** Punctuation of one character, by its code; "/" (which may start a comment) is lexed on its own. */
const SINGLE: (TokenType | undefined)[] = [];
for (const [t, text] of PUNCTUATION) if (text.length === 1 && t !== Slash) SINGLE[text.charCodeAt(0)] = t;

/**
 * A token as chevrotain reads it. One class, so that every token has one
 * shape, and small: a file of 100,000 lines has 650,000 of them. A token on
 * one line (all but some strings and comments) computes where it ends.
 */
export class Token implements IToken {
  readonly tokenTypeIdx: number;
  /** A NumberLit's value, once lowering asked (a loop's body evaluates the same literal each time round); null before. */
  private value: bigint | undefined | null = null;

  constructor(
    readonly image: string,
    readonly startOffset: number,
    readonly startLine: number,
    readonly startColumn: number,
    readonly tokenType: TokenType,
  ) {
    this.tokenTypeIdx = tokenType.tokenTypeIdx!;
  }

  /** The value of this NumberLit token (undefined: wider than 64 bits, which the lexer reported). */
  numberValue(): bigint | undefined {
    if (this.value === null) this.value = literalValue(this.image);
    return this.value;
  }

  get endOffset(): number {
    return this.startOffset + this.image.length - 1;
  }

  get endLine(): number {
    return this.startLine;
  }

  get endColumn(): number {
    return this.startColumn + this.image.length - 1;
  }
}

/** A token whose text breaks the line (a lone "\r" in a string, a block comment): its end is kept. */
class LongToken extends Token {
  constructor(
    image: string,
    startOffset: number,
    startLine: number,
    startColumn: number,
    tokenType: TokenType,
    private readonly end: { line: number; column: number },
  ) {
    super(image, startOffset, startLine, startColumn, tokenType);
  }

  override get endLine(): number {
    return this.end.line;
  }

  override get endColumn(): number {
    return this.end.column;
  }
}

const BOM = 0xfeff;
const LF = 10;
const CR = 13;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isHex = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isIdentStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdentPart = (c: number): boolean => isIdentStart(c) || isDigit(c);
/** What a "." in a regular expression does not match: a backslash before one of these ends no escape. */
const isJsLineTerminator = (c: number): boolean => c === LF || c === CR || c === 0x2028 || c === 0x2029;

class Lexer {
  private readonly tokens: IToken[] = [];
  private readonly comments: IToken[] = [];
  private readonly diagnostics: Diagnostic[] = [];
  private readonly n: number;
  private line = 1;
  /** offset of the current line's first character */
  private lineStart = 0;

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly limits: Limits,
  ) {
    this.n = text.length;
  }

  run(): LexResult {
    const { text, n } = this;
    let i = 0;
    if (text.charCodeAt(0) === BOM) this.lineStart = i = 1;
    /* a run of characters that start no token is one error, at its first */
    let inBad = false;
    while (i < n) {
      const end = this.token(i);
      if (end >= 0) {
        inBad = false;
        i = end;
        continue;
      }
      if (!inBad) {
        const char = String.fromCodePoint(text.codePointAt(i)!);
        this.diagnostics.push(diagnostic(this.at(i), "lex", `unexpected character '${char}'`));
      }
      inBad = true;
      i++;
    }
    return { tokens: this.tokens, comments: this.comments, diagnostics: this.diagnostics };
  }

  /** Lex the token (or layout) at `i`; the offset just past it, or -1 if none starts there. */
  private token(i: number): number {
    const { text } = this;
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === LF || c === CR) return this.layout(i);
    if (isIdentStart(c)) return this.word(i);
    if (isDigit(c)) return this.number(i);
    const next = text.charCodeAt(i + 1);
    if (c === 61 /* = */ && next === 61) return this.push(EqEq, i, i + 2);
    const single = c < 128 ? SINGLE[c] : undefined;
    if (single) return this.push(single, i, i + 1);
    switch (c) {
      case 34 /* " */:
        return this.string(i);
      case 47 /* / */:
        if (next === 47) return this.lineComment(i);
        if (next === 42) {
          const close = text.indexOf("*/", i + 2);
          if (close >= 0) return this.comment(BlockComment, i, close + 2);
        }
        return this.push(Slash, i, i + 1);
      case 46 /* . */:
        if (next !== 46) return -1;
        return text.charCodeAt(i + 2) === 46 ? this.push(Ellipsis, i, i + 3) : this.push(DotDot, i, i + 2);
      case 60 /* < */:
        return next === 60 ? this.push(Shl, i, i + 2) : -1;
      case 62 /* > */:
        return next === 62 ? this.push(Shr, i, i + 2) : -1;
      case 33 /* ! */:
        return next === 61 ? this.push(NotEq, i, i + 2) : -1;
      default:
        return -1;
    }
  }

  /** Spaces, tabs and line breaks. */
  private layout(i: number): number {
    const { text, n } = this;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) this.newLine(i + 1);
      else if (c !== 32 && c !== 9 && c !== CR) break;
    }
    return i;
  }

  private newLine(start: number): void {
    this.line++;
    this.lineStart = start;
  }

  /** A name, a keyword, or a name with a dotted version (v7.0). */
  private word(i: number): number {
    const { text, n } = this;
    let j = i + 1;
    while (j < n && isIdentPart(text.charCodeAt(j))) j++;
    let type: TokenType | undefined;
    while (text.charCodeAt(j) === 46 && isDigit(text.charCodeAt(j + 1))) {
      type = VersionLit;
      j += 2;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
    }
    if (j - i > this.limits.literalLength) this.tooLong(i, "name");
    type ??= j - i <= 12 ? (KEYWORDS.get(text.slice(i, j)) ?? Identifier) : Identifier;
    return this.push(type, i, j);
  }

  /** A number, or digits running into letters (a BadNumber the parser names). */
  private number(i: number): number {
    const { text, n } = this;
    const hex = text.charCodeAt(i) === 48 && (text.charCodeAt(i + 1) | 32) === 120 && isHex(text.charCodeAt(i + 2));
    let j = hex ? this.digits(i + 2, isHex) : this.digits(i, isDigit);
    if (!hex) {
      const unit = text.charCodeAt(j);
      if (unit === 75 || unit === 77 || unit === 71) j++;
    }
    if (j < n && isIdentPart(text.charCodeAt(j))) {
      j = i + 1;
      while (j < n && isIdentPart(text.charCodeAt(j))) j++;
      return this.push(BadNumber, i, j);
    }
    /* nine characters or fewer always fit (999_999_999G, 0xfffffff) */
    if (j - i > 9 && literalValue(text.slice(i, j)) === undefined) {
      this.diagnostics.push(diagnostic(this.at(i), "limit", `number literal wider than ${VALUE_BITS} bits`));
    }
    return this.push(NumberLit, i, j);
  }

  /** The end of the digits from `i` (one at least), single "_" between them. */
  private digits(i: number, isOk: (c: number) => boolean): number {
    const { text, n } = this;
    let j = i + 1;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (isOk(c)) j++;
      else if (c === 95 && isOk(text.charCodeAt(j + 1))) j += 2;
      else break;
    }
    return j;
  }

  /** "..." with backslash escapes, on one line. */
  private string(i: number): number {
    const { text, n } = this;
    let j = i + 1;
    for (;;) {
      if (j >= n) return -1;
      const c = text.charCodeAt(j);
      if (c === 34) break;
      if (c === 92) {
        if (j + 1 >= n || isJsLineTerminator(text.charCodeAt(j + 1))) return -1;
        j += 2;
      } else if (c === LF) return -1;
      else j++;
    }
    if (j + 1 - i > this.limits.literalLength) this.tooLong(i, "string");
    return this.push(StringLit, i, j + 1);
  }

  private lineComment(i: number): number {
    const nl = this.text.indexOf("\n", i);
    return this.comment(LineComment, i, nl < 0 ? this.n : nl);
  }

  private comment(type: TokenType, i: number, end: number): number {
    const t = this.make(type, i, end);
    this.comments.push(t);
    return end;
  }

  private tooLong(i: number, what: string): void {
    this.diagnostics.push(diagnostic(this.at(i), "limit", `${what} longer than ${this.limits.literalLength} characters`));
  }

  private at(offset: number): { file: string; line: number; column: number } {
    return { file: this.file, line: this.line, column: offset - this.lineStart + 1 };
  }

  private push(type: TokenType, i: number, end: number): number {
    this.tokens.push(this.make(type, i, end));
    return end;
  }

  /** The token text[i, end); its end is where its last character is (a lone "\r" in a string or comment breaks the line). */
  private make(type: TokenType, i: number, end: number): IToken {
    const line = this.line;
    const column = i - this.lineStart + 1;
    const image = FIXED.get(type) ?? this.text.slice(i, end);
    if (type !== StringLit && type !== LineComment && type !== BlockComment) return new Token(image, i, line, column, type);
    let endLine = line;
    let endColumn = column;
    for (let k = i; k < end; k++) {
      if (k === end - 1) {
        endLine = this.line;
        endColumn = k - this.lineStart + 1;
      }
      const c = this.text.charCodeAt(k);
      if (c === LF || (c === CR && this.text.charCodeAt(k + 1) !== LF)) this.newLine(k + 1);
    }
    return endLine === line ? new Token(image, i, line, column, type) : new LongToken(image, i, line, column, type, { line: endLine, column: endColumn });
  }
}

/** A NumberLit token's value (undefined: wider than 64 bits), computed once per token. */
export function numberValue(t: IToken): bigint | undefined {
  return t instanceof Token ? t.numberValue() : literalValue(t.image);
}

/** The tokens and comments of `text`, and what is wrong with its characters and literals. */
export function lex(text: string, file: string, limits: Limits = DEFAULT_LIMITS): LexResult {
  return new Lexer(text, file, limits).run();
}
