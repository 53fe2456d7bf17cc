/**
 * The explorer: a search over the executions of a Program, split into units
 * that are searched independently, so that one process, a shard K/N, and
 * worker threads all compute the same units and the same tally.
 *
 * Units:
 * - exhaustive modes (`dpor`, `naive`): the states up to `splitDepth` steps
 *   deep are expanded fully (with sleep sets under dpor, which keep any two
 *   complete executions inequivalent); each prefix of that depth is a unit,
 *   searched on its own. A full expansion satisfies every race that would
 *   add a backtrack point there, so a unit can ignore races reaching above
 *   its prefix. `maxSchedules` is divided among the units in order.
 * - sampling modes (`pct`, `random`): blocks of BLOCK runs (seeds).
 *
 * Every unit shrinks its best failing schedule of each kind; tallies combine
 * commutatively (tally.ts). So merge(shards) equals the unsharded run by
 * construction.
 */
import { ExhaustiveSearch, processKey, usesSleepSets, type SleepEntry } from "./exhaustive.js";
import { conflicts, type Access, type Program } from "./program.js";
import { Run } from "./run.js";
import { pctRun, pctSeed, defaultLength, randomRun } from "./sample.js";
import type { Decision } from "./schedule.js";
import { shrink } from "./shrink.js";
import { combine, EMPTY_TALLY, TallyBuilder, type Bound, type FailureReport, type Tally } from "./tally.js";

type ExploreMode = "dpor" | "naive" | "pct" | "random";

export interface ExploreOptions {
  /** dpor (default): exhaustive with partial-order reduction; naive: exhaustive without; pct; random. */
  readonly mode?: ExploreMode;
  /** Exhaustive modes: stop after this many schedules (default 100,000). */
  readonly maxSchedules?: number;
  /** Exhaustive modes: at most this many preemptions per schedule (default: no bound). */
  readonly preemptionBound?: number;
  /** Every mode: an execution still running after this many steps is stopped as a livelock (default 10,000). */
  readonly maxSteps?: number;
  /** Exhaustive modes: the depth of the prefixes that split the space into units (default 2). */
  readonly splitDepth?: number;
  /** pct: the bug depth d (default 2). */
  readonly depth?: number;
  /** pct: the seed (default 0), and the number of runs (default 1,000). */
  readonly seed?: number;
  readonly runs?: number;
  /** random: the seeds from..to, both included (default 0..999). */
  readonly seedFrom?: number;
  readonly seedTo?: number;
  /** Explore only the K-th of N parts (K from 1). */
  readonly shard?: { readonly index: number; readonly count: number };
}

/**
 * The options as they shape the result, defaults filled in and those of
 * other modes left out (the summary carries them; shards must agree on them
 * to merge). No preemption bound is null, so that it shows in JSON.
 */
export type NormalizedOptions = Omit<ExploreOptions, "mode" | "maxSteps" | "preemptionBound" | "shard"> & {
  readonly mode: ExploreMode;
  readonly maxSteps: number;
  readonly preemptionBound?: number | null;
};

export interface Summary {
  readonly mode: ExploreMode;
  readonly options: NormalizedOptions;
  readonly agents: readonly string[];
  readonly shard: { readonly index: number; readonly count: number } | null;
  readonly units: { readonly total: number; readonly explored: number };
  readonly schedules: number;
  readonly blocked: number;
  readonly steps: number;
  /** Every class (dpor), schedule (naive) within the bounds explored; sampling never covers. */
  readonly covered: boolean;
  /** Why not covered. */
  readonly bounds: readonly Bound[];
  readonly outcomes: readonly { readonly outcome: string; readonly count: number }[];
  readonly failures: readonly FailureReport[];
}

/** Runs per unit of the sampling modes. */
const BLOCK = 16;

function count(name: string, v: number | undefined, dflt: number, min: number): number {
  const n = v ?? dflt;
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`explore: ${name} must be an integer >= ${min}, not ${n}`);
  return n;
}

