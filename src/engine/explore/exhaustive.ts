/**
 * Exhaustive search of one unit of the space (the executions extending a
 * fixed prefix), stateless: every execution runs from Program.start(), and
 * backtracking re-runs the prefix of the state it returns to.
 *
 * With reduction (`dpor`), it is source-DPOR with sleep sets (Abdulla,
 * Aronis, Jonsson and Sagonas, POPL 2014, Algorithm 1): happens-before is
 * tracked with vector clocks over the accesses each step reports; when a step
 * e' is in a race with an earlier step e (they conflict, and no other step
 * orders them), the state before e gets a backtrack point for some initial
 * of v = (the steps after e that do not happen after it) then e', unless
 * one is there or asleep already. A race whose later step was not enabled
 * before e (e enabled it: a lock release, a store and its drain) cannot be
 * reversed and adds nothing. Each Mazurkiewicz trace is run to its end once;
 * runs where every remaining choice is asleep are abandoned ("blocked").
 *
 * Without reduction (`naive`) every choice of every state is explored: the
 * reference DPOR is tested against.
 *
 * A preemption bound K prunes branches with more than K preemptions; with
 * DPOR a backtrack point added at a state is also added at the start of the
 * run of steps that state is in (Coons, Musuvathi and McKinley, "Bounded
 * partial-order reduction", OOPSLA 2013), so that a cheaper way to the same
 * reordering is tried, and sleep sets are off: they would keep a process
 * asleep for traces whose only explored representatives were pruned.
 */
import type { Access, Choice, Program } from "./program.js";
import { backgroundFlags, finalResult, Run } from "./run.js";
import type { Decision } from "./schedule.js";
import { TallyBuilder } from "./tally.js";

export interface ExhaustiveConfig {
  readonly reduce: boolean;
  /** Infinity for no bound. */
  readonly preemptionBound: number;
  readonly maxSteps: number;
}

/** A sleeping process: its key and the accesses of its next step. */
export interface SleepEntry {
  readonly key: number;
  readonly accesses: readonly Access[];
}

/**
 * Sleep sets are unsound under a preemption bound: a process asleep because
 * a sibling branch covered its traces stays asleep even when that branch's
 * representatives were pruned for exceeding the bound.
 */
export function usesSleepSets(cfg: { readonly reduce: boolean; readonly preemptionBound: number }): boolean {
  return cfg.reduce && cfg.preemptionBound === Infinity;
}

/** A process is an agent with one option; its key is stable across executions. */
export function processKey(c: Choice, agents: number): number {
  return c.agent + c.option * agents;
}

/** An event about to be recorded: its local index, its po-predecessor's clock, the events it follows immediately, its clock. */
interface Ev {
  readonly local: number;
  readonly base: readonly number[];
  readonly cands: readonly number[];
  readonly vc: number[];
}

interface Node {
  readonly choices: readonly Choice[];
  readonly keys: readonly number[];
  readonly backtrack: Set<number>;
  readonly done: Set<number>;
  /** Asleep here: key -> encoded accesses of its next step. */
  readonly sleep: Map<number, readonly number[]>;
  /** Taken from here so far, with their accesses: asleep for later siblings that do not conflict. */
  readonly explored: [number, readonly number[]][];
  /** The Run's preemptions and previous agent at this state. */
  readonly preemptions: number;
  readonly last: number;
  taken: number;
}

/** Accesses encoded as location id * 2 + (writes ? 1 : 0). */
function conflictEncoded(a: readonly number[], b: readonly number[]): boolean {
  for (const x of a) {
    for (const y of b) {
      if (x >> 1 === y >> 1 && (x & 1 || y & 1)) return true;
    }
  }
  return false;
}

export class ExhaustiveSearch {
  private readonly nAgents: number;
  private readonly locIds = new Map<string, number>();
  /* Processes: dense index <-> key; per process its last event and event count in the current trace. */
  private readonly procIndex = new Map<number, number>();
  private readonly procKeys: number[] = [];
  private procLast: number[] = [];
  private procCount: number[] = [];
  /* The current trace, event i being the step taken at nodes[i]. */
  private readonly evProc: number[] = [];
  private readonly evLocal: number[] = [];
  private readonly evAgent: number[] = [];
  private readonly evVc: number[][] = [];
  private readonly evAcc: (readonly number[])[] = [];
  /* Per location: the last writing event, and the reading events since. */
  private lastWrite: number[] = [];
  private readers: number[][] = [];
  private nodes: Node[] = [];
  private run!: Run;
  private frozen = 0;
  readonly tally = new TallyBuilder();
  /** Sleep sets, with reduction and no preemption bound (see the module comment). */
  private readonly sleepSets: boolean;
  private readonly background: readonly boolean[];

