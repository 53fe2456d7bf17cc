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
 *   its prefix. The children of a state are taken in the order the search
 *   itself takes them (the default continuation first), so that the units
 *   in order run the schedules one search from the root would (naive).
 * - sampling modes (`pct`, `random`): blocks of BLOCK runs (seeds).
 *
 * The budget (`maxSchedules`, exhaustive modes): every unit is searched with
 * the whole budget as its cap, and the units are taken in their fixed order
 * until the schedules of the units before one reach the budget; that one and
 * every later one are left out (cut()). A unit's search is deterministic,
 * so the cut falls at the same unit however the units were run: in order in
 * one thread, claimed by workers (which skip units certainly past the cut),
 * or in shards, whose summaries carry each unit's tally (`parts`) so that
 * merge() can cut. A space of at most `maxSchedules` schedules is covered
 * whatever the split.
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
  /**
   * Exhaustive modes: stop once the units searched hold this many schedules
   * (default 100,000): each unit's search stops at this many, and no unit is
   * started once the units before it reach it (the module comment).
   */
  readonly maxSchedules?: number;
  /** Exhaustive modes: at most this many preemptions per schedule (default: no bound). */
  readonly preemptionBound?: number;
  /** Every mode: an execution still running after this many steps is stopped as a livelock (default 10,000). */
  readonly maxSteps?: number;
  /** Exhaustive modes: the depth of the prefixes that split the space into units (default SPLIT_DEPTH). */
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

/** What a search, or one unit of it, found (a Tally as summaries show it). */
interface Found {
  readonly schedules: number;
  readonly blocked: number;
  readonly steps: number;
  /** Why not covered. */
  readonly bounds: readonly Bound[];
  readonly outcomes: readonly { readonly outcome: string; readonly count: number }[];
  readonly failures: readonly FailureReport[];
}

export interface Summary extends Found {
  readonly mode: ExploreMode;
  readonly options: NormalizedOptions;
  readonly agents: readonly string[];
  readonly shard: { readonly index: number; readonly count: number } | null;
  readonly units: { readonly total: number; readonly explored: number };
  /** Every class (dpor), schedule (naive) within the bounds explored; sampling never covers. */
  readonly covered: boolean;
  /** A shard of an exhaustive search: each unit it kept, for merge() to apply the budget's cut across shards. */
  readonly parts?: readonly (Found & { readonly unit: number })[];
}

/** Runs per unit of the sampling modes. */
const BLOCK = 16;

/**
 * The default split depth of the exhaustive modes (docs/explore.md, "Bounds,
 * modes"): at 8 steps the race examples' blocks are 9 to 52 units, the
 * bench block's largest 588 of its 1,200 schedules, so that two jobs can
 * balance, while the full expansion above adds few blocked runs (5 to 8%
 * more than unsplit; at 16 steps its largest unit is 327 schedules, but
 * blocked runs grow by up to twice and one job is up to 45% slower).
 */
const SPLIT_DEPTH = 8;

/** Exhaustive modes: no level of the split is expanded once it holds this many units (planUnits()). */
const MAX_UNITS = 256;

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
        splitDepth: count("splitDepth", o.splitDepth, SPLIT_DEPTH, 0),
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

/**
 * The units of the search, in their fixed order. Exhaustive modes expand
 * the states level by level, every state of a level at once so that the
 * units stay in the search's order, down to `splitDepth` or until a level
 * holds MAX_UNITS or more (a search without sleep sets, naive or bounded,
 * branches at every state).
 */
