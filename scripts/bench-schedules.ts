/**
 * What `smmu-emu explore` does per second on the race examples: the first
 * scenario of examples/race-attach-unmap.smmu (3 operations: unmap, attach,
 * DMA, and the SMMU's queue) searched exhaustively (dpor, sc), in one
 * thread and on two worker threads, and what a schedule costs: starting an
 * execution (a new platform and the scenario's 4-statement prefix) against
 * the block's steps. Two jobs (this thread and a worker, as the CLI runs
 * them) are timed twice on one pool: the first search pays for starting the
 * worker (it loads the engine), the second is what every further block of a
 * file costs. `tsx scripts/bench-schedules.ts`
 * prints the figures alone.
 */
import { pathToFileURL, fileURLToPath } from "node:url";
import { blockFactory, blockProgram, type BlockSpec } from "../src/cli/commands/explore-target.js";
import { explore, ExplorePool } from "../src/engine/explore/index.js";

export interface SchedulesRow {
  scenario: string;
  schedules: number;
  /** The units the search is split into, and the schedules of the largest. */
  units: number;
  largestUnit: number;
  /** One thread, per CPU second, and per wall second. */
  schedulesPerSec: number;
  schedulesPerSecWall: number;
  /** --jobs 2, per wall second: the worker started for the search, and already running (a pool's next block). */
  schedulesPerSecJobs2: number;
  schedulesPerSecJobs2Warm: number;
  /** Microseconds per schedule: start() (platform and prefix), and the rest (the block's steps, the search). */
  startUs: number;
  blockUs: number;
}

const RACE = fileURLToPath(new URL("../examples/race-attach-unmap.smmu", import.meta.url));
const SPEC: BlockSpec = { path: RACE, plugins: [], scenario: "unmap races an attach to the same domain", block: 0, memory: "sc", seed: 0 };

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export async function benchSchedules(): Promise<SchedulesRow> {
  const program = await blockProgram(SPEC);
  explore(program, { maxSchedules: 200 }); // warm up
  const t0 = cpuMs();
  const w0 = performance.now();
  const s = explore(program);
  const searchMs = cpuMs() - t0;
  const wallMs = performance.now() - w0;
  const t1 = cpuMs();
  for (let i = 0; i < s.schedules; i++) program.start();
  const startMs = cpuMs() - t1;
  const largest = Math.max(
    ...Array.from({ length: s.units.total }, (_, i) => explore(program, { shard: { index: i + 1, count: s.units.total } }).schedules),
  );
  /* workers joining at once: what two jobs do once they run (the CLI waits 2 s of searching before it starts them) */
  const pool = new ExplorePool(2, 0);
  const jobs2: number[] = [];
  try {
    for (let round = 0; round < 2; round++) {
      const p0 = performance.now();
      const two = await pool.explore(blockFactory(SPEC), {}, undefined, program); // as the CLI does: this thread and a worker
      jobs2.push(performance.now() - p0);
      if (JSON.stringify(two) !== JSON.stringify(s)) throw new Error("--jobs 2 gave another summary");
    }
  } finally {
    await pool.close();
  }
  const us = (ms: number): number => (ms * 1000) / s.schedules;
  const perSec = (ms: number): number => (s.schedules * 1000) / ms;
  return {
    scenario: SPEC.scenario,
    schedules: s.schedules,
    units: s.units.total,
    largestUnit: largest,
    schedulesPerSec: perSec(searchMs),
    schedulesPerSecWall: perSec(wallMs),
    schedulesPerSecJobs2: perSec(jobs2[0]!),
    schedulesPerSecJobs2Warm: perSec(jobs2[1]!),
    startUs: us(startMs),
    blockUs: us(searchMs - startMs),
  };
}

/** The figures as `npm run bench` prints them. */
export function formatSchedules(r: SchedulesRow): string {
  return [
    `explore (dpor, sc) of examples/race-attach-unmap.smmu, "${r.scenario}": ${r.schedules} schedules, space covered, in ${r.units} units (the largest ${r.largestUnit} schedules)`,
    "",
    `1 job:     ${Math.round(r.schedulesPerSec)} schedules/s (CPU), ${Math.round(r.schedulesPerSecWall)} (wall): start (platform + prefix) ${r.startUs.toFixed(0)} us, block and search ${r.blockUs.toFixed(0)} us per schedule`,
    `--jobs 2:  ${Math.round(r.schedulesPerSecJobs2Warm)} schedules/s (wall, worker running): ${(r.schedulesPerSecJobs2Warm / r.schedulesPerSecWall).toFixed(2)}x one job; ` +
      `${Math.round(r.schedulesPerSecJobs2)} with its start-up (${(r.schedulesPerSecJobs2 / r.schedulesPerSecWall).toFixed(2)}x)`,
    `goal: 10,000 schedules/s per core: ${r.schedulesPerSec >= 10_000 ? "met" : "missed"}; near-linear with jobs: ${r.schedulesPerSecJobs2Warm / r.schedulesPerSecWall >= 1.8 ? "met" : "missed"} (1.8x or more with 2)`,
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) console.log(formatSchedules(await benchSchedules()));