  constructor(
    private readonly program: Program,
    private readonly cfg: ExhaustiveConfig,
  ) {
    this.nAgents = program.agents.length;
    this.sleepSets = usesSleepSets(cfg);
    this.background = backgroundFlags(program);
  }

  /** Explore every execution extending `prefix`, whose last state has `sleep` asleep; stop at `budget` schedules. */
  explore(prefix: readonly Decision[], sleep: readonly SleepEntry[], budget: number): void {
    this.run = new Run(this.program);
    this.frozen = prefix.length;
    for (const d of prefix) {
      const k = this.run.indexOf(d.agent, d.rank);
      if (k < 0) throw new Error(`explore: the unit's prefix does not apply at step ${this.nodes.length + 1}`);
      this.push(new Map(), false);
      this.step(this.nodes[this.nodes.length - 1]!, k, false);
    }
    if (this.run.preemptions > this.cfg.preemptionBound) {
      this.tally.bounds.add("preemptionBound");
      return;
    }
    if (budget <= 0) {
      this.tally.bounds.add("maxSchedules");
      return;
    }
    this.extend(new Map(sleep.map((s) => [s.key, this.encode(s.accesses)])));
    for (;;) {
      if (this.tally.schedules >= budget) {
        if (this.pending()) this.tally.bounds.add("maxSchedules");
        return;
      }
      let i = this.nodes.length - 1;
      let k = -1;
      for (; i >= this.frozen; i--) {
        k = this.candidate(this.nodes[i]!);
        if (k >= 0) break;
      }
      if (k < 0) return;
      this.nodes.length = i + 1;
      this.restart(i);
      const node = this.nodes[i]!;
      node.done.add(node.keys[k]!);
      this.extend(this.step(node, k, this.cfg.reduce));
    }
  }

  /** Run the default continuation from the current state until the execution stops. */
  private extend(sleep: Map<number, readonly number[]>): void {
    const run = this.run;
    for (;;) {
      if (run.steps >= this.cfg.maxSteps || run.choices.length === 0) {
        const limited = run.choices.length > 0;
        if (limited) this.tally.bounds.add("maxSteps");
        this.tally.add(finalResult(run, limited), run.decisions, run.preemptions);
        break;
      }
      const node = this.push(sleep, !this.cfg.reduce);
      const k = this.defaultChoice(node);
      if (k < 0) {
        this.tally.blocked++;
        break;
      }
      if (run.preempts(k) && run.preemptions + 1 > this.cfg.preemptionBound) {
        this.tally.bounds.add("preemptionBound");
        break;
      }
      node.backtrack.add(node.keys[k]!);
      node.done.add(node.keys[k]!);
      sleep = this.step(node, k, this.cfg.reduce);
    }
    if (this.cfg.reduce) this.waiting();
  }

  private push(sleep: Map<number, readonly number[]>, all: boolean): Node {
    const choices = this.run.choices;
    const keys = choices.map((c) => processKey(c, this.nAgents));
    const node: Node = {
      choices,
      keys,
      backtrack: new Set(all ? keys : []),
      done: new Set(),
      sleep,
      explored: [],
      preemptions: this.run.preemptions,
      last: this.run.last,
      taken: -1,
    };
    this.nodes.push(node);
    return node;
  }

  /** The previous agent's first option not asleep, else the first choice not asleep; -1 if all are. */
  private defaultChoice(node: Node): number {
    let first = -1;
    for (let k = 0; k < node.keys.length; k++) {
      if (node.sleep.has(node.keys[k]!)) continue;
      if (node.choices[k]!.agent === node.last) return k;
      if (first < 0) first = k;
    }
    return first;
  }

  private preempts(node: Node, k: number): boolean {
    const a = node.choices[k]!.agent;
    return node.last >= 0 && a !== node.last && !this.background[a]! && node.choices.some((c) => c.agent === node.last);
  }

  /** The next backtrack choice of `node` to explore, in choice order; -1 if none is left within the bound. */
  private candidate(node: Node): number {
    for (let k = 0; k < node.keys.length; k++) {
      const key = node.keys[k]!;
      if (!node.backtrack.has(key) || node.done.has(key) || node.sleep.has(key)) continue;
      if (this.preempts(node, k) && node.preemptions + 1 > this.cfg.preemptionBound) {
        node.done.add(key);
        this.tally.bounds.add("preemptionBound");
        continue;
      }
      return k;
    }
    return -1;
  }

  private pending(): boolean {
    for (let i = this.nodes.length - 1; i >= this.frozen; i--) {
      const n = this.nodes[i]!;
      for (const key of n.backtrack) if (!n.done.has(key) && !n.sleep.has(key)) return true;
    }
    return false;
  }

