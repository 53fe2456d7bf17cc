/**
 * Steps: how driver and hardware paths expose their shared-state accesses.
 *
 * A path that touches shared state (an RCU pointer, an entry's `users`, an STE
 * qword, a page-table entry, a command submission) is a generator that yields a
 * {@link Step} right before each such access, so that one runner can drive it
 * straight through and another can interleave several paths (src/core/steps.ts).
 */

/** How a step touched a shared location: two accesses conflict if either writes (an rmw writes). */
export type AccessKind = "read" | "write" | "rmw";

/** One shared location a step touched, named so that the same location has the same name ("d1.invs", "smmu0.ste[0x100].q1"). */
export interface SharedAccess {
  readonly location: string;
  readonly kind: AccessKind;
}

/** One shared-state access: the kernel function and what it touches. */
export interface Step {
  readonly fn: string;
  readonly access: string;
  /**
   * A step that may have to wait (a lock held by another CPU, a store behind
   * another CPU's pending store to the same location, a CMD_SYNC the SMMU
   * has not reached): whether it can run now. Only a schedule explorer
   * asks; a straight run, or `concurrently` under `run`, takes every step
   * as it comes (and a path spinning on one is a livelock there).
   */
  readonly ready?: () => boolean;
  /** What the step will touch, as far as other steps make it ready, for partial-order reduction while it waits. */
  readonly waits?: readonly SharedAccess[];
}

/** A stepped path returning T. */
export type Steps<T = void> = Generator<Step, T, undefined>;

/**
 * A path that takes no step: finished before it starts, so `yield*` of it
 * returns at once. A helper whose common case touches no shared state
 * returns it there instead of being a generator, whose every call makes an
 * object (and the yield* over it, another).
 */
export const NO_STEPS: Steps = (function* (): Steps {})();
NO_STEPS.next();

/** Declare a step site once, at module level, so yielding allocates nothing. */
export function site(fn: string, access: string): Step {
  return Object.freeze({ fn, access });
}

/** The step `at`, which can run only once `ready()` holds (made while exploring, where waits matter). */
export function waitStep(at: Step, ready: () => boolean, waits: readonly SharedAccess[]): Step {
  return { fn: at.fn, access: at.access, ready, waits };
}

/**
 * The ordering of an atomic read-modify-write, as the LKMM gives it:
 * `relaxed` for atomic_inc() and the other non-value-returning atomics;
 * `acquire` for spin_lock(), mutex_lock() and *_acquire(); `release` for
 * *_release() and unlocks; `full` for value-returning atomics
 * (atomic_inc_not_zero(), atomic_dec_and_test(), xchg()), smp_mb() on both sides.
 */
export type RmwOrder = "relaxed" | "acquire" | "release" | "full";

/**
 * What a schedule explorer offers the step that is running (core/exec.ts
 * implements it): null outside an explored block, so a straight run checks
 * one variable at each shared access and pays nothing more.
 *
 * A model marks a shared access in two halves. Before it, it yields the
 * step from `storeStep()`, `rmwStep()` or `mbStep()` instead of its plain
 * site: a step that may have to wait (another CPU's store to the location
 * still pending, its own store buffer at smp_mb(), a held lock). After it,
 * it calls `store()`, `rmw()` or `mb()`, or reads through `load()`, which
 * record the access and, under `tso` and `arm`, delay or hide values.
 * Accesses the memory model has no part in (a command queue, a TLB, an ATC)
 * are recorded with `touch()`, so that the steps they order conflict.
 */
export interface Explored extends Namer {
  /** The agent whose step is running ("cpu0", "smmu1", "dma2"). */
  readonly agent: string;
  /** A location name for an object the models do not name ("pt#2", "invs#cpu1.0"): given where it was made (born()), else where first touched. */
  nameOf(obj: object, kind: string): string;
  touch(location: string, kind: AccessKind): void;
  /** What the running agent reads at `location`, the value in place being `current`. */
  load<T>(location: string, current: T): T;
  storeStep(at: Step, location: string): Step;
  /** The store (after storeStep()), the value in place being `old`: write `value` in place after. */
  store(location: string, old: unknown, value: unknown, release?: boolean): void;
  mbStep(at: Step): Step;
  /** smp_mb(), after mbStep(). */
  mb(): void;
  /** smp_wmb(), wmb(), dma_wmb(). */
  wmb(): void;
  /** `free` too, for a lock acquire. */
  rmwStep(at: Step, location: string, order: RmwOrder, free?: () => boolean): Step;
  rmw(location: string, order: RmwOrder): void;
}

let explored: Explored | null = null;

/** The explored execution whose step is running, or null (a straight run). */
export function exec(): Explored | null {
  return explored;
}

/** Make `e` the running execution (the explorer's, around each step); returns the one it replaces. */
export function enterExec(e: Explored | null): Explored | null {
  const outer = explored;
  explored = e;
  return outer;
}

/**
 * Who names the objects an explored execution makes (core/exec.ts): the
 * running step's execution, or the one whose prefix or rest of scenario is
 * running. A name given where an object is made is the same in every
 * interleaving; one given where it is first touched is not (two branches
 * could give one name to two objects, and DPOR's sleep sets compare names
 * across branches).
 */
export interface Namer {
  born(obj: object, kind: string): void;
  bornIn(obj: object, parent: object, part: string): void;
}

let namer: Namer | null = null;

/** `fn` run with `n` naming what it makes outside steps (an execution's prefix and rest). */
export function namedBy<T>(n: Namer, fn: () => T): T {
  const outer = namer;
  namer = n;
  try {
    return fn();
  } finally {
    namer = outer;
  }
}

/** `obj` (an array, page table, RCU pointer, lock) was made: under an explorer it is named now, after who made it. */
export function born<T extends object>(obj: T, kind: string): T {
  (explored ?? namer)?.born(obj, kind);
  return obj;
}

/** `obj` was made as `part` of `parent` (an STE of a stream table): named after them, whoever made it. */
export function bornIn<T extends object>(obj: T, parent: object, part: string): T {
  (explored ?? namer)?.bornIn(obj, parent, part);
  return obj;
}
