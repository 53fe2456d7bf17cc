/**
 * What `smmu-emu explore` does per second on the race examples: the first
 * scenario of examples/race-attach-unmap.smmu (3 operations: unmap, attach,
 * DMA, and the SMMU's queue) searched exhaustively (dpor, sc), in one
 * thread and on two worker threads, and what a schedule costs: starting an
 * execution (a new platform and the scenario's 4-statement prefix) against
 * the block's steps.
 */
import { fileURLToPath } from "node:url";
import { blockFactory, blockProgram, type BlockSpec } from "../src/cli/commands/explore-target.js";
import { explore, exploreParallel } from "../src/engine/explore/index.js";

export interface SchedulesRow {
  scenario: string;
  schedules: number;
  /** One thread, per CPU second. */
  schedulesPerSec: number;
  /** --jobs 2, per wall second. */
  schedulesPerSecJobs2: number;
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
  const s = explore(program);
  const searchMs = cpuMs() - t0;
  const t1 = cpuMs();
  for (let i = 0; i < s.schedules; i++) program.start();
  const startMs = cpuMs() - t1;
  const w0 = performance.now();
  const two = await exploreParallel(blockFactory(SPEC), {}, 2);
  const wallMs = performance.now() - w0;
  if (JSON.stringify(two) !== JSON.stringify(s)) throw new Error("--jobs 2 gave another summary");
  const us = (ms: number): number => (ms * 1000) / s.schedules;
  return {
    scenario: SPEC.scenario,
    schedules: s.schedules,
    schedulesPerSec: (s.schedules * 1000) / searchMs,
    schedulesPerSecJobs2: (s.schedules * 1000) / wallMs,
    startUs: us(startMs),
    blockUs: us(searchMs - startMs),
  };
}
