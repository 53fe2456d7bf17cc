/**
 * Exploring on worker threads. Every worker builds the program from a
 * serialisable factory (module, export, JSON arguments), plans the same
 * units, and claims unit after unit from a shared counter, so that a worker
 * that draws small units takes more of them; the tallies it returns combine
 * in any order to the tally of a run in one thread (explore.ts), so the
 * summary is the same, byte for byte, whatever the number of jobs.
 */
import { availableParallelism } from "node:os";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { startWorker } from "../../core/thread.js";
import { normalize, planUnits, runUnit, shardUnits, summarize, unitContext, type ExploreOptions, type OnUnit, type Summary } from "./explore.js";
import type { Program, ProgramFactory } from "./program.js";
import { combine, EMPTY_TALLY, type Tally } from "./tally.js";

export interface WorkerData {
  readonly factory: ProgramFactory;
  readonly options: ExploreOptions;
  /** Int32 counter: the next position in the list of units to search. */
  readonly next: SharedArrayBuffer;
}

/** A worker's messages: one per unit it searched (`unit`), then its answer. */
type WorkerMessage = { readonly unit: true; readonly schedules: number; readonly total: number } | WorkerReply;

interface WorkerReply {
  readonly ok: boolean;
  readonly error?: string;
  readonly tally?: Tally;
  readonly total?: number;
  readonly agents?: readonly string[];
}

/** `(await import(factory.module))[factory.exportName](...factory.args)`. */
export async function buildProgram(factory: ProgramFactory): Promise<Program> {
  const url = isAbsolute(factory.module) ? pathToFileURL(factory.module).href : factory.module;
  const mod = (await import(url)) as Record<string, unknown>;
  const make = mod[factory.exportName];
  if (typeof make !== "function") throw new Error(`explore: ${factory.module} does not export a function ${factory.exportName}`);
  return (await (make as (...a: unknown[]) => Program | Promise<Program>)(...factory.args)) as Program;
}

/** Search the units of `data`'s search this worker claims; `onUnit` hears each one's schedules, and the units there are. */
export function searchClaimed(
  program: Program,
  data: WorkerData,
  onUnit?: (schedules: number, total: number) => void,
): { tally: Tally; total: number; agents: readonly string[] } {
  const o = normalize(data.options);
  const units = planUnits(program, o);
  const mine = shardUnits(units.length, data.options.shard);
  const k = unitContext(program, o);
  const next = new Int32Array(data.next);
  let tally = EMPTY_TALLY;
  for (;;) {
    const n = Atomics.add(next, 0, 1);
    if (n >= mine.length) break;
    const i = mine[n]!;
    const unit = runUnit(program, o, units[i]!, i, units.length, k);
    tally = combine(tally, unit);
    onUnit?.(unit.schedules, mine.length);
  }
  return { tally, total: units.length, agents: program.agents };
}

/** Explore the program `factory` builds on `jobs` worker threads (default: one per core); `onUnit` hears each unit done. */
export async function exploreParallel(factory: ProgramFactory, options: ExploreOptions = {}, jobs = availableParallelism(), onUnit?: OnUnit): Promise<Summary> {
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new RangeError(`explore: jobs must be an integer >= 1, not ${jobs}`);
  const o = normalize(options);
  const data: WorkerData = { factory, options, next: new SharedArrayBuffer(4) };
  let done = 0;
  let schedules = 0;
  const replies = await Promise.all(
    Array.from(
      { length: jobs },
      () =>
        new Promise<WorkerReply>((resolve, reject) => {
          const w = startWorker(new URL("./worker.js", import.meta.url), { workerData: data });
          w.on("message", (m: WorkerMessage) => {
            if (!("unit" in m)) return resolve(m);
            schedules += m.schedules;
            onUnit?.(++done, m.total, schedules);
          });
          w.once("error", reject);
          w.once("exit", (code) => reject(new Error(`explore: a worker exited (code ${code}) before it answered`)));
        }),
    ),
  );
  const failed = replies.find((r) => !r.ok);
  if (failed) throw new Error(`explore: a worker failed: ${failed.error}`);
  const tally = replies.reduce((t, r) => combine(t, r.tally!), EMPTY_TALLY);
  return summarize(replies[0]!.agents!, o, tally, replies[0]!.total!, options.shard ?? null);
}
