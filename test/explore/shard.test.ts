/**
 * Scaling out: shards merged give exactly the summary of one run, worker
 * threads too, and the same input gives byte-identical summaries.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { explore, exploreParallel, merge, replay, ToyProgram, type ExploreOptions, type ToySpec } from "../../src/engine/explore/index.js";

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

describe("worker threads", () => {
  test("two jobs give the one-thread summary, byte for byte, shards included", async () => {
    const factory = { module: fileURLToPath(new URL("../../src/engine/explore/toy.ts", import.meta.url)), exportName: "toyProgram", args: [SPEC] };
    expect(JSON.stringify(await exploreParallel(factory, {}, 2))).toBe(JSON.stringify(explore(program)));
    const shard = { index: 2, count: 3 };
    expect(JSON.stringify(await exploreParallel(factory, { mode: "pct", runs: 64, shard }, 2))).toBe(
      JSON.stringify(explore(program, { mode: "pct", runs: 64, shard })),
    );
  });

  test("a factory that does not build a program is an error naming it", async () => {
    const factory = { module: fileURLToPath(new URL("../../src/engine/explore/toy.ts", import.meta.url)), exportName: "nothing", args: [] };
    await expect(exploreParallel(factory, {}, 1)).rejects.toThrow(/toy\.ts does not export a function nothing/);
  });
});
