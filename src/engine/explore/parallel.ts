/**
 * Exploring on worker threads. A pool of N workers is given one search
 * after another (the CLI's blocks); for each, every worker builds the
 * program from a serialisable factory (module, export, JSON arguments),
 * plans the same units, and claims unit after unit from a shared counter, so
 * that a worker that draws small units takes more of them. A shared count of
 * the schedules of the units done lets a worker stop claiming once the
 * units before the next one certainly reach the budget (explore.ts's cut);
 * each unit's tally goes back with its index, and the summary is made from
 * them in index order as in one thread: the same, byte for byte, whatever
 * the number of jobs.
 */
import { availableParallelism } from "node:os";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import type { Worker } from "node:worker_threads";
import { InputError, type Diagnostic } from "../../core/diagnostics.js";
import { startWorker, stopWorker } from "../../core/thread.js";
import { finish, normalize, planUnits, runUnit, shardUnits, unitContext, type ExploreOptions, type OnUnit, type Summary } from "./explore.js";
import type { Program, ProgramFactory } from "./program.js";
import { EMPTY_TALLY, type FailureReport, type Tally } from "./tally.js";
import { SearchWatch, type StalledPlace } from "./watched.js";

/** One search, as the pool gives it to each of its workers. */
export interface Job {
  /** The pool's count of jobs: messages of an earlier job (one that failed) are not this one's. */
  readonly id: number;
  readonly factory: ProgramFactory;
  readonly options: ExploreOptions;
  /** Int32 counter: the next position in the list of units to search. */
  readonly next: SharedArrayBuffer;
  /** BigInt64 counter: the schedules of the units searched so far. */
  readonly spent: SharedArrayBuffer;
}

/** A worker's messages for a job: one per unit it searched, then the end of its part (or its failure: bad input, or a bug). */
export type WorkerMessage =
  | { readonly id: number; readonly unit: number; readonly of: number; readonly tally: Tally }
  | { readonly id: number; readonly done: true; readonly total: number; readonly agents: readonly string[] }
  | { readonly id: number; readonly diagnostics: Diagnostic[] }
  | { readonly id: number; readonly error: string }
  | { readonly printed: string };

/** What the pool's workers are given to start with: under a watchdog, the memory where each says where its search is. */
export interface WorkerSetup {
  readonly watch?: SharedArrayBuffer;
  readonly calls?: SharedArrayBuffer;
}

/**
 * A search stopped by the watchdog (ExplorePool's timeoutMs): where the
 * worker was, and the summary of what was searched until then with the
 * caller's report of the stop (kind "timeout") as its failure.
 */
export class SearchStalled extends Error {
  constructor(
    readonly place: StalledPlace,
    readonly seconds: number,
    readonly partial: (failure: FailureReport) => Summary,
  ) {
    super(`explore: a worker's search made no progress for ${seconds} s`);
    this.name = "SearchStalled";
  }
}

/** What a thread's part of a search ends with: the units there are, and the program's agents. */
type PartEnd = { readonly total: number; readonly agents: readonly string[] };

/** Who hears each unit a thread has searched: its index, the units of the part, its tally. */
type Heard = (unit: number, of: number, tally: Tally) => void;

/** `(await import(factory.module))[factory.exportName](...factory.args)`. */
export async function buildProgram(factory: ProgramFactory): Promise<Program> {
  const url = isAbsolute(factory.module) ? pathToFileURL(factory.module).href : factory.module;
  const mod = (await import(url)) as Record<string, unknown>;
  const make = mod[factory.exportName];
  if (typeof make !== "function") throw new Error(`explore: ${factory.module} does not export a function ${factory.exportName}`);
  return (await (make as (...a: unknown[]) => Program | Promise<Program>)(...factory.args)) as Program;
}

/**
 * The units of `job` a thread claims, searched one by one, until none is
 * left or the units done reach the budget (claims go in unit order, so every
 * unit done comes before the next one claimed): each unit's index and tally.
 * Returns the units there are and the program's agents.
 */
export function* claimUnits(program: Program, job: Job, onClaim?: (unit: number, of: number) => void): Generator<[unit: number, of: number, tally: Tally], PartEnd> {
  const o = normalize(job.options);
  const units = planUnits(program, o);
  const mine = shardUnits(units.length, job.options.shard);
  const k = unitContext(program, o);
  const next = new Int32Array(job.next);
  const spent = new BigInt64Array(job.spent);
  const max = o.maxSchedules === undefined ? null : BigInt(o.maxSchedules);
  for (;;) {
    const n = Atomics.add(next, 0, 1);
    if (n >= mine.length || (max !== null && Atomics.load(spent, 0) >= max)) break;
    onClaim?.(mine[n]!, units.length);
    const tally = runUnit(program, o, units[mine[n]!]!, k);
    Atomics.add(spent, 0, BigInt(tally.schedules));
    yield [mine[n]!, mine.length, tally];
  }
  return { total: units.length, agents: program.agents };
}

