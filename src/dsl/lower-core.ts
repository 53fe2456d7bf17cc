/**
 * What lowering the syntax tree needs everywhere: spans, diagnostics (each
 * position's repeats counted), the scope of params and loop variables, and
 * evaluating expressions and built names (smmu#i) with 64-bit values under
 * the file's budgets (src/dsl/limits.ts). Problems become diagnostics;
 * evaluation returns undefined after reporting one.
 */
import type { IToken } from "chevrotain";
import { diagnostic, DiagnosticTally, spanKey, type Diagnostic, type Span } from "../core/diagnostics.js";
import { didYouMean } from "../core/suggest.js";
import type { JsonValue } from "../model/topology.js";
import type { Limits } from "./limits.js";
import { numberValue } from "./lexer.js";
import { MAX_VALUE, VALUE_BITS } from "./numbers.js";
import { NumberLit } from "./tokens.js";
import { isBuiltName, isCompound, isString, isToken, isWord, type Compound, type Expr, type ForHead, type Name, type Syn, type Value } from "./syntax.js";

type Budget = "nodes" | "statements" | "evaluations";

/** A bare `true` or `false`. */
export function isBoolean(v: object): v is IToken {
  return isWord(v) && (v.image === "true" || v.image === "false");
}

/** A value as the language reads it, for a message saying it is the wrong kind: "the boolean true", "the number 4", "the string "x"", "the name s1". */
export function whatValue(v: Value): string {
  if (isString(v)) return `the string ${v.image}`;
  if (isBoolean(v)) return `the boolean ${v.image}`;
  if (isToken(v)) return v.tokenType === NumberLit ? `the number ${v.image}` : `the name ${v.image}`;
  return isBuiltName(v) ? "a built name" : "an expression";
}

/** The value of a string literal, without quotes, escapes resolved. */
export function stringValue(t: IToken): string {
  return t.image.slice(1, -1).replace(/\\(.)/g, "$1");
}

export class LowerBase {
  private readonly tally = new DiagnosticTally();
  /** params and loop variables, innermost last */
  private readonly scopes: Map<string, bigint>[] = [new Map()];

  constructor(
    public file: string,
    readonly limits: Limits,
  ) {}

  spanOf(node: Syn | IToken): Span {
    const first = isToken(node) ? node : node.first;
    const last = isToken(node) ? node : node.last;
    return { file: this.file, line: first.startLine ?? 1, column: first.startColumn ?? 1, endLine: last.endLine, endColumn: (last.endColumn ?? 0) + 1 };
  }

  /**
   * Report a problem at `at`. The same problem (code) at the same place again,
   * as a loop's body makes it, is counted rather than repeated, and a message
   * given as a function is then never built.
   */
  error(at: Syn | IToken | Span, code: string, message: string | (() => string), hint?: string): undefined {
    const span = "file" in at ? at : this.spanOf(at);
    const key = `${spanKey(span)}\0${code}`;
    if (!this.tally.again(key)) this.tally.add(diagnostic(span, code, typeof message === "string" ? message : message(), hint), key);
    return undefined;
  }

  /** Diagnostics found elsewhere (the lexer's, the parser's), reported with these. */
  report(ds: readonly Diagnostic[]): void {
    for (const d of ds) this.tally.add(d);
  }

  /**
   * Part of the file is missing from what was lowered (it did not parse, an
   * include could not be read, a budget ran out, a node's name failed): a
   * name it does not know may be in the part missing, and what was lowered
   * cannot be validated as the whole file.
   */
  missing = false;
  /** An included topology written as JSON is invalid (reported): the whole cannot be validated. */
  invalid = false;

  get failed(): boolean {
    return this.tally.size > 0;
  }

  diagnostics(): Diagnostic[] {
    return this.tally.list();
  }

  lookup(name: string): bigint | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const v = this.scopes[i]!.get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** A param; `value` undefined when its expression failed (reported), so that a use of it fails quietly rather than as unknown. */
  defineParam(name: IToken, value: bigint | undefined): void {
    if (this.scopes[0]!.has(name.image) || this.failedParams.has(name.image)) {
      this.error(name, "duplicate", `param "${name.image}" is already defined`);
      return;
    }
    if (value === undefined) this.failedParams.add(name.image);
    else this.scopes[0]!.set(name.image, value);
  }

  /** Params whose value could not be computed. */
  private readonly failedParams = new Set<string>();

  /** The value of a param or loop variable, or undefined after reporting `id` unknown (quietly if it is a param that failed). */
  private valueOf(id: IToken, message: () => string): bigint | undefined {
    const v = this.lookup(id.image);
    if (v !== undefined || this.failedParams.has(id.image)) return v;
    return this.error(id, "unknown-param", message);
  }

