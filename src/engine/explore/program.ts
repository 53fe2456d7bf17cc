/**
 * What the explorer searches: a program of named agents whose executions it
 * drives one scheduling choice at a time. The explorer knows nothing of
 * SMMUs or CPUs; the simulator implements this interface (a fresh execution
 * restores a snapshot of the platform), and so do the toy programs of the
 * tests (toy.ts).
 *
 * Requirements on an implementation, which partial-order reduction relies on:
 * - Deterministic: the same choices from start() give the same steps, the
 *   same accesses and the same result.
 * - Accesses are complete: if one step can change what another step does, or
 *   whether it is offered at all, the two report a common location, with at
 *   least one of them writing it (a lock release and the waiter's acquire;
 *   a store and the drain of that store). Reporting too much only costs
 *   schedules; reporting too little loses them.
 * - A choice's option names the same alternative for as long as it is
 *   offered (a store buffer offers the CPU's store number, not the position
 *   in the buffer), so that a reordering of unrelated steps does not change
 *   what the option means.
 */
import type { SharedAccess as Access } from "../../model/step.js";

export type { SharedAccess as Access } from "../../model/step.js";

/** What can run next: an agent (its index in Program.agents) and one of its alternatives. */
export interface Choice {
  readonly agent: number;
  /** 0 for an agent with one way to go; otherwise a number stable for as long as it is offered. */
  readonly option: number;
}

/** An agent that cannot run now, and what the step it waits to take will touch. */
export interface Waiting extends Choice {
  /**
   * At least the accesses by which other steps disable and enable it: a
   * lock acquire waiting for a holder, the lock's rmw; a store waiting for
   * another CPU's store to the same location to drain, that location (see
   * WeakMemory.waitAccesses()).
   */
  readonly accesses: readonly Access[];
}

/** What a step did. */
export interface StepInfo {
  readonly accesses: readonly Access[];
  /** A short description for traces ("cpu0: WRITE_ONCE(ste.qw0)", "cpu0.sb: drain x"). */
  readonly label: string;
}

/** A finding of one execution. */
export interface Failure {
  /** "stale", "use_after_free", "oops", "livelock", "deadlock", "expect", ... */
  readonly kind: string;
  readonly message: string;
}

export interface Result {
  /** What matters of the end state and what the operations returned, as one string. */
  readonly outcome: string;
  readonly failures: readonly Failure[];
}

/** One run from the initial state. */
export interface Execution {
  /**
   * What can run now, in a deterministic order. An agent that waits (for a
   * lock, for its store buffer to drain at smp_mb(), for a CMD_SYNC) is not
   * offered until it can progress; an agent that has finished is not offered.
   */
  choices(): readonly Choice[];
  /** Run `choice` (one of choices()) to its next scheduling point. */
  step(choice: Choice): StepInfo;
  /**
   * The agents that have not finished but cannot run now, each with the
   * option it waits to take and what that step will touch. The explorer asks
   * at the end of a run, so that a step that never ran (a lock acquire
   * stuck behind a holder that never lets go) still gets its races reversed.
   */
  waiting(): readonly Waiting[];
  /** Whether every agent has finished. */
  finished(): boolean;
  /**
   * The result, once nothing is offered or the explorer stops (step limit).
   * If nothing is offered but agents remain, it should report a "deadlock"
   * naming them; the explorer adds a generic one if it does not.
   */
  result(): Result;
}

export interface Program {
  /** Agent names, e.g. ["cpu0", "cpu1", "smmu0", "cpu0.sb", "cpu1.sb"]; Choice.agent indexes them. */
  readonly agents: readonly string[];
  /**
   * Agents whose steps happen in the background (store buffers draining):
   * running one never counts as a preemption, nor does the agent it
   * interrupted stop being the one whose switch would count.
   */
  readonly background?: readonly number[];
  /** A fresh execution from the same initial state. */
  start(): Execution;
}

/** How to build a program in another thread: `(await import(module))[exportName](...args)`. */
export interface ProgramFactory {
  /** An absolute path or file: URL of an ES module. */
  readonly module: string;
  readonly exportName: string;
  readonly args: readonly unknown[];
}

/** Whether two access lists conflict: a common location, written (or rmw) by at least one. */
export function conflicts(a: readonly Access[], b: readonly Access[]): boolean {
  for (const x of a) {
    for (const y of b) {
      if (x.location === y.location && (x.kind !== "read" || y.kind !== "read")) return true;
    }
  }
  return false;
}