/** ExplorePool's default joinAfterMs. */
const JOIN_AFTER_MS = 2000;

/** A worker of the pool, and who hears its messages (the job running); under a watchdog, where its search is, and when that last changed. */
interface Slot {
  readonly worker: Worker;
  hear?: (m: WorkerMessage) => void;
  fail?: (e: Error) => void;
  readonly watch?: SearchWatch;
  /** Between the job's post and the end of its part: a worker that has ended its part waits for the others, beatless. */
  busy: boolean;
  beats: number;
  beatAt: number;
}

/**
 * N worker threads that search one job after another: started at the first
 * job, kept until close(), so that a file of many blocks pays for starting
 * them (loading the engine) once.
 */
export class ExplorePool {
  private readonly slots: Slot[] = [];
  private closing = false;
  private jobsRun = 0;
  /** How long the calling thread has searched in earlier searches. */
  private searchedMs = 0;

  constructor(
    readonly jobs = availableParallelism(),
    /**
     * With the calling thread searching, workers are started only once it
     * has searched this long (over all the pool's searches) and the units
     * left of the search would take it twice as long at its pace so far
     * (measured: two jobs on two cores are 1.3 to 1.7 times one, and a
     * worker that joins with less left made the search slower): a
     * worker takes about half a second of a core to load the engine and warm
     * up, which searches of a few seconds do not pay back on two cores, and
     * one that joins near the end makes the search wait for it. Once
     * started, workers serve every later search at once.
     */
    readonly joinAfterMs = JOIN_AFTER_MS,
    /**
     * A watchdog: a worker whose search makes no progress (starts no
     * execution, takes no step) for this long is stopped, and the search with
     * it (SearchStalled). The calling thread then never searches, so that no
     * plugin's code runs where nothing watches it.
     */
    readonly timeoutMs?: number,
    /** What the workers' plugins print, in pieces as written (stderr by default). */
    readonly printed: (text: string) => void = (text) => void process.stderr.write(text),
  ) {
    if (!Number.isSafeInteger(jobs) || jobs < 1) throw new RangeError(`explore: jobs must be an integer >= 1, not ${jobs}`);
  }

  private starts = 0;

  /** Workers started since the pool was made: `jobs`, whatever the number of searches, unless one died. */
  get started(): number {
    return this.starts;
  }

  private slot(): Slot {
    this.starts++;
    const watch = this.timeoutMs === undefined ? undefined : new SearchWatch();
    const workerData: WorkerSetup = watch ? { watch: watch.buffer, calls: watch.calls.buffer } : {};
    const slot: Slot = { worker: startWorker(new URL("./worker.js", import.meta.url), { workerData }), ...(watch ? { watch } : {}), busy: false, beats: 0, beatAt: 0 };
    slot.worker.on("message", (m: WorkerMessage) => ("printed" in m ? this.printed(m.printed) : slot.hear?.(m)));
    slot.worker.on("error", (e: Error) => slot.fail?.(e));
    slot.worker.on("exit", (code) => {
      if (this.closing) return;
      // the next search starts another in its place (one the watchdog stopped is out already)
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      slot.fail?.(new Error(`explore: a worker exited (code ${code}) before it answered`));
    });
    return slot;
  }

