/**
 * Sampling: PCT finds a bug of depth 2 (a read that must fall between the
 * last two of twenty-two steps of another thread) within a bounded number
 * of runs, where uniformly random scheduling rarely does; counts of runs,
 * never time.
 */
import { describe, expect, test } from "vitest";
import { explore, replay, ToyProgram, type Summary } from "../../src/engine/explore/index.js";

const PAD = Array.from({ length: 20 }, (_, i) => `p${i}=1`).join("; ");
const BUG = new ToyProgram({ memory: "sc", threads: [`${PAD}; x=1; x=0`, "r0=b; r1=b; r2=x; fail stale if r2==1"] });
const RUNS = 200;

/** Runs whose outcome shows the stale read. */
const hits = (s: Summary): number => s.outcomes.filter((o) => o.outcome.includes("r2=1")).reduce((n, o) => n + o.count, 0);

describe("pct", () => {
  test.each([0, 1, 2, 3])("seed %i: depth 2 finds the bug within 200 runs, and shrinks it to one preemption", (seed) => {
    const s = explore(BUG, { mode: "pct", depth: 2, seed, runs: RUNS });
    expect(s.schedules).toBe(RUNS);
    expect(hits(s)).toBeGreaterThan(0);
    expect(s.failures.map((f) => [f.kind, f.schedule, f.preemptions])).toEqual([["stale", "0*21.1*3.0", 1]]);
    expect(replay(BUG, "0*21.1*3.0").result.failures.map((f) => f.kind)).toEqual(["stale"]);
    expect([s.covered, s.bounds]).toEqual([false, ["sampled"]]);
  });

  test("depth 1 (priorities, no change point) never runs the read inside the window", () => {
    expect(hits(explore(BUG, { mode: "pct", depth: 1, seed: 0, runs: RUNS }))).toBe(0);
  });

  test("over the same number of runs, uniformly random scheduling finds it less often than pct", () => {
    let pct = 0;
    let random = 0;
    for (const seed of [0, 1, 2, 3]) {
      pct += hits(explore(BUG, { mode: "pct", depth: 2, seed, runs: RUNS }));
      random += hits(explore(BUG, { mode: "random", seedFrom: seed * RUNS, seedTo: seed * RUNS + RUNS - 1 }));
    }
    expect(pct).toBeGreaterThan(random);
  });
});

describe("options", () => {
  test("bad values are errors naming the option", () => {
    expect(() => explore(BUG, { mode: "pct", depth: 0 })).toThrow("explore: depth must be an integer >= 1, not 0");
    expect(() => explore(BUG, { mode: "random", seedFrom: 5, seedTo: 4 })).toThrow("explore: seedTo must be an integer >= 5, not 4");
    expect(() => explore(BUG, { maxSchedules: 1.5 })).toThrow("explore: maxSchedules must be an integer >= 1, not 1.5");
    expect(() => explore(BUG, { mode: "bfs" as never })).toThrow('explore: unknown mode "bfs" (dpor, naive, pct, random)');
  });

  test("random mode defaults to one seed when only the first is given", () => {
    expect(explore(BUG, { mode: "random", seedFrom: 3 }).schedules).toBe(1);
  });
});
