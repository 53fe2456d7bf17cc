/**
 * Steps: how driver and hardware paths expose their shared-state accesses.
 *
 * A path that touches shared state (an RCU pointer, an entry's `users`, an STE
 * qword, a page-table entry, a command submission) is a generator that yields a
 * {@link Step} right before each such access, so that one runner can drive it
 * straight through and another can interleave several paths (src/core/steps.ts).
 */

/** One shared-state access: the kernel function and what it touches. */
export interface Step {
  readonly fn: string;
  readonly access: string;
}

/** A stepped path returning T. */
export type Steps<T = void> = Generator<Step, T, undefined>;

/** Declare a step site once, at module level, so yielding allocates nothing. */
export function site(fn: string, access: string): Step {
  return Object.freeze({ fn, access });
}
