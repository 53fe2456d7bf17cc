/**
 * Toy programs: threads of loads, stores, barriers, locks and atomics over
 * named locations, run under a memory model (core/weak-memory.ts). They are
 * the explorer's test subjects and benchmark, and run the litmus tests that
 * document what the memory model can show (docs/explore.md).
 *
 * A thread is written as one string of `;`-separated operations:
 *   x=1          store (WRITE_ONCE)          rel x=1     smp_store_release()
 *   r0=x         load (READ_ONCE) into r0    wmb / mb    smp_wmb() / smp_mb()
 *   lock L       spin_lock()                 unlock L    spin_unlock()
 *   add x 1      atomic_add() (relaxed)      r0=add x 1  atomic_fetch_add() (fully ordered)
 *   add.ORDER x 1, r0=add.ORDER x 1: with an explicit RmwOrder
 *   fail KIND if r0==1     a failure of KIND when r0 holds 1
 *   goto N if r0==0        continue at operation N (from 0) when r0 holds 0
 * Registers are r0, r1, ...; other names are locations, 0 unless `init` says.
 *
 * Agents: t0..tN-1, then under tso and arm one store buffer per thread,
 * t0.sb..tN-1.sb, whose options are the thread's store numbers. wmb, fail
 * and goto touch no shared state: they run as part of the step before them.
 * The outcome lists each thread's registers ("t0:r0=1") and the final values
 * of the `observe` locations ("x=2").
 */
import { WeakMemory, type MemoryModel } from "../../core/weak-memory.js";
import { type RmwOrder } from "../../model/step.js";
import { type AccessKind } from "../../model/step.js";
import type { Access, Choice, Execution, Failure, Program, Result, StepInfo, Waiting } from "./program.js";

export type ToyOp =
  | { readonly op: "store"; readonly loc: string; readonly value: number; readonly release: boolean }
  | { readonly op: "load"; readonly loc: string; readonly reg: string }
  | { readonly op: "wmb" }
  | { readonly op: "mb" }
  | { readonly op: "lock"; readonly loc: string }
  | { readonly op: "unlock"; readonly loc: string }
  | { readonly op: "add"; readonly loc: string; readonly value: number; readonly order: RmwOrder; readonly reg?: string }
  | { readonly op: "fail"; readonly kind: string; readonly reg: string; readonly eq: number }
  | { readonly op: "goto"; readonly to: number; readonly reg: string; readonly eq: number };

export interface ToySpec {
  readonly memory: MemoryModel;
  /** One string per thread, in the syntax above. */
  readonly threads: readonly string[];
  readonly init?: Readonly<Record<string, number>>;
  /** Locations whose final values join the outcome. */
  readonly observe?: readonly string[];
  /** Outcomes that are failures of kind "expect". */
  readonly forbid?: readonly string[];
}

const ORDERS: readonly string[] = ["relaxed", "acquire", "release", "full"];
const NAME = "[A-Za-z_][A-Za-z0-9_]*";
const REG = /^r\d+$/;
const SYNTAX: readonly [RegExp, (m: RegExpExecArray) => ToyOp][] = [
  [/^wmb$/, () => ({ op: "wmb" })],
  [/^mb$/, () => ({ op: "mb" })],
  [new RegExp(`^lock (${NAME})$`), (m) => ({ op: "lock", loc: m[1]! })],
  [new RegExp(`^unlock (${NAME})$`), (m) => ({ op: "unlock", loc: m[1]! })],
  [new RegExp(`^fail (\\w+) if (r\\d+)==(-?\\d+)$`), (m) => ({ op: "fail", kind: m[1]!, reg: m[2]!, eq: Number(m[3]) })],
  [new RegExp(`^goto (\\d+) if (r\\d+)==(-?\\d+)$`), (m) => ({ op: "goto", to: Number(m[1]), reg: m[2]!, eq: Number(m[3]) })],
  [
    new RegExp(`^(?:(r\\d+)=)?add(?:\\.(\\w+))? (${NAME}) (-?\\d+)$`),
    (m) => ({ op: "add", loc: m[3]!, value: Number(m[4]), order: (m[2] ?? (m[1] ? "full" : "relaxed")) as RmwOrder, reg: m[1] }),
  ],
  [new RegExp(`^(rel )?(${NAME})=(-?\\d+)$`), (m) => ({ op: "store", loc: m[2]!, value: Number(m[3]), release: m[1] !== undefined })],
  [new RegExp(`^(r\\d+)=(${NAME})$`), (m) => ({ op: "load", reg: m[1]!, loc: m[2]! })],
];

