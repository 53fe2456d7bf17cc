/**
 * What lowering a CST needs everywhere: reading labelled children, spans,
 * the scope of params and loop variables, and evaluating expressions and
 * built names (smmu#i) with 64-bit integers. Problems become diagnostics;
 * evaluation returns undefined after reporting one.
 */
import type { CstNode, IToken } from "chevrotain";
import { diagnostic, type Diagnostic, type Span } from "../core/diagnostics.js";
import { didYouMean } from "../core/suggest.js";
import type { JsonValue } from "../model/topology.js";

type Child = CstNode | IToken;

function isToken(c: Child): c is IToken {
  return "image" in c;
}

export function sub(node: CstNode, label: string, i = 0): CstNode | undefined {
  const c = node.children[label]?.[i];
  return c && !isToken(c) ? c : undefined;
}

export function subs(node: CstNode, label: string): CstNode[] {
  return (node.children[label] ?? []).filter((c): c is CstNode => !isToken(c));
}

export function tok(node: CstNode, label: string, i = 0): IToken | undefined {
  const c = node.children[label]?.[i];
  return c && isToken(c) ? c : undefined;
}

export function toks(node: CstNode, label: string): IToken[] {
  return (node.children[label] ?? []).filter(isToken);
}

/** The only child of a node (the chosen alternative of an OR rule). */
export function only(node: CstNode): CstNode {
  for (const list of Object.values(node.children)) {
    for (const c of list) if (!isToken(c)) return c;
  }
  throw new Error(`${node.name} has no sub-rule`);
}

/** The value of a string literal, without quotes, escapes resolved. */
export function stringValue(t: IToken): string {
  return t.image.slice(1, -1).replace(/\\(.)/g, "$1");
}

const UNITS: Record<string, bigint> = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n };

export function numberValue(t: IToken): bigint {
  const text = t.image.replace(/_/g, "");
  const unit = UNITS[text.slice(-1)];
  return unit ? BigInt(text.slice(0, -1)) * unit : BigInt(text);
}

/** The largest loop a file may write (so a typo cannot hang the emulator). */
const MAX_LOOP = 1_000_000;

export class LowerBase {
  readonly diagnostics: Diagnostic[] = [];
  /** params and loop variables, innermost last */
  private readonly scopes: Map<string, bigint>[] = [new Map()];

  /** The current file's line starts (CST nodes carry offsets only; tokens carry lines too). */
  private lines: number[] = [0];

  constructor(public file: string) {}

  /** Switch to `file` with its text (for includes); returns what to restore. */
  enter(file: string, text: string): { file: string; lines: number[] } {
    const saved = { file: this.file, lines: this.lines };
    this.file = file;
    this.lines = [0];
    /* line breaks as the lexer counts them: \n, \r\n and a lone \r */
    for (const m of text.matchAll(/\r\n?|\n/g)) this.lines.push(m.index + m[0].length);
    return saved;
  }

  leave(saved: { file: string; lines: number[] }): void {
    this.file = saved.file;
    this.lines = saved.lines;
  }

  /** 1-based line and column of an offset. */
  private at(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lines.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lines[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lines[lo]! + 1 };
  }

  spanOf(node: CstNode | IToken): Span {
    if ("image" in node) {
      return { file: this.file, line: node.startLine ?? 1, column: node.startColumn ?? 1, endLine: node.endLine, endColumn: (node.endColumn ?? 0) + 1 };
    }
    const start = this.at(node.location?.startOffset ?? 0);
    const end = this.at(node.location?.endOffset ?? 0);
    return { file: this.file, line: start.line, column: start.column, endLine: end.line, endColumn: end.column + 1 };
  }

  error(at: CstNode | IToken | Span, code: string, message: string, hint?: string): undefined {
    const span = "file" in at ? at : this.spanOf(at);
    this.diagnostics.push(diagnostic(span, code, message, hint));
    return undefined;
  }

  lookup(name: string): bigint | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const v = this.scopes[i]!.get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  defineParam(name: IToken, value: bigint): void {
    if (this.scopes[0]!.has(name.image)) {
      this.error(name, "duplicate", `param "${name.image}" is already defined`);
      return;
    }
    this.scopes[0]!.set(name.image, value);
  }

  /** Loop iterations run so far, in the whole file. */
  private iterations = 0;

  /** Run `body` for each value of a `for v in a .. b` loop. */
  loop(head: CstNode, body: () => void): void {
    const v = tok(head, "var")!;
    const from = this.expr(sub(head, "from")!);
    const to = this.expr(sub(head, "to")!);
    if (from === undefined || to === undefined) return;
    if (to - from + 1n > BigInt(MAX_LOOP)) {
      this.error(head, "range", `loop of ${to - from + 1n} iterations is more than ${MAX_LOOP}`);
      return;
    }
    const scope = new Map<string, bigint>();
    this.scopes.push(scope);
    try {
      for (let i = from; i <= to; i++) {
        /* nested loops multiply: one budget for every iteration of the file */
        if (++this.iterations > MAX_LOOP) {
          if (this.iterations === MAX_LOOP + 1) this.error(head, "range", `loops run more than ${MAX_LOOP} iterations in all (nested loops multiply)`);
          return;
        }
        scope.set(v.image, i);
        body();
      }
    } finally {
      this.scopes.pop();
    }
  }

