/**
 * Scaling out: shards merged give exactly the summary of one run, worker
 * threads too (a pool of them across searches), whatever the budget cuts,
 * and the same input gives byte-identical summaries.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { explore, exploreParallel, ExplorePool, merge, replay, ToyProgram, type ExploreOptions, type ToySpec } from "../../src/engine/explore/index.js";

const SPEC: ToySpec = {
  memory: "arm",
  threads: ["x=1; wmb; y=1; r0=z", "z=1; r1=y; r2=x; fail stale if r2==0", "lock L; r3=x; y=2; unlock L"],
  observe: ["y"],
};
const program = new ToyProgram(SPEC);

const MODES: [string, ExploreOptions][] = [
  ["dpor", { mode: "dpor" }],
  ["dpor with a preemption bound", { mode: "dpor", preemptionBound: 0 }],
  ["dpor cut by maxSchedules", { mode: "dpor", maxSchedules: 50 }],
  ["naive", { mode: "naive", maxSchedules: 5000 }],
  ["pct", { mode: "pct", depth: 3, seed: 7, runs: 100 }],
  ["random", { mode: "random", seedFrom: 10, seedTo: 109 }],
];

describe("shards", () => {
  test.each(MODES)("%s: shards 1..N merged are the unsharded summary, byte for byte", (_, o) => {
    const whole = JSON.stringify(explore(program, o));
    for (const n of [1, 2, 3]) {
      const parts = Array.from({ length: n }, (_, k) => explore(program, { ...o, shard: { index: k + 1, count: n } }));
      expect(JSON.stringify(merge(parts.reverse()))).toBe(whole);
    }
  });

  test("a shard explores its own units and says which part it is", () => {
    const whole = explore(program);
    const a = explore(program, { shard: { index: 1, count: 2 } });
    const b = explore(program, { shard: { index: 2, count: 2 } });
    expect([a.shard, b.shard, whole.shard]).toEqual([{ index: 1, count: 2 }, { index: 2, count: 2 }, null]);
    expect(a.units.explored + b.units.explored).toBe(whole.units.total);
    expect(a.schedules + b.schedules).toBe(whole.schedules);
  });

  test("merge refuses a missing, repeated or foreign shard, and a whole summary", () => {
    const part = (k: number, n: number, o: ExploreOptions = {}) => explore(program, { ...o, shard: { index: k, count: n } });
    expect(() => merge([part(1, 3), part(3, 3)])).toThrow("merge: shard 2/3 missing");
    expect(() => merge([part(1, 2), part(1, 2)])).toThrow("merge: shard 1/2 given twice");
    expect(() => merge([part(1, 2), part(2, 2, { maxSteps: 99 })])).toThrow("merge: shard 2/2 explored another program or with other options");
    expect(() => merge([part(1, 2), part(2, 3)])).toThrow("merge: shards of 2 and of 3 parts");
    expect(() => merge([explore(program)])).toThrow("merge: a summary of a whole search is not a shard");
    expect(() => explore(program, { shard: { index: 3, count: 2 } })).toThrow("explore: shard 3/2 is not K/N with 1 <= K <= N");
  });
});

describe("determinism", () => {
  test.each(MODES)("%s: the same input and options give the same summary, byte for byte", (_, o) => {
    expect(JSON.stringify(explore(new ToyProgram(SPEC), o))).toBe(JSON.stringify(explore(new ToyProgram(SPEC), o)));
  });

  test("the program above: every class covered, and the stale read found without a preemption", () => {
    const s = explore(program);
    expect([s.covered, s.bounds, s.schedules, s.outcomes.length]).toEqual([true, [], 34, 34]);
    expect(s.failures.map((f) => [f.kind, f.preemptions, f.steps])).toEqual([["stale", 0, 15]]);
    expect(replay(program, s.failures[0]!.schedule).result.failures.map((f) => f.kind)).toEqual(["stale"]);
  });
});

const TOY = fileURLToPath(new URL("../../src/engine/explore/toy.ts", import.meta.url));
const factory = (spec: ToySpec) => ({ module: TOY, exportName: "toyProgram", args: [spec] });

/* two of its threads, as naive searches them at split depth 4: 56 units of 5 to 60 schedules, 1,890 in all */
const SMALL = new ToyProgram({ ...SPEC, threads: SPEC.threads.slice(0, 2) });
const NAIVE: ExploreOptions = { mode: "naive", splitDepth: 4 };
const unitSizes = (): number[] => Array.from({ length: 56 }, (_, i) => explore(SMALL, { ...NAIVE, shard: { index: i + 1, count: 56 } }).schedules);

