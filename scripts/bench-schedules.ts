/**
 * What a schedule explorer pays per schedule on examples/race-attach-unmap.smmu
 * (its first scenario): a new Simulator on its topology, the 4-statement
 * prefix (attach, attach, map, a DMA through a walk), and the 3-operation
 * `concurrently` block (unmap, attach, DMA) under a seed of its own.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { compileSmmu } from "../src/dsl/compile.js";
import { builtinRegistry, Simulator } from "../src/index.js";

export interface SchedulesRow {
  schedules: number;
  schedulesPerSec: number;
  /** Microseconds per schedule in each part. */
  buildUs: number;
  prefixUs: number;
  blockUs: number;
}

const RACE = fileURLToPath(new URL("../examples/race-attach-unmap.smmu", import.meta.url));

export function benchSchedules(schedules = 5000): SchedulesRow {
  const { topology } = compileSmmu(readFileSync(RACE, "utf8"), RACE);
  const registry = builtinRegistry();
  const parts = { build: 0, prefix: 0, block: 0 };
  const once = (seed: number, time: boolean): void => {
    const t0 = performance.now();
    const sim = new Simulator(topology, { registry, keepSpans: false });
    const t1 = performance.now();
    sim.attach("gpu0", "d1");
    sim.attach("gpu1", "d2");
    sim.map("d1", 0x10000, 0x1000);
    if (sim.run(sim.ops.dma("gpu0", "read", 0x10000)).kind !== "ok") throw new Error("the prefix's DMA did not translate");
    const t2 = performance.now();
    sim.runConcurrently([sim.ops.unmap("d1", 0x10000, 0x1000), sim.ops.attach("gpu1", "d1"), sim.ops.dma("gpu0", "read", 0x10000)], seed);
    const t3 = performance.now();
    if (sim.violations.length) throw new Error(`seed ${seed}: ${sim.violations[0]!.message}`);
    if (!time) return;
    parts.build += t1 - t0;
    parts.prefix += t2 - t1;
    parts.block += t3 - t2;
  };
  for (let seed = 0; seed < Math.min(500, schedules); seed++) once(seed, false);
  for (let seed = 0; seed < schedules; seed++) once(seed, true);
  const total = parts.build + parts.prefix + parts.block;
  const us = (ms: number): number => (ms * 1000) / schedules;
  return { schedules, schedulesPerSec: (schedules * 1000) / total, buildUs: us(parts.build), prefixUs: us(parts.prefix), blockUs: us(parts.block) };
}