  private names(): string[] {
    return this.scopes.flatMap((s) => [...s.keys()]);
  }

  /** Evaluate an expression: operands left to right, * / % << >> before + -. */
  expr(node: CstNode): bigint | undefined {
    const values = subs(node, "operand").map((o) => this.operand(o));
    if (values.some((v) => v === undefined)) return undefined;
    const ops = toks(node, "op");
    /* first the tight operators, folding into the operand on their left */
    const terms: bigint[] = [values[0]!];
    const loose: IToken[] = [];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const r = values[i + 1]!;
      if (op.image === "+" || op.image === "-") {
        loose.push(op);
        terms.push(r);
        continue;
      }
      const l = terms[terms.length - 1]!;
      if ((op.image === "/" || op.image === "%") && r === 0n) return this.error(op, "range", "division by zero");
      if ((op.image === "<<" || op.image === ">>") && (r < 0n || r > 64n)) return this.error(op, "range", `shift by ${r} is outside 0..64`);
      terms[terms.length - 1] = op.image === "*" ? l * r : op.image === "/" ? l / r : op.image === "%" ? l % r : op.image === "<<" ? l << r : l >> r;
    }
    let acc = terms[0]!;
    loose.forEach((op, i) => (acc = op.image === "+" ? acc + terms[i + 1]! : acc - terms[i + 1]!));
    return acc;
  }

  private operand(node: CstNode): bigint | undefined {
    const v = this.operandValue(node);
    return v !== undefined && toks(node, "neg").length % 2 === 1 ? -v : v;
  }

  private operandValue(node: CstNode): bigint | undefined {
    const n = tok(node, "NumberLit");
    if (n) return numberValue(n);
    const e = sub(node, "expr");
    if (e) return this.expr(e);
    const name = sub(node, "name")!;
    if (subs(name, "nameAtom").length > 0) return this.error(name, "type", `expected a number but found the name "${this.nameText(name) ?? "?"}"`);
    const id = tok(name, "base")!;
    const v = this.lookup(id.image);
    if (v !== undefined) return v;
    const near = didYouMean(id.image, this.names());
    return this.error(id, "unknown-param", `unknown parameter "${id.image}"${near}`);
  }

  /** A built name: smmu#i, dev#(s * 8 + d). */
  nameText(node: CstNode): string | undefined {
    let text = tok(node, "base")!.image;
    for (const part of subs(node, "nameAtom")) {
      const n = tok(part, "NumberLit");
      const id = tok(part, "Identifier");
      const e = sub(part, "expr");
      let v: bigint | undefined;
      if (n) v = numberValue(n);
      else if (e) v = this.expr(e);
      else if (id) {
        v = this.lookup(id.image);
        if (v === undefined) return this.error(id, "unknown-param", `unknown parameter "${id.image}" in a name`);
      }
      if (v === undefined) return undefined;
      text += v.toString();
    }
    return text;
  }

  /** The name an expression is, when it is nothing but a name. */
  asName(exprNode: CstNode): CstNode | undefined {
    const operands = subs(exprNode, "operand");
    if (operands.length !== 1 || toks(operands[0]!, "neg").length) return undefined;
    return sub(operands[0]!, "name");
  }

  /** An expression that must fit a JS number (addresses, ids, counts). */
  /** A plugin's property or option: one value, or a list of them. */
  looseValues(values: CstNode[]): JsonValue | undefined {
    const v = values.map((x) => this.loose(x));
    if (v.some((x) => x === undefined)) return undefined;
    return v.length === 1 ? v[0]! : (v as JsonValue[]);
  }

  /** A plugin's property or option value: a string, true/false, a bare word, or an integer. */
  private loose(v: CstNode): JsonValue | undefined {
    const str = tok(v, "StringLit");
    if (str) return stringValue(str);
    const e = sub(v, "expr")!;
    const name = this.asName(e);
    if (name && subs(name, "nameAtom").length === 0) {
      const id = tok(name, "base")!.image;
      if (this.lookup(id) === undefined) return id === "true" ? true : id === "false" ? false : id;
    }
    return this.int(e, "value", BigInt(Number.MIN_SAFE_INTEGER));
  }

  int(node: CstNode, what: string, min = 0n, max = BigInt(Number.MAX_SAFE_INTEGER)): number | undefined {
    const v = this.expr(node);
    if (v === undefined) return undefined;
    if (v < min || v > max) return this.error(node, "range", `${what} ${v} is outside ${min}..${max}`);
    return Number(v);
  }
}
