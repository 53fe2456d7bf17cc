/**
 * `explore --timeout`: where a worker's search is, in memory the pool's
 * thread shares with it. The worker's program is wrapped so that every
 * execution it starts and every step it takes is a beat, with the phase it
 * is in, the unit it searches and the decisions of the execution so far
 * (the schedule string `run --schedule` replays). The pool's thread stops a
 * worker whose beats stop for the timeout, and reads where it was: the
 * schedule that hung, and (core/watch.ts) the user plugin running.
 * Plain stores and loads: the reader acts only on a value that has stayed
 * the same for seconds, and reads the rest once the writer is stopped.
 */
import { Watch } from "../../plugin/watch.js";
import type { PluginCall } from "../../plugin/running.js";
import type { Choice, Execution, Program, StepInfo, Waiting } from "./program.js";
import { backgroundFlags } from "./run.js";
import type { Decision } from "./schedule.js";

/** What a worker is doing: importing the program's modules (a user's plugins), starting an execution (the platform and the scenario up to the block), taking a step, or the search's own work between steps. */
export type SearchPhase = "loading" | "starting" | "stepping" | "searching";
const PHASES: readonly SearchPhase[] = ["loading", "starting", "stepping", "searching"];

const BEATS = 0;
const PHASE = 1;
const UNIT = 2;
const UNITS = 3;
const PREEMPTIONS = 4;
const DECISIONS = 5;
const HEADER = 6;
/** Decisions kept of one execution: beyond, the schedule is not known (the step limit is 10,000 by default). */
const MAX_DECISIONS = 1 << 16;

/** Where a stopped worker was. */
export interface StalledPlace {
  readonly phase: SearchPhase;
  /** The unit it was searching, or -1 (before the first). */
  readonly unit: number;
  /** The units of the search, or -1 if it had not planned them. */
  readonly units: number;
  /** The decisions of the execution it was in (the last one the step that hung), or null if there were too many to keep. */
  readonly decisions: readonly Decision[] | null;
  readonly preemptions: number;
  /** The user plugin whose code ran, if any. */
  readonly call?: PluginCall;
}

/** The shared memory of one worker's search: written by the worker, read by the pool's thread. */
export class SearchWatch {
  private readonly ints: Int32Array;
  readonly calls: Watch;

  constructor(
    readonly buffer = new SharedArrayBuffer(4 * (HEADER + 2 * MAX_DECISIONS)),
    readonly callBuffer?: SharedArrayBuffer,
  ) {
    this.ints = new Int32Array(buffer);
    this.calls = new Watch(callBuffer);
  }

  /** The beats so far: 0 until the worker has its first job. */
  beats(): number {
    return this.ints[BEATS]!;
  }

  /** A beat, in `phase`. */
  beat(phase: SearchPhase): void {
    this.ints[PHASE] = PHASES.indexOf(phase);
    this.ints[BEATS]!++;
  }

  /** A new job (a block's search): nothing of the last one is where this one is. */
  job(): void {
    this.ints[UNIT] = this.ints[UNITS] = -1;
    this.ints[DECISIONS] = this.ints[PREEMPTIONS] = 0;
    this.calls.call(undefined);
    this.beat("loading");
  }

  unit(unit: number, units: number): void {
    this.ints[UNIT] = unit;
    this.ints[UNITS] = units;
    this.beat("searching");
  }

  /** A new execution: no decisions yet. */
  start(): void {
    this.ints[DECISIONS] = 0;
    this.ints[PREEMPTIONS] = 0;
    this.beat("starting");
  }

  /** The next step's decision, before it is taken. */
  decide(agent: number, rank: number, preempts: boolean): void {
    const n = this.ints[DECISIONS]!;
    if (n < MAX_DECISIONS) {
      this.ints[HEADER + 2 * n] = agent;
      this.ints[HEADER + 2 * n + 1] = rank;
    }
    this.ints[DECISIONS] = n + 1;
    if (preempts) this.ints[PREEMPTIONS]!++;
    this.beat("stepping");
  }

  read(): StalledPlace {
    const n = this.ints[DECISIONS]!;
    const decisions: Decision[] = [];
    for (let i = 0; i < n && n <= MAX_DECISIONS; i++) decisions.push({ agent: this.ints[HEADER + 2 * i]!, rank: this.ints[HEADER + 2 * i + 1]! });
    const call = this.calls.read().call;
    return {
      phase: PHASES[this.ints[PHASE]!] ?? "loading",
      unit: this.ints[BEATS] ? this.ints[UNIT]! : -1,
      units: this.ints[BEATS] ? this.ints[UNITS]! : -1,
      decisions: n <= MAX_DECISIONS ? decisions : null,
      preemptions: this.ints[PREEMPTIONS]!,
      ...(call ? { call } : {}),
    };
  }
}

/** `program` with its executions' starts and steps told to `watch`. */
export function watchedProgram(program: Program, watch: SearchWatch): Program {
  const background = backgroundFlags(program);
  return {
    agents: program.agents,
    ...(program.background ? { background: program.background } : {}),
    start: (): Execution => {
      watch.start();
      const exec = program.start();
      watch.beat("searching");
      return new WatchedExecution(exec, watch, background);
    },
  };
}

/** An execution whose steps are told to its watch, each with its rank among the agent's options (as a schedule names it) and whether it preempts (as Run counts it). */
class WatchedExecution implements Execution {
  private offered: readonly Choice[] = [];
  /** The last agent in the foreground, as Run keeps it. */
  private last = -1;

  constructor(
    private readonly inner: Execution,
    private readonly watch: SearchWatch,
    private readonly background: readonly boolean[],
  ) {}

  choices(): readonly Choice[] {
    return (this.offered = this.inner.choices());
  }

  step(c: Choice): StepInfo {
    let rank = 0;
    let before = true;
    let lastCanRun = false;
    for (const x of this.offered) {
      if (x.agent === this.last) lastCanRun = true;
      if (x === c) before = false;
      else if (before && x.agent === c.agent) rank++;
    }
    const preempts = this.last >= 0 && c.agent !== this.last && !this.background[c.agent] && lastCanRun;
    if (!this.background[c.agent]) this.last = c.agent;
    this.watch.decide(c.agent, rank, preempts);
    const info = this.inner.step(c);
    this.watch.beat("searching");
    return info;
  }

  waiting(): readonly Waiting[] {
    return this.inner.waiting();
  }

  finished(): boolean {
    return this.inner.finished();
  }

  result(): ReturnType<Execution["result"]> {
    return this.inner.result();
  }
}