  /** Loop iterations run so far, in the whole file. */
  private iterations = 0;

  /** Run `body` for each value of a `for v in a .. b` loop. */
  loop(head: ForHead, body: () => void): void {
    for (const _ of this.iterate(head)) body();
  }

  /**
   * The iterations of a `for v in a .. b` loop: `v` has each value in turn
   * while the caller is at that step (until the budgets say stop).
   */
  *iterate(head: ForHead): Generator<void, void, undefined> {
    const max = this.limits.iterations;
    const from = this.expr(head.from);
    const to = this.expr(head.to);
    if (from === undefined || to === undefined) return;
    if (to - from + 1n > BigInt(max)) {
      this.error(head, "range", `loop of ${to - from + 1n} iterations is more than ${max}`);
      return;
    }
    const scope = new Map<string, bigint>();
    this.scopes.push(scope);
    try {
      for (let i = from; i <= to; i++) {
        /* once a budget is spent, nothing more in a loop can succeed */
        if (this.spent) return;
        /* nested loops multiply: one budget for every iteration of the file */
        if (++this.iterations > max) {
          if (this.iterations === max + 1) this.error(head, "range", `loops run more than ${max} iterations in all (nested loops multiply)`);
          return;
        }
        scope.set(head.var.image, i);
        yield;
      }
    } finally {
      this.scopes.pop();
    }
  }

  /**
   * A lowering of the same file's scenarios again, with its params, after it
   * compiled: fresh budgets (it lowers no more than the compile did), for
   * statements made as a run reaches them.
   */
  again(file: string): LowerBase {
    const lo = new LowerBase(file, this.limits);
    lo.scopes[0] = this.scopes[0]!;
    return lo;
  }

  /** What the file has used of its budgets so far (src/dsl/limits.ts). */
  private usedNodes = 0;
  private usedStatements = 0;
  private usedEvaluations = 0;
  /** A budget has run out. */
  private spent = false;

  private static readonly SPENT: Record<Budget, (max: number) => string> = {
    nodes: (max) => `more than ${max} nodes in all (smmu, device, vsmmu and domain declarations; a loop's body counts each time round)`,
    statements: (max) => `more than ${max} statements in all (statements, expected entries and declarations other than nodes; a loop's body counts each time round)`,
    evaluations: (max) => `more than ${max} evaluations in all (operands and operators; a loop's body counts each time round)`,
  };

  /**
   * A budget has just run out at `at`: reported once, where it ran out;
   * whatever needs it after that fails quietly. Each budget has its own
   * counter, counted where it is spent.
   */
  private overBudget(budget: Budget, at: Syn | IToken): false {
    this.spent = this.missing = true;
    this.error(at, "limit", LowerBase.SPENT[budget](this.limits[budget]));
    return false;
  }

  /** `n` more evaluations at `at`; false once the file has had its limit of them. */
  private evaluations(at: Syn | IToken, n: number): boolean {
    if (this.usedEvaluations > this.limits.evaluations) return false;
    this.usedEvaluations += n;
    return this.usedEvaluations <= this.limits.evaluations || this.overBudget("evaluations", at);
  }

  /** One more statement, expected entry or declaration (not a node) lowered; false once the file has had its limit of them. */
  statement(at: Syn): boolean {
    if (this.usedStatements > this.limits.statements) return false;
    this.usedStatements++;
    return this.usedStatements <= this.limits.statements || this.overBudget("statements", at);
  }

  /** One more smmu, device, vsmmu or domain declared; false once the file has had its limit of them. */
  node(at: Syn): boolean {
    if (this.usedNodes > this.limits.nodes) return false;
    this.usedNodes++;
    return this.usedNodes <= this.limits.nodes || this.overBudget("nodes", at);
  }

  private names(): string[] {
    return this.scopes.flatMap((s) => [...s.keys()]);
  }

  /** Evaluate an expression: operands left to right, * / % << >> before + -, every result within 64 bits. */
  expr(node: Expr): bigint | undefined {
    if (isToken(node)) {
      if (!this.evaluations(node, 1)) return undefined;
      if (node.tokenType === NumberLit) return numberValue(node) ?? 0n; // the lexer has reported a wider one
      /* true and false are the language's booleans, unless a param or loop variable takes the name */
      if (isBoolean(node) && this.lookup(node.image) === undefined) return this.error(node, "type", `expected a number, not the boolean ${node.image}`);
      return this.valueOf(node, () => `unknown parameter "${node.image}"${didYouMean(node.image, this.names())}`);
    }
    if (isCompound(node)) return this.compound(node);
    if (isBuiltName(node)) {
      const text = this.nameText(node);
      return this.error(node, "type", `expected a number but found the name "${text ?? "?"}"`);
    }
    const v = this.expr(node.atom);
    return v !== undefined && node.negs % 2 === 1 ? -v : v;
  }

