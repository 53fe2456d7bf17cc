/**
 * Sampling one execution at a time, for spaces too big to cover.
 *
 * - `random`: at every step a choice uniformly at random (a Rng seeded with
 *   the run's seed), the way `run --seed` interleaves operations.
 * - `pct`: probabilistic concurrency testing (Burckhardt, Kothari,
 *   Musuvathi and Nagarakatte, ASPLOS 2010). The n agents get distinct
 *   random priorities d..d+n-1; d-1 change points are drawn uniformly among
 *   steps 1..k (k: the length of the default schedule); at every step the
 *   enabled agent of highest priority runs, and at the i-th change point the
 *   agent about to run drops to priority d-i. A bug of depth d is found with
 *   probability at least 1/(n k^(d-1)) per run. An agent with several
 *   options (a store buffer under arm) takes one uniformly at random.
 */
import { Rng } from "../../core/rng.js";
import type { Program } from "./program.js";
import { finalResult, Run } from "./run.js";
import type { TallyBuilder } from "./tally.js";

/** The seed of PCT run `r` of a search seeded with `seed`. */
export function pctSeed(seed: number, r: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(r + 1, 0x85ebca77)) >>> 0;
}

/** Steps of the default schedule (each agent runs while it can): PCT's k. */
export function defaultLength(program: Program, maxSteps: number): number {
  const run = new Run(program);
  while (run.choices.length > 0 && run.steps < maxSteps) run.take(run.defaultIndex());
  return Math.max(1, run.steps);
}

function pick(run: Run, rng: Rng, agent: number): number {
  const n = run.options(agent);
  return run.indexOf(agent, n > 1 ? rng.below(n) : 0);
}

export function randomRun(program: Program, seed: number, maxSteps: number, into: TallyBuilder): void {
  const rng = new Rng(seed);
  const run = new Run(program);
  while (run.choices.length > 0 && run.steps < maxSteps) run.take(rng.below(run.choices.length));
  record(run, maxSteps, into);
}

export function pctRun(program: Program, seed: number, depth: number, k: number, maxSteps: number, into: TallyBuilder): void {
  const rng = new Rng(seed);
  const n = program.agents.length;
  const prio = Array.from({ length: n }, (_, i) => depth + i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [prio[i], prio[j]] = [prio[j]!, prio[i]!];
  }
  const change = Array.from({ length: depth - 1 }, () => 1 + rng.below(k));
  const run = new Run(program);
  while (run.choices.length > 0 && run.steps < maxSteps) {
    const t = run.steps + 1;
    for (let i = 0; i < change.length; i++) {
      if (change[i] === t) prio[highest(run, prio)] = depth - 1 - i;
    }
    run.take(pick(run, rng, highest(run, prio)));
  }
  record(run, maxSteps, into);
}

/** The enabled agent of highest priority. */
function highest(run: Run, prio: readonly number[]): number {
  let best = -1;
  for (const c of run.choices) if (best < 0 || prio[c.agent]! > prio[best]!) best = c.agent;
  return best;
}

function record(run: Run, maxSteps: number, into: TallyBuilder): void {
  const limited = run.choices.length > 0 && run.steps >= maxSteps;
  if (limited) into.bounds.add("maxSteps");
  into.add(finalResult(run, limited), run.decisions, run.preemptions);
}