export function normalize(o: ExploreOptions): NormalizedOptions {
  const mode = o.mode ?? "dpor";
  const maxSteps = count("maxSteps", o.maxSteps, 10_000, 1);
  switch (mode) {
    case "dpor":
    case "naive":
      return {
        mode,
        maxSteps,
        maxSchedules: count("maxSchedules", o.maxSchedules, 100_000, 1),
        preemptionBound: o.preemptionBound === undefined ? null : count("preemptionBound", o.preemptionBound, 0, 0),
        splitDepth: count("splitDepth", o.splitDepth, 2, 0),
      };
    case "pct":
      return {
        mode,
        maxSteps,
        depth: count("depth", o.depth, 2, 1),
        seed: count("seed", o.seed, 0, 0),
        runs: count("runs", o.runs, 1000, 1),
      };
    case "random": {
      const seedFrom = count("seedFrom", o.seedFrom, 0, 0);
      const seedTo = count("seedTo", o.seedTo, o.seedFrom === undefined ? 999 : seedFrom, seedFrom);
      return { mode, maxSteps, seedFrom, seedTo };
    }
    default:
      throw new RangeError(`explore: unknown mode "${String(mode)}" (dpor, naive, pct, random)`);
  }
}

/** One unit: a prefix to search exhaustively below, or a block of sampled runs. */
export type Unit =
  | { readonly kind: "prefix"; readonly prefix: readonly Decision[]; readonly sleep: readonly SleepEntry[] }
  | { readonly kind: "runs"; readonly from: number; readonly to: number };

/** The units of the search, in their fixed order. */
export function planUnits(program: Program, o: NormalizedOptions): Unit[] {
  if (o.mode === "pct") return blocks(0, o.runs! - 1);
  if (o.mode === "random") return blocks(o.seedFrom!, o.seedTo!);
  const units: Unit[] = [];
  const sleepSets = usesSleepSets({ reduce: o.mode === "dpor", preemptionBound: o.preemptionBound ?? Infinity });
  const n = program.agents.length;
  const expand = (run: Run, sleep: readonly SleepEntry[]): void => {
    if (run.steps >= o.splitDepth! || run.steps >= o.maxSteps || run.choices.length === 0) {
      units.push({ kind: "prefix", prefix: run.decisions, sleep });
      return;
    }
    const explored: SleepEntry[] = [];
    const asleep = new Set(sleep.map((s) => s.key));
    const children = run.choices.length;
    let any = false;
    for (let k = 0; k < children; k++) {
      const key = processKey(run.choices[k]!, n);
      if (asleep.has(key)) continue;
      const child = replayed(program, run.decisions);
      const acc: readonly Access[] = child.take(k).accesses;
      const childSleep = sleepSets ? [...sleep, ...explored].filter((s) => !conflicts(s.accesses, acc)) : [];
      expand(child, childSleep);
      if (sleepSets) explored.push({ key, accesses: acc });
      any = true;
    }
    // every choice asleep: the unit's search finds the state blocked
    if (!any) units.push({ kind: "prefix", prefix: run.decisions, sleep });
  };
  expand(new Run(program), []);
  return units;
}

function blocks(from: number, to: number): Unit[] {
  const out: Unit[] = [];
  for (let s = from; s <= to; s += BLOCK) out.push({ kind: "runs", from: s, to: Math.min(to, s + BLOCK - 1) });
  return out;
}

/** A run that has taken `ds`. */
function replayed(program: Program, ds: readonly Decision[]): Run {
  const run = new Run(program);
  for (const d of ds) run.take(run.indexOf(d.agent, d.rank));
  return run;
}

/** The share of `maxSchedules` of unit `u` of `total`. */
function budget(max: number, u: number, total: number): number {
  return Math.floor(max / total) + (u < max % total ? 1 : 0);
}

/** Search `unit` (index `ui` of `total`) and shrink its failures; `pctK` is PCT's k (unitContext()). */
export function runUnit(program: Program, o: NormalizedOptions, unit: Unit, ui: number, total: number, pctK = 0): Tally {
  let tally: TallyBuilder;
  if (unit.kind === "prefix") {
    const search = new ExhaustiveSearch(program, {
      reduce: o.mode === "dpor",
      preemptionBound: o.preemptionBound ?? Infinity,
      maxSteps: o.maxSteps,
    });
    search.explore(unit.prefix, unit.sleep, budget(o.maxSchedules!, ui, total));
    tally = search.tally;
  } else {
    tally = new TallyBuilder();
    for (let s = unit.from; s <= unit.to; s++) {
      if (o.mode === "pct") pctRun(program, pctSeed(o.seed!, s), o.depth!, pctK, o.maxSteps, tally);
      else randomRun(program, s, o.maxSteps, tally);
    }
    tally.bounds.add("sampled");
  }
  return tally.build((f) => shrink(program, f.kind, f.decisions, o.maxSteps));
}