  /**
   * Explore the program `factory` builds on the pool's workers; `onUnit`
   * hears each unit done. Given `local`, the program built here, this thread
   * searches too, beside `jobs` - 1 workers: it starts at once, and the
   * workers join once it has searched for joinAfterMs with as much left (at
   * once if they run already); a search done sooner starts none. Under the
   * watchdog only the workers search (all `jobs` of them), and a search
   * stopped by it rejects with SearchStalled.
   */
  async explore(factory: ProgramFactory, options: ExploreOptions = {}, onUnit?: OnUnit, program?: Program): Promise<Summary> {
    const o = normalize(options);
    const local = this.timeoutMs === undefined ? program : undefined;
    const workers = local ? this.jobs - 1 : this.jobs;
    const job: Job = { id: ++this.jobsRun, factory, options, next: new SharedArrayBuffer(4), spent: new SharedArrayBuffer(8) };
    const tallies: [number, Tally][] = [];
    let schedules = 0;
    const heard: Heard = (unit, of, tally) => {
      tallies.push([unit, tally]);
      schedules += tally.schedules;
      onUnit?.(tallies.length, of, schedules);
    };
    const parts: Promise<PartEnd>[] = [];
    let joined = false;
    const join = (): void => {
      joined = true;
      while (this.slots.length < workers) this.slots.push(this.slot());
      for (const slot of this.slots.slice(0, workers)) parts.push(this.part(slot, job, heard));
    };
    if (!local || this.joinAfterMs <= 0 || this.slots.length >= workers) join();
    if (local) {
      const start = performance.now();
      const t0 = start - this.searchedMs;
      const claimed = new Int32Array(job.next);
      let doneHere = 0;
      const here = searchHere(local, job, heard, (of) => {
        const now = performance.now();
        const left = of - Atomics.load(claimed, 0);
        doneHere++;
        if (!joined && left > 0 && now - t0 >= this.joinAfterMs && (left * (now - start)) / doneHere >= 2 * this.joinAfterMs) join();
      });
      parts.push(here.finally(() => (this.searchedMs = performance.now() - t0)));
    }
    let ends: PartEnd[];
    const watchdog = this.watchdog((place, planned) => {
      const partial = (failure: FailureReport): Summary => {
        const units = Math.max(planned, tallies.length + 1);
        const stopped: Tally = { ...EMPTY_TALLY, bounds: ["timeout"], failures: [failure] };
        const heard = [...tallies, [place.unit < 0 ? units : place.unit, stopped] as [number, Tally]];
        return finish(program?.agents ?? [], o, heard.sort((a, b) => a[0] - b[0]), units, options.shard ?? null);
      };
      return new SearchStalled(place, this.timeoutMs! / 1000, partial);
    });
    try {
      /* the workers may join while this thread searches: wait for them too */
      do ends = await Promise.race([Promise.all(parts), watchdog.stopped]);
      while (ends.length < parts.length);
    } finally {
      watchdog.end();
      for (const slot of this.slots) slot.hear = slot.fail = undefined;
      // after a failure, no thread claims another unit of this search
      Atomics.store(new Int32Array(job.next), 0, 2 ** 30);
    }
    const { total, agents } = ends[0]!;
    return finish(agents, o, tallies.sort((a, b) => a[0] - b[0]), total, options.shard ?? null);
  }

  /**
   * Under a watchdog, a check every quarter of the timeout (at most 250 ms)
   * of each busy worker's beats: one unchanged for the timeout is stopped,
   * with every other worker (a search cannot go on without its unit), and
   * `stopped` rejects with what `stall` makes of where it was and of the
   * units of the search (as far as a worker planned them). Workers are timed
   * from their first beat: starting one loads the engine, which runs no plugin.
   */
  private watchdog(stall: (place: StalledPlace, units: number) => Error): { stopped: Promise<never>; end(): void } {
    const timeoutMs = this.timeoutMs;
    if (timeoutMs === undefined) return { stopped: new Promise<never>(() => undefined), end: () => undefined };
    let reject!: (e: Error) => void;
    const stopped = new Promise<never>((_, r) => (reject = r));
    for (const slot of this.slots) slot.beats = slot.beatAt = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      for (const slot of this.slots) {
        const beats = slot.watch!.beats();
        if (!slot.busy || beats === 0) continue;
        if (beats !== slot.beats) {
          slot.beats = beats;
          slot.beatAt = now;
        } else if (now - slot.beatAt >= timeoutMs) {
          clearInterval(timer);
          const all = this.slots.splice(0);
          for (const s of all) s.hear = s.fail = undefined;
          void Promise.all(all.map((s) => stopWorker(s.worker))).then(() => {
            const units = Math.max(-1, ...all.map((s) => s.watch!.read().units));
            reject(stall(slot.watch!.read(), units));
          });
          return;
        }
      }
    }, Math.min(250, timeoutMs / 4));
    return { stopped, end: () => clearInterval(timer) };
  }

  /** `slot`'s worker given `job`: its part, settled when it has claimed its last unit. */
  private part(slot: Slot, job: Job, heard: Heard): Promise<PartEnd> {
    return new Promise<PartEnd>((resolve, reject) => {
      slot.fail = reject;
      slot.hear = (m) => {
        if ("printed" in m || m.id !== job.id) return;
        if (!("unit" in m)) slot.busy = false;
        if ("diagnostics" in m) return reject(new InputError(m.diagnostics));
        if ("error" in m) return reject(new Error(`explore: a worker failed: ${m.error}`));
        if ("done" in m) return resolve(m);
        heard(m.unit, m.of, m.tally);
      };
      slot.busy = true;
      slot.worker.postMessage(job);
    });
  }

  /** Stop the workers. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/** claimUnits() in this thread, giving the workers' messages a turn after each unit; `after` hears the units there are, after each. */
async function searchHere(
  program: Program,
  job: Job,
  heard: Heard,
  after: (of: number) => void,
): Promise<PartEnd> {
  const units = claimUnits(program, job);
  for (;;) {
    const r = units.next();
    if (r.done) return r.value;
    heard(...r.value);
    after(r.value[1]);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Explore the program `factory` builds on `jobs` worker threads (default: one per core), started for this search alone. */
export async function exploreParallel(factory: ProgramFactory, options: ExploreOptions = {}, jobs = availableParallelism(), onUnit?: OnUnit): Promise<Summary> {
  const pool = new ExplorePool(jobs);
  try {
    return await pool.explore(factory, options, onUnit);
  } finally {
    await pool.close();
  }
}