  /** Take choice k at `node` (the last node); record the event; the sleep set of the next state. */
  private step(node: Node, k: number, analyze: boolean): Map<number, readonly number[]> {
    node.taken = k;
    const key = node.keys[k]!;
    const info = this.run.take(k);
    const acc = this.encode(info.accesses);
    this.record(key, node.choices[k]!.agent, acc, analyze);
    const next = new Map<number, readonly number[]>();
    if (this.sleepSets) {
      for (const [q, a] of node.sleep) if (!conflictEncoded(a, acc)) next.set(q, a);
      for (const [q, a] of node.explored) if (!conflictEncoded(a, acc)) next.set(q, a);
      node.explored.push([key, acc]);
    }
    return next;
  }

  private encode(accesses: readonly Access[]): number[] {
    const out = new Array<number>(accesses.length);
    for (let i = 0; i < accesses.length; i++) {
      const a = accesses[i]!;
      let id = this.locIds.get(a.location);
      if (id === undefined) {
        id = this.locIds.size;
        this.locIds.set(a.location, id);
        this.lastWrite.push(-1);
        this.readers.push([]);
      }
      out[i] = id * 2 + (a.kind === "read" ? 0 : 1);
    }
    return out;
  }

  private dense(key: number): number {
    let p = this.procIndex.get(key);
    if (p === undefined) {
      p = this.procKeys.length;
      this.procIndex.set(key, p);
      this.procKeys.push(key);
      this.procLast.push(-1);
      this.procCount.push(0);
    }
    return p;
  }

  /** Append the event of process `key`: its vector clock, its races (if `analyze`), the locations' state. */
  private record(key: number, agent: number, acc: readonly number[], analyze: boolean): void {
    const j = this.evProc.length;
    const p = this.dense(key);
    const ev = this.event(p, acc);
    if (analyze) this.races(j, p, acc, ev);
    this.procCount[p] = ev.local;
    this.evProc.push(p);
    this.evLocal.push(ev.local);
    this.evAgent.push(agent);
    this.evVc.push(ev.vc);
    this.evAcc.push(acc);
    this.procLast[p] = j;
    this.apply(j, acc);
  }

  /**
   * The next event of process p touching `acc`: the conflicting events it
   * would follow immediately (the last write of each location, and for a
   * write the reads since), its po-predecessor's clock, and its own clock.
   */
  private event(p: number, acc: readonly number[]): Ev {
    const local = this.procCount[p]! + 1;
    const prev = this.procLast[p]!;
    const base = prev >= 0 ? this.evVc[prev]! : [];
    const cands: number[] = [];
    for (const x of acc) {
      const loc = x >> 1;
      const w = this.lastWrite[loc]!;
      if (w >= 0 && !cands.includes(w)) cands.push(w);
      if (x & 1) for (const r of this.readers[loc]!) if (!cands.includes(r)) cands.push(r);
    }
    const vc = base.slice();
    for (const c of cands) {
      const cv = this.evVc[c]!;
      for (let q = 0; q < cv.length; q++) if ((vc[q] ?? 0) < cv[q]!) vc[q] = cv[q]!;
    }
    for (let q = 0; q < p; q++) vc[q] ??= 0;
    vc[p] = local;
    return { local, base, cands, vc };
  }

  /**
   * The races of event j (process p): each earlier event of another process
   * it conflicts with and follows immediately. A race that cannot be
   * reversed (j's step was not enabled before the earlier one, which enabled
   * it: an unlock, a drain) hides the one with the step that disabled it
   * (the lock before that unlock, the store before that drain), which
   * conflicts with j too but is ordered before it only through the enabler:
   * then every earlier conflicting event not ordered before j by p's own
   * history is taken as a race.
   */
  private races(j: number, p: number, acc: readonly number[], ev: Ev): void {
    for (const c of ev.cands) {
      if (this.evProc[c] === p || this.hb(c, ev.base) || ev.cands.some((d) => d !== c && this.hb(c, this.evVc[d]!))) continue;
      if (this.race(c, j, p, ev)) continue;
      for (let e = c - 1; e >= this.frozen; e--) {
        if (this.evProc[e] === p || this.hb(e, ev.base) || !conflictEncoded(this.evAcc[e]!, acc)) continue;
        this.race(e, j, p, ev);
      }
    }
  }

  /** At the end of a run: the races of the steps waiting agents would take, as if they ran now. */
  private waiting(): void {
    const n = this.evProc.length;
    for (const w of this.run.exec.waiting()) {
      const p = this.dense(processKey(w, this.nAgents));
      const acc = this.encode(w.accesses);
      this.races(n, p, acc, this.event(p, acc));
    }
  }