/** Parse one thread; a bad operation is an error naming the thread and position. */
export function parseThread(text: string, thread = 0): ToyOp[] {
  const ops = text
    .split(";")
    .map((s) => s.trim().replace(/\s+/g, " "))
    .filter((s) => s !== "");
  return ops.map((s, i) => {
    for (const [re, make] of SYNTAX) {
      const m = re.exec(s);
      if (!m) continue;
      const op = make(m);
      const bad =
        (op.op === "add" && !ORDERS.includes(op.order) && `unknown order "${op.order}" (${ORDERS.join(", ")})`) ||
        ("loc" in op && REG.test(op.loc) && `${op.loc} is a register, not a location`) ||
        (op.op === "goto" && op.to > ops.length && `goto ${op.to} is past the end`);
      if (bad) throw new SyntaxError(`toy thread ${thread}, operation ${i}: ${bad}`);
      return op;
    }
    throw new SyntaxError(`toy thread ${thread}, operation ${i}: cannot read "${s}"`);
  });
}

/** How many operations a local run (wmb, fail, goto) may take before it is called a loop. */
const LOCAL_LIMIT = 10_000;

class Thread {
  pc = 0;
  readonly regs = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly ops: readonly ToyOp[],
  ) {}
  get next(): ToyOp | undefined {
    return this.ops[this.pc];
  }
}

class ToyExecution implements Execution {
  private readonly mem = new Map<string, number>();
  private readonly wm: WeakMemory;
  private readonly threads: Thread[];
  private readonly failures: Failure[] = [];
  private acc: Access[] = [];
  private readonly buffered: boolean;

  constructor(
    private readonly spec: ToySpec,
    code: readonly (readonly ToyOp[])[],
  ) {
    for (const [k, v] of Object.entries(spec.init ?? {})) this.mem.set(k, v);
    this.threads = code.map((ops, i) => new Thread(`t${i}`, ops));
    this.buffered = spec.memory !== "sc";
    this.wm = new WeakMemory(
      spec.memory,
      this.threads.map((t) => t.name),
      (location: string, kind: AccessKind) => this.acc.push({ location, kind }),
    );
    for (const t of this.threads) this.local(t);
  }

  choices(): Choice[] {
    const out: Choice[] = [];
    this.threads.forEach((t, i) => {
      if (this.ready(t)) out.push({ agent: i, option: 0 });
    });
    if (this.buffered) {
      const n = this.threads.length;
      this.threads.forEach((t, i) => {
        for (const seq of this.wm.drainable(t.name)) out.push({ agent: n + i, option: seq });
      });
    }
    return out;
  }

  waiting(): Waiting[] {
    const out: Waiting[] = [];
    this.threads.forEach((t, agent) => {
      const op = t.next;
      if (!op || this.ready(t)) return;
      const what = op.op === "store" || op.op === "unlock" ? "store" : op.op === "mb" ? "mb" : "rmw";
      out.push({ agent, option: 0, accesses: this.wm.waitAccesses(what, "loc" in op ? op.loc : "") });
    });
    return out;
  }

  /** Whether t's next operation can run now. */
  private ready(t: Thread): boolean {
    const op = t.next;
    if (!op) return false;
    switch (op.op) {
      case "store":
      case "unlock":
        return this.wm.storeReady(t.name, op.loc);
      case "mb":
        return this.wm.mbReady(t.name);
      case "lock":
        return this.value(op.loc) === 0 && this.wm.rmwReady(t.name, op.loc, "acquire");
      case "add":
        return this.wm.rmwReady(t.name, op.loc, op.order);
      default:
        return true;
    }
  }

  private value(loc: string): number {
    return this.mem.get(loc) ?? 0;
  }

  step(c: Choice): StepInfo {
    this.acc = [];
    const n = this.threads.length;
    let label: string;
    if (c.agent >= n) {
      label = this.wm.drain(this.threads[c.agent - n]!.name, c.option);
    } else {
      const t = this.threads[c.agent]!;
      if (!this.ready(t)) throw new Error(`toy: ${t.name} cannot run now`);
      label = this.shared(t, t.next!);
      t.pc++;
      this.local(t);
    }
    return { accesses: this.acc, label };
  }