export function planUnits(program: Program, o: NormalizedOptions): Unit[] {
  if (o.mode === "pct") return blocks(0, o.runs! - 1);
  if (o.mode === "random") return blocks(o.seedFrom!, o.seedTo!);
  const sleepSets = usesSleepSets({ reduce: o.mode === "dpor", preemptionBound: o.preemptionBound ?? Infinity });
  const n = program.agents.length;
  /* a unit, and the run at its state while it may be expanded further (a replay saved per state) */
  let level: { unit: Unit & { kind: "prefix" }; run: Run | null }[] = [{ unit: { kind: "prefix", prefix: [], sleep: [] }, run: new Run(program) }];
  for (let depth = 0; depth < o.splitDepth! && depth < o.maxSteps && level.length < MAX_UNITS && level.some((u) => u.run); depth++) {
    const next: typeof level = [];
    for (const { unit, run } of level) {
      const order = run ? searchOrder(run, new Set(unit.sleep.map((s) => s.key)), n) : [];
      // a state that ends, or where every choice is asleep (the unit's search finds it blocked), stays a unit
      if (!run || order.length === 0) {
        next.push({ unit, run: null });
        continue;
      }
      const explored: SleepEntry[] = [];
      for (const [j, k] of order.entries()) {
        const key = processKey(run.choices[k]!, n);
        // the last child takes `run` itself
        const child = j === order.length - 1 ? run : replayed(program, unit.prefix);
        const acc: readonly Access[] = child.take(k).accesses;
        const sleep = sleepSets ? [...unit.sleep, ...explored].filter((s) => !conflicts(s.accesses, acc)) : [];
        next.push({ unit: { kind: "prefix", prefix: [...child.decisions], sleep }, run: child });
        if (sleepSets) explored.push({ key, accesses: acc });
      }
    }
    level = next;
  }
  return level.map((u) => u.unit);
}

