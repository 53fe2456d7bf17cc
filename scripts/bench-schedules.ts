/**
 * What a schedule explorer pays per schedule on examples/race-attach-unmap.smmu
 * (its first scenario): a new Simulator on its topology, the 4-statement
 * prefix (attach, attach, map, a DMA through a walk), and the 3-operation
 * `concurrently` block (unmap, attach, DMA) under a seed of its own, in
 * CPU time.
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

/** CPU milliseconds (the machine may be shared: wall time would count the others' work too). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Each part timed over a batch of schedules at once: `batch` platforms built, then their prefixes run, then their blocks. */
export function benchSchedules(schedules = 6000, batch = 1000): SchedulesRow {
  const { topology } = compileSmmu(readFileSync(RACE, "utf8"), RACE);
  const registry = builtinRegistry();
  const parts = { build: 0, prefix: 0, block: 0 };
  const round = (first: number, time: boolean): void => {
    const t0 = cpuMs();
    const sims = Array.from({ length: batch }, () => new Simulator(topology, { registry, keepSpans: false }));
    const t1 = cpuMs();
    for (const sim of sims) {
      sim.attach("gpu0", "d1");
      sim.attach("gpu1", "d2");
      sim.map("d1", 0x10000, 0x1000);
      if (sim.run(sim.ops.dma("gpu0", "read", 0x10000)).kind !== "ok") throw new Error("the prefix's DMA did not translate");
    }
    const t2 = cpuMs();
    sims.forEach((sim, i) => sim.runConcurrently([sim.ops.unmap("d1", 0x10000, 0x1000), sim.ops.attach("gpu1", "d1"), sim.ops.dma("gpu0", "read", 0x10000)], first + i));
    const t3 = cpuMs();
    const stale = sims.find((sim) => sim.violations.length);
    if (stale) throw new Error(stale.violations[0]!.message);
    if (!time) return;
    parts.build += t1 - t0;
    parts.prefix += t2 - t1;
    parts.block += t3 - t2;
  };
  round(0, false);
  const rounds = Math.max(1, Math.round(schedules / batch));
  for (let r = 0; r < rounds; r++) round(r * batch, true);
  const n = rounds * batch;
  const us = (ms: number): number => (ms * 1000) / n;
  return { schedules: n, schedulesPerSec: (n * 1000) / (parts.build + parts.prefix + parts.block), buildUs: us(parts.build), prefixUs: us(parts.prefix), blockUs: us(parts.block) };
}
