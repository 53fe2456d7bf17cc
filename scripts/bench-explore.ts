/**
 * npx tsx scripts/bench-explore.ts [--json]: the
 * explorer's speed on toy programs, in one thread and on two worker threads.
 *
 * For each program: schedules per second of a whole search, steps per
 * second (every step the program ran, replays of prefixes included), and the
 * explorer's own cost per step: the search's time less what the same number
 * of steps costs the program alone (its steps driven by a bare loop).
 * The goal for the simulator: 10,000 schedules/s per core on a scenario of
 * three operations, which leaves the explorer a few microseconds per step.
 */
import { fileURLToPath } from "node:url";
import { explore, exploreParallel, ToyProgram, type ExploreOptions, type Program, type ToySpec } from "../src/engine/explore/index.js";

const TOY = fileURLToPath(new URL("../src/engine/explore/toy.ts", import.meta.url));

interface Case {
  readonly name: string;
  readonly spec: ToySpec;
  readonly options: ExploreOptions;
}

const CASES: Case[] = [
  {
    name: "3 threads x 3 ops, sc, dpor",
    spec: { memory: "sc", threads: ["x=1; r0=y; z=1", "y=1; r1=z; x=2", "r2=x; z=2; r3=y"] },
    options: { mode: "dpor" },
  },
  {
    name: "3 threads x 3 ops, arm, dpor",
    spec: { memory: "arm", threads: ["x=1; wmb; y=1; r0=z", "z=1; r1=y; r2=x", "lock L; r3=x; y=2; unlock L"] },
    options: { mode: "dpor" },
  },
  {
    name: "3 threads x 3 ops, sc, naive",
    spec: { memory: "sc", threads: ["x=1; r0=y; z=1", "y=1; r1=z; x=2", "r2=x; z=2; r3=y"] },
    options: { mode: "naive" },
  },
  {
    name: "3 threads x 3 ops, arm, pct x 20000",
    spec: { memory: "arm", threads: ["x=1; wmb; y=1; r0=z", "z=1; r1=y; r2=x", "lock L; r3=x; y=2; unlock L"] },
    options: { mode: "pct", depth: 3, runs: 20_000 },
  },
];

/** `program`, counting the steps its executions run. */
function counted(program: Program): { program: Program; steps: () => number } {
  let steps = 0;
  return {
    steps: () => steps,
    program: {
      agents: program.agents,
      background: program.background,
      start() {
        const e = program.start();
        return {
          choices: () => e.choices(),
          step: (c) => {
            steps++;
            return e.step(c);
          },
          finished: () => e.finished(),
          result: () => e.result(),
          waiting: () => e.waiting(),
        };
      },
    },
  };
}

/** Microseconds per step of the program alone: executions driven by a bare loop, first choice each time (the fastest of a few rounds). */
function programCost(program: Program, minSteps: number): number {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    let steps = 0;
    const t0 = performance.now();
    while (steps < minSteps) {
      const e = program.start();
      for (let c = e.choices(); c.length > 0; c = e.choices()) {
        e.step(c[0]!);
        steps++;
      }
      e.result();
    }
    best = Math.min(best, ((performance.now() - t0) * 1000) / steps);
  }
  return best;
}

interface Row {
  name: string;
  schedules: number;
  /** One thread: the fastest whole search, ms. */
  ms: number;
  schedulesPerSec: number;
  /** Microseconds per step of the search (every step the program ran), and of the program alone. */
  usPerStep: number;
  programUsPerStep: number;
  /** Two worker threads: one whole search, ms, starting the workers included. */
  ms2: number;
  schedulesPerSec2: number;
}

/**
 * Repeat `f` until MIN_MS have passed (after WARMUP calls): its fastest time
 * in ms (the least disturbed by other work on the machine), its last value,
 * and how many times it ran.
 */
function timed<T>(f: () => T): { ms: number; value: T; runs: number } {
  for (let i = 0; i < WARMUP; i++) f();
  let value = f();
  let runs = 1;
  let best = Infinity;
  const t0 = performance.now();
  while (performance.now() - t0 < MIN_MS) {
    const t = performance.now();
    value = f();
    best = Math.min(best, performance.now() - t);
    runs++;
  }
  return { ms: best, value, runs };
}

const WARMUP = 5;
const MIN_MS = 1000;

async function twoJobs(spec: ToySpec, options: ExploreOptions): Promise<{ ms: number; schedules: number }> {
  const t0 = performance.now();
  const p = await exploreParallel({ module: TOY, exportName: "toyProgram", args: [spec] }, options, 2);
  return { ms: performance.now() - t0, schedules: p.schedules };
}

async function bench(c: Case): Promise<Row> {
  const probe = counted(new ToyProgram(c.spec));
  const before = probe.steps();
  const { ms, value: s, runs } = timed(() => explore(probe.program, c.options));
  const steps = (probe.steps() - before) / (runs + WARMUP);
  const two = await twoJobs(c.spec, c.options);
  return {
    name: c.name,
    schedules: s.schedules,
    ms,
    schedulesPerSec: (s.schedules * 1000) / ms,
    usPerStep: (ms * 1000) / steps,
    programUsPerStep: programCost(new ToyProgram(c.spec), 100_000),
    ms2: two.ms,
    schedulesPerSec2: (two.schedules * 1000) / two.ms,
  };
}

const rows: Row[] = [];
for (const c of CASES) rows.push(await bench(c));
const startup = await twoJobs({ memory: "sc", threads: ["x=1"] }, {});
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ rows, workerStartupMs: startup.ms }, null, 2));
} else {
  const head = ["program", "schedules", "1 job ms", "schedules/s", "us/step", "program us/step", "2 jobs ms", "schedules/s"];
  const body = rows.map((r) => [
    r.name,
    String(r.schedules),
    r.ms.toFixed(1),
    r.schedulesPerSec.toFixed(0),
    r.usPerStep.toFixed(2),
    r.programUsPerStep.toFixed(2),
    r.ms2.toFixed(0),
    r.schedulesPerSec2.toFixed(0),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((x, i) => (i === 0 ? x.padEnd(width[i]!) : x.padStart(width[i]!))).join("  ");
  console.log([line(head), width.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n"));
  console.log(
    `\n1 job: the fastest of repeated searches; us/step: the search's time per step the program ran (replays included),\n` +
      `program us/step: the same program's steps driven by a bare loop. 2 jobs: one search on two worker threads,\n` +
      `starting them included (${startup.ms.toFixed(0)} ms for a one-step program).`,
  );
}
