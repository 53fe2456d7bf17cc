/**
 * Shrinking a failing schedule: fewer preemptions first, then fewer steps.
 *
 * A candidate is the failing schedule with a part removed, run as a list of
 * hints: each hint is taken if its agent can run with that option, skipped
 * otherwise, and once the hints run out the execution continues without
 * preemptions (the previous agent while it can run, else the first choice).
 * A candidate is kept if it fails with the same kind and is better; the
 * search stops at a fixpoint or after MAX_TRIES executions.
 */
import { finalResult, Run } from "./run.js";
import type { Program, Result } from "./program.js";
import { encodeSchedule, type Decision } from "./schedule.js";
import type { FailureReport } from "./tally.js";

const MAX_TRIES = 2000;

interface Tried {
  readonly decisions: readonly Decision[];
  readonly preemptions: number;
  readonly result: Result;
}

/** Run `hints` leniently (see the module comment). */
function guided(program: Program, hints: readonly Decision[], maxSteps: number): Tried {
  const run = new Run(program);
  let h = 0;
  while (run.choices.length > 0 && run.steps < maxSteps) {
    let k = -1;
    while (k < 0 && h < hints.length) {
      const d = hints[h++]!;
      k = run.indexOf(d.agent, d.rank);
    }
    run.take(k >= 0 ? k : run.defaultIndex());
  }
  return { decisions: run.decisions, preemptions: run.preemptions, result: finalResult(run, run.steps >= maxSteps) };
}

function better(a: Tried, b: Tried): boolean {
  return a.preemptions < b.preemptions || (a.preemptions === b.preemptions && a.decisions.length < b.decisions.length);
}

/** Candidates from `s`, most ambitious first: prefixes, then without one agent's run of steps, then without one step. */
function* candidates(s: readonly Decision[]): Generator<readonly Decision[]> {
  for (let n = 0; n < s.length; n++) yield s.slice(0, n);
  for (let i = 0; i < s.length; ) {
    let j = i + 1;
    while (j < s.length && s[j]!.agent === s[i]!.agent) j++;
    yield [...s.slice(0, i), ...s.slice(j)];
    i = j;
  }
  for (let i = 0; i < s.length; i++) yield [...s.slice(0, i), ...s.slice(i + 1)];
}

/** The shrunk form of failing schedule `decisions` for failure `kind`. */
export function shrink(program: Program, kind: string, decisions: readonly Decision[], maxSteps: number): FailureReport {
  const fails = (t: Tried): boolean => t.result.failures.some((f) => f.kind === kind);
  let best = guided(program, decisions, maxSteps);
  if (!fails(best)) throw new Error(`shrink: the schedule ${encodeSchedule(decisions)} no longer fails with ${kind} (is the program deterministic?)`);
  let tries = 0;
  let improved = true;
  while (improved && tries < MAX_TRIES) {
    improved = false;
    for (const c of candidates(best.decisions)) {
      if (++tries > MAX_TRIES) break;
      const t = guided(program, c, maxSteps);
      if (fails(t) && better(t, best)) {
        best = t;
        improved = true;
        break;
      }
    }
  }
  const f = best.result.failures.find((x) => x.kind === kind)!;
  return { kind, message: f.message, schedule: encodeSchedule(best.decisions), preemptions: best.preemptions, steps: best.decisions.length };
}