  /** Run t's operation `op`, which touches shared state. */
  private shared(t: Thread, op: ToyOp): string {
    const wm = this.wm;
    switch (op.op) {
      case "store":
        if (op.release) wm.storeRelease(t.name, op.loc, this.value(op.loc), op.value);
        else wm.store(t.name, op.loc, this.value(op.loc), op.value);
        this.mem.set(op.loc, op.value);
        return `${op.release ? "rel " : ""}${op.loc}=${op.value}`;
      case "load": {
        const v = wm.load(t.name, op.loc, this.value(op.loc));
        t.regs.set(op.reg, v);
        return `${op.reg}=${op.loc} (${v})`;
      }
      case "mb":
        wm.mb(t.name);
        return "mb";
      case "lock":
        wm.rmw(t.name, op.loc, "acquire");
        this.mem.set(op.loc, 1);
        return `lock ${op.loc}`;
      case "unlock":
        wm.storeRelease(t.name, op.loc, this.value(op.loc), 0);
        this.mem.set(op.loc, 0);
        return `unlock ${op.loc}`;
      case "add": {
        wm.rmw(t.name, op.loc, op.order);
        const old = this.value(op.loc);
        this.mem.set(op.loc, old + op.value);
        if (op.reg) t.regs.set(op.reg, old);
        return `${op.reg ? `${op.reg}=` : ""}add.${op.order} ${op.loc} ${op.value} (${old})`;
      }
      default:
        throw new Error(`toy: ${op.op} is local`);
    }
  }

  /** Run t's operations that touch no shared state, up to the next one that does. */
  private local(t: Thread): void {
    for (let n = 0; n < LOCAL_LIMIT; n++) {
      const op = t.next;
      if (!op) return;
      switch (op.op) {
        case "wmb":
          this.wm.wmb(t.name);
          break;
        case "fail":
          if ((t.regs.get(op.reg) ?? 0) === op.eq) this.failures.push({ kind: op.kind, message: `${t.name}: ${op.reg}==${op.eq} at operation ${t.pc}` });
          break;
        case "goto":
          if ((t.regs.get(op.reg) ?? 0) === op.eq) {
            t.pc = op.to;
            continue;
          }
          break;
        default:
          return;
      }
      t.pc++;
    }
    throw new Error(`toy: ${t.name} loops without touching shared state`);
  }

  finished(): boolean {
    return this.threads.every((t) => !t.next) && this.threads.every((t) => this.wm.pending(t.name) === 0);
  }

  result(): Result {
    const regs = this.threads.flatMap((t) => [...t.regs].sort(([a], [b]) => (a < b ? -1 : 1)).map(([r, v]) => `${t.name}:${r}=${v}`));
    const outcome = [...regs, ...(this.spec.observe ?? []).map((l) => `${l}=${this.value(l)}`)].join(" ");
    const failures = [...this.failures];
    if (this.spec.forbid?.includes(outcome)) failures.push({ kind: "expect", message: `forbidden outcome ${outcome}` });
    const waiting = this.threads.filter((t) => t.next && !this.ready(t));
    if (this.choices().length === 0 && waiting.length > 0) {
      const at = (op: ToyOp): string => ("loc" in op ? `${op.op} ${op.loc}` : op.op);
      failures.push({ kind: "deadlock", message: `nothing can run: ${waiting.map((t) => `${t.name} waits at ${at(t.next!)}`).join(", ")}` });
    }
    return { outcome, failures };
  }
}

export class ToyProgram implements Program {
  readonly agents: readonly string[];
  readonly background: readonly number[];
  private readonly code: readonly (readonly ToyOp[])[];

  constructor(readonly spec: ToySpec) {
    this.code = spec.threads.map((t, i) => parseThread(t, i));
    const names = spec.threads.map((_, i) => `t${i}`);
    this.agents = spec.memory === "sc" ? names : [...names, ...names.map((n) => `${n}.sb`)];
    this.background = spec.memory === "sc" ? [] : names.map((_, i) => names.length + i);
  }

  start(): Execution {
    return new ToyExecution(this.spec, this.code);
  }
}

/** The factory worker threads call (toyProgram(spec), spec being JSON). */
export function toyProgram(spec: ToySpec): Program {
  return new ToyProgram(spec);
}
