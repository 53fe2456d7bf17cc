/**
 * What a part of a search found, in a form where the order of the parts does
 * not matter: combining tallies is commutative and associative (sums, set
 * unions, the least failure by a total order), so a sharded search merged
 * gives exactly the tally of one run over the same units.
 */
import type { Result } from "./program.js";
import { encodeSchedule, type Decision } from "./schedule.js";

/** Why a search did not cover its whole space ("timeout": the watchdog stopped it). */
export type Bound = "maxSchedules" | "preemptionBound" | "maxSteps" | "sampled" | "timeout";

/** The shortest failing schedule found for one failure kind. */
export interface FailureReport {
  readonly kind: string;
  readonly message: string;
  readonly schedule: string;
  readonly preemptions: number;
  readonly steps: number;
}

export interface Tally {
  /** Units of the search space this tally covers. */
  readonly units: number;
  /** Executions run to their end (or to the step limit). */
  readonly schedules: number;
  /** Executions abandoned because every choice left was asleep (already covered). */
  readonly blocked: number;
  /** Steps of the executions counted in `schedules`. */
  readonly steps: number;
  readonly bounds: readonly Bound[];
  /** [outcome, executions], sorted by outcome. */
  readonly outcomes: readonly (readonly [string, number])[];
  /** Sorted by kind. */
  readonly failures: readonly FailureReport[];
}

export const EMPTY_TALLY: Tally = { units: 0, schedules: 0, blocked: 0, steps: 0, bounds: [], outcomes: [], failures: [] };

/** The total order on failing schedules: fewest preemptions, then steps, then the schedule and message as text. */
function betterFailure(a: FailureReport, b: FailureReport): boolean {
  if (a.preemptions !== b.preemptions) return a.preemptions < b.preemptions;
  if (a.steps !== b.steps) return a.steps < b.steps;
  if (a.schedule !== b.schedule) return a.schedule < b.schedule;
  return a.message < b.message;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function combine(a: Tally, b: Tally): Tally {
  const outcomes = new Map(a.outcomes);
  for (const [o, n] of b.outcomes) outcomes.set(o, (outcomes.get(o) ?? 0) + n);
  const failures = new Map(a.failures.map((f) => [f.kind, f]));
  for (const f of b.failures) {
    const g = failures.get(f.kind);
    if (!g || betterFailure(f, g)) failures.set(f.kind, f);
  }
  return {
    units: a.units + b.units,
    schedules: a.schedules + b.schedules,
    blocked: a.blocked + b.blocked,
    steps: a.steps + b.steps,
    bounds: [...new Set([...a.bounds, ...b.bounds])].sort(byText),
    outcomes: [...outcomes].sort((x, y) => byText(x[0], y[0])),
    failures: [...failures.values()].sort((x, y) => byText(x.kind, y.kind)),
  };
}

/** Accumulates the executions of one unit. */
export class TallyBuilder {
  schedules = 0;
  blocked = 0;
  steps = 0;
  readonly bounds = new Set<Bound>();
  private readonly outcomes = new Map<string, number>();
  /** Per kind: the best failing run so far, with its decisions. */
  readonly failures = new Map<string, FailureReport & { readonly decisions: readonly Decision[] }>();

  add(result: Result, decisions: readonly Decision[], preemptions: number): void {
    this.schedules++;
    this.steps += decisions.length;
    this.outcomes.set(result.outcome, (this.outcomes.get(result.outcome) ?? 0) + 1);
    for (const f of result.failures) {
      const best = this.failures.get(f.kind);
      if (best && (best.preemptions < preemptions || (best.preemptions === preemptions && best.steps < decisions.length))) continue;
      const cand = { kind: f.kind, message: f.message, schedule: encodeSchedule(decisions), preemptions, steps: decisions.length };
      if (!best || betterFailure(cand, best)) this.failures.set(f.kind, { ...cand, decisions: [...decisions] });
    }
  }

  /** The tally, with each failure replaced by `finish(failure)` (the shrunk one). */
  build(finish: (f: FailureReport & { readonly decisions: readonly Decision[] }) => FailureReport): Tally {
    return combine(EMPTY_TALLY, {
      units: 1,
      schedules: this.schedules,
      blocked: this.blocked,
      steps: this.steps,
      bounds: [...this.bounds],
      outcomes: [...this.outcomes],
      failures: [...this.failures.values()].map(finish),
    });
  }
}
