/**
 * Lowering litmus tests: `thread { ... }` bodies of kernel memory primitives
 * on shared variables, and `expect` conditions over the registers the
 * threads loaded into. Registers (r0, r1, ...) belong to the scenario: each
 * is written by one thread, and a condition reads only registers some
 * thread before it writes.
 */
import type { IToken } from "chevrotain";
import type { Span } from "../core/diagnostics.js";
import { didYouMean } from "../core/suggest.js";
import type { MemOp, RegCond, RegOperand } from "./ast.js";
import type { LowerBase } from "./lower-core.js";
import { NumberLit } from "./tokens.js";
import type * as S from "./syntax.js";

/** What each primitive takes: the shared variable, then for a store the value; a load's value goes to a register. */
const SIGNATURES = {
  WRITE_ONCE: { args: ["a shared variable", "a value"], load: false },
  READ_ONCE: { args: ["a shared variable"], load: true },
  smp_store_release: { args: ["a shared variable", "a value"], load: false },
  smp_load_acquire: { args: ["a shared variable"], load: true },
  smp_mb: { args: [], load: false },
  smp_wmb: { args: [], load: false },
  smp_rmb: { args: [], load: false },
} as const;

type MemOpName = keyof typeof SIGNATURES;

/** The primitives a thread may use, in the order messages list them. */
export const MEMORY_OPS = Object.keys(SIGNATURES) as MemOpName[];

const REGISTER = /^r[0-9]+$/;

/** Whether `name` is written as a register is (r0, r1, ...). */
export function isRegister(name: string): boolean {
  return REGISTER.test(name);
}

/** How a register is written: `r0`, `r1`, ... */
const REGISTER_FORM = "r0, r1, ...";

/** A value a variable or register holds: within a JS number. */
const MAX = BigInt(Number.MAX_SAFE_INTEGER);

export class LitmusLowerer {
  /** The registers the scenario's threads so far write, each with where its thread is. */
  private readonly registers = new Map<string, Span>();

  constructor(private readonly lo: LowerBase) {}

  /** A thread's operations; undefined after reporting what is wrong with them. */
  thread(body: readonly (S.MemOp | S.Stmt)[], span: Span): MemOp[] | undefined {
    const out: MemOp[] = [];
    const mine = new Set<string>();
    let ok = true;
    for (const n of body) {
      if (!this.lo.statement(n)) return undefined;
      const op = n.kind === "memOp" ? this.memOp(n, span, mine) : this.lo.error(n, "misplaced", `a thread holds only memory operations (${MEMORY_OPS.join(", ")})`);
      if (op) out.push(op);
      else ok = false;
    }
    return ok ? out : undefined;
  }

  private memOp(n: S.MemOp, thread: Span, mine: Set<string>): MemOp | undefined {
    const name = n.fn.image;
    if (!Object.hasOwn(SIGNATURES, name)) {
      return this.lo.error(n.fn, "unknown-op", `unknown memory operation "${name}"${didYouMean(name, MEMORY_OPS)} (a thread has ${MEMORY_OPS.join(", ")})`);
    }
    const op = name as MemOpName;
    const sig = SIGNATURES[op];
    if (n.args.length !== sig.args.length) {
      const want = sig.args.length === 0 ? "no arguments" : sig.args.join(" and ");
      return this.lo.error(n, "arguments", `${op}() takes ${want}, not ${n.args.length} argument${n.args.length === 1 ? "" : "s"}`);
    }
    const span = this.lo.spanOf(n);
    if (!sig.load) {
      if (n.target) return this.lo.error(n.target, "misplaced", `${op}() returns nothing to put in ${n.target.image}`);
      if (op === "smp_mb" || op === "smp_wmb" || op === "smp_rmb") return { op, span };
      const v = this.variable(n.args[0]!, op);
      const value = this.lo.int(n.args[1]!, "value", -MAX, MAX);
      if (v === undefined || value === undefined) return undefined;
      return { op: op as "WRITE_ONCE" | "smp_store_release", var: v, value, span };
    }
    if (!n.target) return this.lo.error(n, "missing", `${op}()'s value goes to a register: r0 = ${op}(...);`);
    const reg = this.register(n.target, thread, mine);
    const v = this.variable(n.args[0]!, op);
    if (reg === undefined || v === undefined) return undefined;
    return { op: op as "READ_ONCE" | "smp_load_acquire", var: v, reg, span };
  }

  /** A shared variable's name: a name that is no register. */
  private variable(e: S.Expr, op: string): string | undefined {
    const name = this.lo.asName(e);
    if (!name) return this.lo.error(e, "type", `${op}() takes a shared variable's name first, not a number or an expression`);
    const text = this.lo.nameText(name);
    if (text === undefined) return undefined;
    if (isRegister(text)) return this.lo.error(e, "type", `${text} is a register, not a shared variable`);
    return text;
  }

  /** A load's register: of the register form, written by no other thread. */
  private register(t: IToken, thread: Span, mine: Set<string>): string | undefined {
    const reg = t.image;
    if (!isRegister(reg)) return this.lo.error(t, "type", `a load's value goes to a register (${REGISTER_FORM}), not "${reg}"`);
    const owner = this.registers.get(reg);
    if (owner && !mine.has(reg)) {
      return this.lo.error(t, "duplicate", `register ${reg} is already written by the thread at line ${owner.line}: each register belongs to one thread`);
    }
    this.registers.set(reg, thread);
    mine.add(reg);
    return reg;
  }

  /** An `expect` condition; undefined after reporting what is wrong with it. */
  cond(c: S.Cond): RegCond | undefined {
    let out: RegCond | undefined;
    if (c.kind === "cmp") {
      const left = this.operand(c.left);
      const right = this.operand(c.right);
      out = left && right && { kind: "cmp", op: c.op.image as "==" | "!=", left, right };
    } else {
      /* every operand, so each bad one is reported */
      const operands = c.operands.map((o) => this.cond(o));
      out = operands.every((o) => o) ? { kind: c.kind, operands: operands as RegCond[] } : undefined;
    }
    return out && c.nots % 2 === 1 ? { kind: "not", cond: out } : out;
  }

  private operand(o: S.CondOperand): RegOperand | undefined {
    const t = o.atom;
    if (t.tokenType !== NumberLit && isRegister(t.image)) {
      if (o.minus) return this.lo.error(o, "type", `-${t.image}: a register is compared as it is, without a sign`);
      if (this.registers.has(t.image)) return { reg: t.image };
      const known = [...this.registers.keys()];
      const near = didYouMean(t.image, known);
      return this.lo.error(t, "unknown-register", `unknown register ${t.image}: no thread before this writes it${near || (known.length ? ` (${known.join(", ")} are written)` : "")}`);
    }
    if (t.tokenType !== NumberLit && this.lo.lookup(t.image) === undefined) {
      return this.lo.error(t, "unknown-register", `"${t.image}" is neither a register (${REGISTER_FORM}) nor a param: a condition compares registers and numbers`);
    }
    const v = this.lo.int(t, "value", -MAX, MAX);
    if (v === undefined) return undefined;
    return { value: o.minus ? -v : v };
  }
}