  /** Event `e` happens before (or is) the event with vector clock `vc`. */
  private hb(e: number, vc: readonly number[]): boolean {
    return (vc[this.evProc[e]!] ?? 0) >= this.evLocal[e]!;
  }

  private apply(j: number, acc: readonly number[]): void {
    for (const x of acc) {
      const loc = x >> 1;
      if (x & 1) {
        this.lastWrite[loc] = j;
        this.readers[loc] = [];
      } else {
        this.readers[loc]!.push(j);
      }
    }
  }

  /**
   * Event i races with event j of process p (its clock and local index in
   * `ev`; j may be a waiting agent's step, not in the trace): add a backtrack
   * point at nodes[i] for an initial of v = notdep(e_i).e_j (source-DPOR).
   * False if the race cannot be reversed: e_j's process could not run before
   * e_i.
   */
  private race(i: number, j: number, p: number, ev: Ev): boolean {
    if (i < this.frozen) return true;
    const node = this.nodes[i]!;
    const pi = this.evProc[i]!;
    const li = this.evLocal[i]!;
    // v = notdep(e_i) . e_j; per process of v, its first event there
    const first = new Map<number, number>();
    for (let k = i + 1; k < j; k++) {
      const q = this.evProc[k]!;
      if ((this.evVc[k]![pi] ?? 0) >= li || first.has(q)) continue;
      first.set(q, k);
    }
    if (!first.has(p)) first.set(p, j);
    // initials of v: processes whose first event there has no predecessor in v
    const initials: number[] = [];
    for (const [q, w] of first) {
      const wv = w === j ? ev.vc : this.evVc[w]!;
      let initial = true;
      for (const [r, f] of first) {
        if (r !== q && (wv[r] ?? 0) >= (f === j ? ev.local : this.evLocal[f]!)) {
          initial = false;
          break;
        }
      }
      if (initial) initials.push(q);
    }
    const pKey = this.procKeys[p]!;
    if (first.get(p) === j && initials.includes(p) && !node.keys.includes(pKey)) return false;
    const keys = initials.map((q) => this.procKeys[q]!).filter((key) => node.keys.includes(key));
    if (this.cfg.preemptionBound !== Infinity) {
      // an initial already here may lead to the reordering only through more preemptions than the bound allows,
      // and so may this state itself, unlike the one where the run of steps began: take every initial, here and there
      for (const key of keys) {
        node.backtrack.add(key);
        this.conservative(i, key);
      }
      return true;
    }
    if (keys.length === 0 || keys.some((key) => node.backtrack.has(key) || node.sleep.has(key))) return true;
    node.backtrack.add(keys.includes(pKey) ? pKey : keys[0]!);
    return true;
  }

  /**
   * With a preemption bound: also add `key` at every state since the run of
   * foreground steps containing step i began (background steps do not end
   * a run); where it cannot run (it waits for a step still to come), every
   * choice there, one of which lets it run.
   */
  private conservative(i: number, key: number): void {
    const agent = this.background[this.evAgent[i]!] ? this.nodes[i]!.last : this.evAgent[i]!;
    for (let b = i - 1; b >= this.frozen && (this.evAgent[b] === agent || this.background[this.evAgent[b]!]); b--) {
      const n = this.nodes[b]!;
      if (n.keys.includes(key)) n.backtrack.add(key);
      else for (const k of n.keys) n.backtrack.add(k);
    }
  }

  /** Back to state i: forget later events, rebuild the locations' state, and re-run the prefix (checking determinism). */
  private restart(i: number): void {
    this.evProc.length = i;
    this.evLocal.length = i;
    this.evAgent.length = i;
    this.evVc.length = i;
    this.evAcc.length = i;
    this.procLast = this.procLast.map(() => -1);
    this.procCount = this.procCount.map(() => 0);
    this.lastWrite = this.lastWrite.map(() => -1);
    this.readers = this.readers.map(() => []);
    for (let j = 0; j < i; j++) {
      const p = this.evProc[j]!;
      this.procLast[p] = j;
      this.procCount[p] = this.evLocal[j]!;
      this.apply(j, this.evAcc[j]!);
    }
    this.run = new Run(this.program);
    for (let j = 0; j < i; j++) {
      const info = this.run.take(this.nodes[j]!.taken);
      const acc = this.encode(info.accesses);
      const was = this.evAcc[j]!;
      if (acc.length !== was.length || acc.some((x, n) => x !== was[n])) {
        throw new Error(
          `the program is not deterministic: step ${j + 1} (${this.program.agents[this.evAgent[j]!]}: ${info.label}) ` +
            `touched other locations when re-run from the start`,
        );
      }
    }
  }
}