  /** Operands and binary operators in a row. */
  private compound(node: Compound): bigint | undefined {
    const { operands, ops } = node;
    if (!this.evaluations(node, ops.length)) return undefined;
    /* every operand, so each bad one is reported */
    const values = new Array<bigint | undefined>(operands.length);
    let failed = false;
    for (let i = 0; i < operands.length; i++) {
      const v = this.expr(operands[i]!);
      if (v === undefined) failed = true;
      values[i] = v;
    }
    if (failed) return undefined;
    /*
     * The tight operators fold into the term on their left, each checked as
     * it goes; + and - add up the terms after, so a sum wider than 64 bits
     * is reported (the first, from the left) only if no tight one failed.
     */
    let sum = 0n;
    let sumOp: IToken | null = null;
    let wide: IToken | null = null;
    let term = values[0]!;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const r = values[i + 1]!;
      const o = op.image;
      if (o === "+" || o === "-") {
        if (sumOp === null) sum = term;
        else {
          sum = sumOp.image === "+" ? sum + term : sum - term;
          if (wide === null && (sum > MAX_VALUE || sum < -MAX_VALUE)) wide = sumOp;
        }
        sumOp = op;
        term = r;
        continue;
      }
      if ((o === "/" || o === "%") && r === 0n) return this.error(op, "range", "division by zero");
      if ((o === "<<" || o === ">>") && (r < 0n || r > 64n)) return this.error(op, "range", `shift by ${r} is outside 0..64`);
      const v = o === "*" ? term * r : o === "/" ? term / r : o === "%" ? term % r : o === "<<" ? term << r : term >> r;
      if (v > MAX_VALUE || v < -MAX_VALUE) return this.wider(op);
      term = v;
    }
    if (sumOp === null) return term;
    sum = sumOp.image === "+" ? sum + term : sum - term;
    if (wide === null && (sum > MAX_VALUE || sum < -MAX_VALUE)) wide = sumOp;
    return wide === null ? sum : this.wider(wide);
  }

  /** A result of `op` wider than a value of the language. */
  private wider(op: IToken): undefined {
    return this.error(op, "range", `the result of '${op.image}' is wider than ${VALUE_BITS} bits`);
  }

  /** A name's text: itself, or built: smmu#i, dev#(s * 8 + d). */
  nameText(node: Name): string | undefined {
    if (isToken(node)) return node.image;
    let text = node.base.image;
    if (!this.evaluations(node, node.parts.length)) return undefined;
    for (const part of node.parts) {
      let v: bigint | undefined;
      if (!isToken(part)) v = this.expr(part);
      else if (part.tokenType === NumberLit) v = numberValue(part) ?? 0n;
      else v = this.valueOf(part, () => `unknown parameter "${part.image}" in a name`);
      if (v === undefined) return undefined;
      text += v.toString();
    }
    return text;
  }

  /** The name an expression is, when it is nothing but a name. */
  asName(e: Expr): Name | undefined {
    return isBuiltName(e) || isWord(e) ? e : undefined;
  }

  /** A plugin's property or option: one value, or a list of them. */
  looseValues(values: readonly Value[]): JsonValue | undefined {
    const v = values.map((x) => this.loose(x));
    if (v.some((x) => x === undefined)) return undefined;
    return v.length === 1 ? v[0]! : (v as JsonValue[]);
  }

  /** A plugin's property or option value: a string, true/false, a bare word, or an integer. */
  private loose(v: Value): JsonValue | undefined {
    if (isString(v)) return stringValue(v);
    if (isWord(v) && this.lookup(v.image) === undefined) {
      return v.image === "true" ? true : v.image === "false" ? false : v.image;
    }
    return this.int(v, "value", BigInt(Number.MIN_SAFE_INTEGER));
  }

  /** An expression that must fit a JS number (addresses, ids, counts). */
  int(node: Expr, what: string, min = 0n, max = BigInt(Number.MAX_SAFE_INTEGER)): number | undefined {
    const v = this.expr(node);
    if (v === undefined) return undefined;
    if (v < min || v > max) return this.error(node, "range", `${what} ${v} is outside ${min}..${max}`);
    return Number(v);
  }
}
