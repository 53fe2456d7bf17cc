/**
 * Stepped execution of driver and hardware paths.
 *
 * A path that touches shared state (an RCU pointer, an entry's `users`, an STE
 * qword, a page-table entry, a command submission) is a generator that yields a
 * {@link Step} right before each such access. The straight-through runner
 * below drives one path to completion; an interleaving runner can advance
 * several paths (CPUs, devices) step by step to explore races.
 */
import type { Step, Steps } from "../model/step.js";

/** Default number of steps one operation may take before it is called a livelock. */
const DEFAULT_STEP_LIMIT = 5_000_000;

/** How many of the last steps are examined to name the loop of a livelock. */
const LOOP_WINDOW = 4096;

export class LivelockError extends Error {
  constructor(
    readonly steps: number,
    readonly hot: Step,
    readonly hotCount: number,
  ) {
    super(
      `livelock: no progress after ${steps} steps; ${hot.fn} loops at "${hot.access}" ` +
        `(${hotCount} of the last ${LOOP_WINDOW} steps)`,
    );
    this.name = "LivelockError";
  }
}

/** Steps between two calls of a budget's tick (a long operation's chance to show it is still running). */
export const TICK_STEPS = 1 << 16;

/**
 * Counts the steps of one operation and stops it when it exceeds its budget.
 * With a tick, calls it every TICK_STEPS steps: the one comparison per step
 * checks the next of the two marks, so counting costs nothing more.
 */
export class StepBudget {
  private used = 0;
  /** The next step count at which to tick or stop. */
  private mark: number;

  constructor(
    readonly limit: number = DEFAULT_STEP_LIMIT,
    private readonly tick?: () => void,
  ) {
    this.mark = tick ? Math.min(limit, TICK_STEPS) : limit;
  }

  get steps(): number {
    return this.used;
  }

  /** Drive `path` to completion, charging every step to this budget. */
  run<T>(path: Steps<T>): T {
    for (;;) {
      const r = path.next();
      if (r.done) return r.value;
      if (++this.used > this.mark) this.reached(path, r.value);
    }
  }

  /** Advance `path` by one step, charged to this budget (for runners that interleave paths). */
  step<T>(path: Steps<T>): IteratorResult<Step, T> {
    const r = path.next();
    if (!r.done && ++this.used > this.mark) this.reached(path, r.value);
    return r;
  }

  /** Past the mark: over the limit, or time to tick. */
  private reached(path: Steps<unknown>, step: Step): void {
    if (this.used > this.limit) this.stop(path, step);
    this.tick!();
    this.mark = Math.min(this.limit, this.used + TICK_STEPS - 1);
  }

  /** Sample the looping path for a while, then report its hottest step. */
  private stop(path: Steps<unknown>, first: Step): never {
    const counts = new Map<Step, number>([[first, 1]]);
    for (let n = 1; n < LOOP_WINDOW; n++) {
      const r = path.next();
      if (r.done) break;
      counts.set(r.value, (counts.get(r.value) ?? 0) + 1);
    }
    path.return(undefined as never);
    let hot = first;
    let hotCount = 0;
    for (const [s, c] of counts) {
      if (c > hotCount) [hot, hotCount] = [s, c];
    }
    throw new LivelockError(this.used, hot, hotCount);
  }
}

/** Run a path straight through with a fresh default budget. */
export function runSteps<T>(path: Steps<T>, limit?: number): T {
  return new StepBudget(limit).run(path);
}