/** What every unit of a search shares: PCT's k, computed once per process the same way. */
export function unitContext(program: Program, o: NormalizedOptions): number {
  return o.mode === "pct" ? defaultLength(program, o.maxSteps) : 0;
}

/** The summary of `tally`, a search of `total` units of a program with `agents`. */
export function summarize(
  agents: readonly string[],
  o: NormalizedOptions,
  tally: Tally,
  total: number,
  shard: { readonly index: number; readonly count: number } | null,
): Summary {
  return {
    mode: o.mode,
    options: o,
    agents: [...agents],
    shard: shard ? { index: shard.index, count: shard.count } : null,
    units: { total, explored: tally.units },
    schedules: tally.schedules,
    blocked: tally.blocked,
    steps: tally.steps,
    covered: tally.bounds.length === 0,
    bounds: tally.bounds,
    outcomes: tally.outcomes.map(([outcome, n]) => ({ outcome, count: n })),
    failures: tally.failures,
  };
}

/** The indices of the units shard K/N explores: K-1, K-1+N, ... (all without a shard). */
export function shardUnits(total: number, shard?: { readonly index: number; readonly count: number }): number[] {
  if (shard) checkShard(shard);
  const out: number[] = [];
  for (let i = shard ? shard.index - 1 : 0; i < total; i += shard ? shard.count : 1) out.push(i);
  return out;
}

function checkShard(s: { readonly index: number; readonly count: number }): void {
  if (!Number.isSafeInteger(s.count) || s.count < 1 || !Number.isSafeInteger(s.index) || s.index < 1 || s.index > s.count) {
    throw new RangeError(`explore: shard ${s.index}/${s.count} is not K/N with 1 <= K <= N`);
  }
}

/** Hears each unit searched: how many of how many, and the schedules run so far (a progress line). */
export type OnUnit = (done: number, total: number, schedules: number) => void;

/** Explore `program` in this thread: all units, or the shard's. */
export function explore(program: Program, options: ExploreOptions = {}, onUnit?: OnUnit): Summary {
  const o = normalize(options);
  const units = planUnits(program, o);
  const k = unitContext(program, o);
  const mine = shardUnits(units.length, options.shard);
  let tally = EMPTY_TALLY;
  for (const [n, i] of mine.entries()) {
    tally = combine(tally, runUnit(program, o, units[i]!, i, units.length, k));
    onUnit?.(n + 1, mine.length, tally.schedules);
  }
  return summarize(program.agents, o, tally, units.length, options.shard ?? null);
}

/** The tally a summary was made from. */
function tallyOf(s: Summary): Tally {
  return {
    units: s.units.explored,
    schedules: s.schedules,
    blocked: s.blocked,
    steps: s.steps,
    bounds: s.bounds,
    outcomes: s.outcomes.map((x) => [x.outcome, x.count] as const),
    failures: s.failures,
  };
}

/** The summary of the whole search from the summaries of its N shards (in any order). */
export function merge(summaries: readonly Summary[]): Summary {
  const first = summaries[0];
  if (!first) throw new Error("merge: no summaries");
  const n = first.shard?.count;
  const seen = new Set<number>();
  const same = JSON.stringify([first.options, first.agents, first.units.total]);
  for (const s of summaries) {
    if (!s.shard) throw new Error("merge: a summary of a whole search is not a shard");
    if (s.shard.count !== n) throw new Error(`merge: shards of ${n} and of ${s.shard.count} parts`);
    if (seen.has(s.shard.index)) throw new Error(`merge: shard ${s.shard.index}/${n} given twice`);
    if (JSON.stringify([s.options, s.agents, s.units.total]) !== same) {
      throw new Error(`merge: shard ${s.shard.index}/${n} explored another program or with other options`);
    }
    seen.add(s.shard.index);
  }
  if (seen.size !== n) {
    const missing = Array.from({ length: n! }, (_, i) => i + 1).filter((i) => !seen.has(i));
    throw new Error(`merge: shard${missing.length > 1 ? "s" : ""} ${missing.map((i) => `${i}/${n}`).join(", ")} missing`);
  }
  return summarize(first.agents, first.options, summaries.map(tallyOf).reduce(combine, EMPTY_TALLY), first.units.total, null);
}