/** The choices of `run` in the order ExhaustiveSearch takes them: its default (the previous agent's first option awake, else the first awake), then the others. */
function searchOrder(run: Run, asleep: ReadonlySet<number>, agents: number): number[] {
  const awake = run.choices.map((_, k) => k).filter((k) => !asleep.has(processKey(run.choices[k]!, agents)));
  const first = awake.find((k) => run.choices[k]!.agent === run.last) ?? awake[0];
  return first === undefined ? [] : [first, ...awake.filter((k) => k !== first)];
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

/** Search `unit` (capped at the whole budget) and shrink its failures; `pctK` is PCT's k (unitContext()). */
export function runUnit(program: Program, o: NormalizedOptions, unit: Unit, pctK = 0): Tally {
  let tally: TallyBuilder;
  if (unit.kind === "prefix") {
    const search = new ExhaustiveSearch(program, {
      reduce: o.mode === "dpor",
      preemptionBound: o.preemptionBound ?? Infinity,
      maxSteps: o.maxSteps,
    });
    search.explore(unit.prefix, unit.sleep, o.maxSchedules!);
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

/** The tally of units left out by the budget: none searched, the space not covered. */
const CUT: Tally = { ...EMPTY_TALLY, bounds: ["maxSchedules"] };

/** Whether `o` is a mode with a budget (exhaustive). */
function budgeted(o: NormalizedOptions): boolean {
  return o.maxSchedules !== undefined;
}

/**
 * The budget's cut of units searched in order: the longest prefix of
 * `units` (unit index and tally, by index) whose units each come before the
 * schedules reach `o.maxSchedules`, and whether units were left out (of
 * `total`); sampling modes keep every unit. `units` may stop early or miss
 * units past the cut, never one before it.
 */
function cut(o: NormalizedOptions, units: readonly (readonly [number, Tally])[], total: number): { kept: (readonly [number, Tally])[]; tally: Tally } {
  let tally = EMPTY_TALLY;
  const kept: (readonly [number, Tally])[] = [];
  for (const [i, u] of units) {
    if (budgeted(o) && tally.schedules >= o.maxSchedules!) return { kept, tally: combine(tally, CUT) };
    tally = combine(tally, u);
    kept.push([i, u]);
  }
  return { kept, tally: budgeted(o) && tally.schedules >= o.maxSchedules! && kept.length < total ? combine(tally, CUT) : tally };
}

/** The summary of `tally`, a search of `total` units of a program with `agents`; a shard's exhaustive search carries its units' tallies. */
function summarize(
  agents: readonly string[],
  o: NormalizedOptions,
  tally: Tally,
  total: number,
  shard: { readonly index: number; readonly count: number } | null,
  parts?: readonly (readonly [number, Tally])[],
): Summary {
  return {
    mode: o.mode,
    options: o,
    agents: [...agents],
    shard: shard ? { index: shard.index, count: shard.count } : null,
    units: { total, explored: tally.units },
    ...tallyFields(tally),
    covered: tally.bounds.length === 0,
    ...(shard && budgeted(o) ? { parts: (parts ?? []).map(([unit, t]) => ({ unit, ...tallyFields(t) })) } : {}),
  };
}

/** A tally's fields as a summary or part shows them. */
function tallyFields(t: Tally): Found {
  return {
    schedules: t.schedules,
    blocked: t.blocked,
    steps: t.steps,
    bounds: t.bounds,
    outcomes: t.outcomes.map(([outcome, n]) => ({ outcome, count: n })),
    failures: t.failures,
  };
}

/** The summary of a search, from its units' tallies in the order of their indices (cut() says which may be missing). */
export function finish(
  agents: readonly string[],
  o: NormalizedOptions,
  units: readonly (readonly [number, Tally])[],
  total: number,
  shard: { readonly index: number; readonly count: number } | null,
): Summary {
  const { kept, tally } = cut(o, units, shard ? shardUnits(total, shard).length : total);
  return summarize(agents, o, tally, total, shard, kept);
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

/** Explore `program` in this thread: all units, or the shard's, in order until the budget's cut. */
export function explore(program: Program, options: ExploreOptions = {}, onUnit?: OnUnit): Summary {
  const o = normalize(options);
  const units = planUnits(program, o);
  const k = unitContext(program, o);
  const mine = shardUnits(units.length, options.shard);
  const done: [number, Tally][] = [];
  let schedules = 0;
  for (const [n, i] of mine.entries()) {
    if (budgeted(o) && schedules >= o.maxSchedules!) break;
    const t = runUnit(program, o, units[i]!, k);
    done.push([i, t]);
    schedules += t.schedules;
    onUnit?.(n + 1, mine.length, schedules);
  }
  return finish(program.agents, o, done, units.length, options.shard ?? null);
}

/** The tally of a summary's fields (a whole summary's, or a part's). */
function tallyOf(s: Found, units: number): Tally {
  return {
    units,
    schedules: s.schedules,
    blocked: s.blocked,
    steps: s.steps,
    bounds: s.bounds,
    outcomes: s.outcomes.map((x) => [x.outcome, x.count] as const),
    failures: s.failures,
  };
}

/** The summary of the whole search from the summaries of its N shards (in any order): their units cut by the budget as one run cuts them. */
export function merge(summaries: readonly Summary[]): Summary {
  const first = summaries[0];
  if (!first) throw new Error("merge: no summaries");
  const n = first.shard?.count;
  const seen = new Set<number>();
  /* a shard the watchdog stopped (explore --timeout) may not have planned its units: its total is not compared */
  const stopped = (s: Summary): boolean => s.bounds.includes("timeout");
  const same = JSON.stringify([first.options, first.agents]);
  const total = summaries.find((s) => !stopped(s))?.units.total ?? first.units.total;
  for (const s of summaries) {
    if (!s.shard) throw new Error("merge: a summary of a whole search is not a shard");
    if (s.shard.count !== n) throw new Error(`merge: shards of ${n} and of ${s.shard.count} parts`);
    if (seen.has(s.shard.index)) throw new Error(`merge: shard ${s.shard.index}/${n} given twice`);
    if (JSON.stringify([s.options, s.agents]) !== same || (!stopped(s) && s.units.total !== total)) {
      throw new Error(`merge: shard ${s.shard.index}/${n} explored another program or with other options`);
    }
    seen.add(s.shard.index);
  }
  if (seen.size !== n) {
    const missing = Array.from({ length: n! }, (_, i) => i + 1).filter((i) => !seen.has(i));
    throw new Error(`merge: shard${missing.length > 1 ? "s" : ""} ${missing.map((i) => `${i}/${n}`).join(", ")} missing`);
  }
  const o = first.options;
  /* sampled, or searched only in part (a shard stopped by the watchdog, whose units stop short): what each found, combined */
  if (!budgeted(o) || summaries.some(stopped)) return summarize(first.agents, o, summaries.map((s) => tallyOf(s, s.units.explored)).reduce(combine, EMPTY_TALLY), total, null);
  const parts = summaries.flatMap((s) => s.parts ?? []).sort((a, b) => a.unit - b.unit);
  const units = parts.map((p) => [p.unit, tallyOf(p, 1)] as const);
  const { tally } = cut(o, units, total);
  // a unit before the cut that no shard kept: the shards were not of one search
  if (units.slice(0, tally.units).some(([i], j) => i !== j)) throw new Error("merge: the shards' units do not follow one another");
  return summarize(first.agents, o, tally, total, null);
}