describe("the budget (maxSchedules)", () => {
  test("the space: units of unequal sizes, so that budgets fall between units and inside one", () => {
    const sizes = unitSizes();
    expect([Math.min(...sizes), Math.max(...sizes), sizes.reduce((a, b) => a + b)]).toEqual([5, 60, 1890]);
    expect(explore(SMALL, NAIVE).units).toEqual({ total: 56, explored: 56 });
  });

  test("units are searched in order until those before reach the budget; each stops at the budget", () => {
    const sizes = unitSizes();
    // 1889: the last unit starts below the budget and runs to its end
    for (const max of [1, 3, 100, 1000, 1880, 1889]) {
      const s = explore(SMALL, { ...NAIVE, maxSchedules: max });
      // the units kept: those whose predecessors hold fewer than max schedules
      let kept = 0;
      let sum = 0;
      while (kept < sizes.length && sum < max) sum += Math.min(sizes[kept++]!, max);
      const covered = kept === sizes.length && sizes.every((n) => n <= max);
      expect([s.units.explored, s.schedules, s.covered, s.bounds]).toEqual([kept, sum, covered, covered ? [] : ["maxSchedules"]]);
    }
    expect(explore(SMALL, { ...NAIVE, maxSchedules: 1890 }).covered).toBe(true);
  });

  test("with a budget inside a unit or between units: one thread, two jobs and shards 1..3 merged give one summary, byte for byte", async () => {
    const pool = new ExplorePool(2);
    try {
      for (const max of [3, 100, 1000]) {
        const o = { ...NAIVE, maxSchedules: max };
        const whole = JSON.stringify(explore(SMALL, o));
        for (const n of [2, 3]) {
          const parts = Array.from({ length: n }, (_, k) => explore(SMALL, { ...o, shard: { index: k + 1, count: n } }));
          expect(JSON.stringify(merge(parts.reverse()))).toBe(whole);
          const twoJobs = await pool.explore(factory({ ...SPEC, threads: SPEC.threads.slice(0, 2) }), { ...o, shard: { index: 1, count: n } });
          expect(JSON.stringify(twoJobs)).toBe(JSON.stringify(parts.at(-1)));
        }
        expect(JSON.stringify(await pool.explore(factory({ ...SPEC, threads: SPEC.threads.slice(0, 2) }), o))).toBe(whole);
      }
    } finally {
      await pool.close();
    }
  });

  // The units run the schedules of one search from the root, in its order
  // (naive): at every split depth the schedules a budget lets run are the
  // first ones of that search, however many units they fall into.
  test("naive: at every split depth, the first schedules of the unsplit search", () => {
    for (const splitDepth of [1, 3, 6]) {
      for (const max of [100, 1000]) {
        const s = explore(SMALL, { mode: "naive", splitDepth, maxSchedules: max });
        const root = explore(SMALL, { mode: "naive", splitDepth: 0, maxSchedules: s.schedules });
        expect([s.schedules >= max, s.steps, s.outcomes]).toEqual([true, root.steps, root.outcomes]);
      }
    }
  });

  // (a budget the space only reaches may leave units unsearched: they might hold more)
  test("dpor: a space of fewer schedules than the budget is covered at every split depth, with the same schedules", () => {
    const at = (splitDepth: number) => explore(program, { splitDepth, maxSchedules: 35 });
    for (const d of [0, 2, 5, 16]) expect([at(d).covered, at(d).schedules, at(d).outcomes]).toEqual([true, 34, at(0).outcomes]);
  });

  test("a shard carries each unit it kept, and stops where its own units reach the budget", () => {
    const a = explore(SMALL, { ...NAIVE, maxSchedules: 500, shard: { index: 1, count: 2 } });
    expect(a.parts!.map((p) => p.unit)).toEqual(Array.from({ length: a.units.explored }, (_, i) => 2 * i));
    expect([a.units.explored < 28, a.parts!.slice(0, -1).reduce((n, p) => n + p.schedules, 0) < 500, a.schedules >= 500]).toEqual([true, true, true]);
    expect(a.parts!.reduce((n, p) => n + p.schedules, 0)).toBe(a.schedules);
    expect(explore(program, { mode: "pct", runs: 32, shard: { index: 1, count: 2 } }).parts).toBeUndefined();
    expect(explore(SMALL, NAIVE).parts).toBeUndefined();
  });
});

