/**
 * A litmus test's thread (`thread { ... }` in a `concurrently` block): the
 * kernel's memory primitives on named shared variables, as a stepped path.
 * Each access is a step, and under a schedule explorer it goes through the
 * memory model (core/exec.ts) as the driver's accesses do: a store through
 * the CPU's store buffer, a load that may not see another CPU's pending
 * stores, smp_mb() waiting for the buffer to drain. Straight through (`run`)
 * every access takes effect at once: sequential consistency, whatever the
 * interleaving.
 *
 * The memory model never reorders loads (docs/explore.md), so smp_rmb() and
 * the acquire of smp_load_acquire() order nothing here: they parse and step
 * like the rest, and a missing one is never found.
 */
import { smpMb, wmb } from "../core/barriers.js";
import type { MemOp } from "../dsl/ast.js";
import { exec, site, type Step, type Steps } from "../model/step.js";

/** A thread's registers, for the report and for `expect` conditions. */
export class Registers {
  constructor(readonly values: ReadonlyMap<string, number>) {}

  /** "r0=0 r1=1", in register order. */
  toString(): string {
    const regs = [...this.values].sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1)));
    return regs.map(([r, v]) => `${r}=${v}`).join(" ");
  }
}

/** The location of shared variable `name`, apart from every location of the driver and the SMMUs. */
function varLocation(name: string): string {
  return `var:${name}`;
}

/** The step site of one operation: the primitive and what it touches ("WRITE_ONCE", "x"). */
function siteOf(op: MemOp): Step {
  return site(op.op, "var" in op ? op.var : "");
}

/** The thread's operations on `vars` (the platform's shared variables, 0 until stored), one step each; its registers at the end. */
export function* threadPath(vars: Map<string, number>, ops: readonly MemOp[]): Steps<Registers> {
  const regs = new Map<string, number>();
  for (const op of ops) {
    const at = siteOf(op);
    switch (op.op) {
      case "WRITE_ONCE":
      case "smp_store_release":
        yield* store(vars, op.var, op.value, op.op === "smp_store_release", at);
        break;
      case "READ_ONCE":
      case "smp_load_acquire": {
        yield at;
        const current = vars.get(op.var) ?? 0;
        regs.set(op.reg, exec()?.load(varLocation(op.var), current) ?? current);
        break;
      }
      case "smp_mb":
        yield* smpMb(at);
        break;
      case "smp_wmb":
        yield* wmb(at);
        break;
      case "smp_rmb":
        /* loads are never reordered: nothing to order */
        yield at;
        break;
    }
  }
  return new Registers(regs);
}

/** WRITE_ONCE(), or smp_store_release() (`release`): in place at once, seen by other CPUs once it drains. */
function* store(vars: Map<string, number>, name: string, value: number, release: boolean, at: Step): Steps {
  const e = exec();
  const location = varLocation(name);
  yield e ? e.storeStep(at, location) : at;
  e?.store(location, vars.get(name) ?? 0, value, release);
  vars.set(name, value);
}