/** `searches` on a pool of 2 workers joining after `joinAfterMs`, each summary checked against one thread's; the workers it started. */
async function pooled(joinAfterMs: number | undefined, searches: [spec: ToySpec, options: ExploreOptions, local?: ToyProgram][]): Promise<number> {
  const pool = new ExplorePool(2, joinAfterMs);
  try {
    for (const [spec, o, local] of searches) {
      expect(JSON.stringify(await pool.explore(factory(spec), o, undefined, local))).toBe(JSON.stringify(explore(local ?? new ToyProgram(spec), o)));
    }
    return pool.started;
  } finally {
    await pool.close();
  }
}

describe("worker threads", () => {
  test("a pool searches one program after another on the same workers, each summary the one-thread one", async () => {
    const specs: ToySpec[] = [SPEC, { memory: "tso", threads: ["x=1; r0=y", "y=1; r1=x"] }, { memory: "sc", threads: ["lock L; c=1; unlock L", "lock L; c=2; unlock L", "r0=c"] }];
    expect(await pooled(undefined, specs.map((spec) => [spec, { maxSchedules: 20 }]))).toBe(2);
  });

  test("given the program, the calling thread searches beside jobs - 1 workers: the same summaries, one worker fewer", async () => {
    const options: ExploreOptions[] = [{}, { ...NAIVE, maxSchedules: 100 }, { ...NAIVE, maxSchedules: 100, shard: { index: 2, count: 3 } }];
    /* joining at once: the searches here are too short to wait for */
    expect(await pooled(0, options.map((o) => [SPEC, o, program]))).toBe(1);
  });

  test("workers join a search only once the calling thread has searched joinAfterMs: one done sooner starts none", async () => {
    const options: ExploreOptions[] = [{}, { ...NAIVE, maxSchedules: 100 }];
    expect(await pooled(1e9, options.map((o) => [SPEC, o, program]))).toBe(0);
    /* a microsecond: the worker joins after this thread's first unit, and claims units from the same counter */
    expect(await pooled(0.001, [[SPEC, { ...NAIVE, maxSchedules: 100 }, program]])).toBe(1);
  });

  test("under a watchdog only the workers search, given the program or not: the same summaries", async () => {
    const pool = new ExplorePool(2, 0, 60_000);
    try {
      for (const o of [{}, { ...NAIVE, maxSchedules: 100 }, { mode: "pct", runs: 64 } as ExploreOptions]) {
        expect(JSON.stringify(await pool.explore(factory(SPEC), o, undefined, program))).toBe(JSON.stringify(explore(program, o)));
      }
      expect(pool.started).toBe(2);
    } finally {
      await pool.close();
    }
  });

  test("two jobs give the one-thread summary, byte for byte, shards included", async () => {
    expect(JSON.stringify(await exploreParallel(factory(SPEC), {}, 2))).toBe(JSON.stringify(explore(program)));
    const shard = { index: 2, count: 3 };
    expect(JSON.stringify(await exploreParallel(factory(SPEC), { mode: "pct", runs: 64, shard }, 2))).toBe(
      JSON.stringify(explore(program, { mode: "pct", runs: 64, shard })),
    );
  });

  test("a factory that does not build a program is an error naming it", async () => {
    await expect(exploreParallel({ module: TOY, exportName: "nothing", args: [] }, {}, 1)).rejects.toThrow(/toy\.ts does not export a function nothing/);
  });
});
