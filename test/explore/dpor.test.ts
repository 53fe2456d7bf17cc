/**
 * The exhaustive search: DPOR against the naive search on random small
 * programs (the same outcomes and failures, never more schedules, with and
 * without a preemption bound), and the number of Mazurkiewicz traces of
 * hand-made programs, which DPOR runs exactly once each.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import type { MemoryModel } from "../../src/core/weak-memory.js";
import { explore, ToyProgram, type ExploreOptions, type ToySpec } from "../../src/engine/explore/index.js";

const LOCS = ["x", "y", "z"];

/** One operation; "lock" and "unlock" are paired up per thread afterwards. */
const opArb = fc.oneof(
  fc.record({ k: fc.constant("store"), loc: fc.constantFrom(...LOCS), v: fc.integer({ min: 1, max: 2 }), rel: fc.boolean() }),
  fc.record({ k: fc.constant("load"), loc: fc.constantFrom(...LOCS) }),
  fc.record({ k: fc.constantFrom("mb", "wmb", "lock") }),
  fc.record({ k: fc.constant("add"), loc: fc.constantFrom(...LOCS), full: fc.boolean() }),
  fc.record({ k: fc.constant("fail"), loc: fc.constantFrom(...LOCS) }),
);

type Op = { k: string; loc?: string; v?: number; rel?: boolean; full?: boolean };

function thread(ops: Op[], t: number): string {
  let locked = false;
  let reg = 0;
  const out: string[] = [];
  for (const op of ops) {
    const r = `r${t}${reg}`;
    switch (op.k) {
      case "store":
        out.push(`${op.rel ? "rel " : ""}${op.loc}=${op.v}`);
        break;
      case "load":
        out.push(`${r}=${op.loc}`);
        reg++;
        break;
      case "add":
        out.push(op.full ? `${r}=add ${op.loc} 1` : `add.acquire ${op.loc} 1`);
        if (op.full) reg++;
        break;
      case "fail":
        out.push(`${r}=${op.loc}; fail ${op.loc}seen if ${r}==1`);
        reg++;
        break;
      case "lock":
        out.push(locked ? "unlock L" : "lock L");
        locked = !locked;
        break;
      default:
        out.push(op.k);
    }
  }
  return out.join("; ");
}

const programArb: fc.Arbitrary<ToySpec> = fc
  .record({
    memory: fc.constantFrom<MemoryModel>("sc", "tso", "arm"),
    threads: fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 3 }),
  })
  .map(({ memory, threads }) => ({ memory, threads: threads.map((ops, t) => thread(ops as Op[], t)), observe: LOCS }));

/** What must agree between two searches of one program: outcomes and failure kinds. */
function found(o: ExploreOptions, spec: ToySpec) {
  const s = explore(new ToyProgram(spec), { maxSchedules: 20_000, ...o });
  return { s, outcomes: s.outcomes.map((x) => x.outcome), failures: s.failures.map((f) => f.kind) };
}

function compare(spec: ToySpec, bound?: number): void {
  const naive = found({ mode: "naive", preemptionBound: bound }, spec);
  fc.pre(!naive.s.bounds.includes("maxSchedules"));
  const dpor = found({ mode: "dpor", preemptionBound: bound }, spec);
  expect(dpor.outcomes).toEqual(naive.outcomes);
  expect(dpor.failures).toEqual(naive.failures);
  expect(dpor.s.schedules).toBeLessThanOrEqual(naive.s.schedules);
}

describe("dpor against the naive search", () => {
  test.prop([programArb], { numRuns: 120, seed: 20_141 })("the same outcomes and failures, no more schedules", (spec) => compare(spec));
  test.prop([programArb, fc.integer({ min: 0, max: 2 })], { numRuns: 80, seed: 2013 })("under a preemption bound too", (spec, k) => compare(spec, k));
});

/** Schedules of a whole search in one mode. */
function schedules(mode: "dpor" | "naive", threads: string[], splitDepth?: number): number {
  const s = explore(new ToyProgram({ memory: "sc", threads }), { mode, splitDepth });
  expect(s.covered).toBe(true);
  return s.schedules;
}

describe("dpor runs each Mazurkiewicz trace once", () => {
  // [threads, traces, interleavings]
  const cases: [string, string[], number, number][] = [
    ["independent threads", ["x=1; x=2", "y=1; y=2", "z=1"], 1, 30],
    ["two writers of one location", ["x=1; x=2", "x=3; x=4"], 6, 6],
    ["a writer and two readers", ["x=1", "r0=x", "r1=x"], 4, 6],
    ["message passing", ["x=1; y=1", "r0=y; r1=x"], 3, 6],
    ["store buffering", ["x=1; r0=y", "y=1; r1=x"], 3, 6],
    ["two critical sections", ["lock L; c=1; unlock L", "lock L; c=2; unlock L"], 2, 2],
    ["three critical sections", ["lock L; c=1; unlock L", "lock L; c=2; unlock L", "lock L; c=3; unlock L"], 6, 6],
    ["readers only", ["r0=x; r1=y", "r2=y; r3=x"], 1, 6],
  ];
  test.each(cases)("%s: %i traces", (_, threads, traces, interleavings) => {
    expect(schedules("dpor", threads)).toBe(traces);
    expect(schedules("dpor", threads, 0)).toBe(traces);
    expect(schedules("naive", threads)).toBe(interleavings);
  });
});

describe("bounds", () => {
  test("maxSchedules stops the search and says so", () => {
    const s = explore(new ToyProgram({ memory: "sc", threads: ["x=1; x=2", "x=3; x=4"] }), { maxSchedules: 3 });
    expect([s.schedules, s.covered, s.bounds]).toEqual([3, false, ["maxSchedules"]]);
  });

  test("a preemption bound that prunes says so; one that does not, does not", () => {
    const p = new ToyProgram({ memory: "sc", threads: ["x=1; r0=y", "y=1; r1=x"] });
    const k0 = explore(p, { preemptionBound: 0 });
    expect([k0.outcomes.map((o) => o.outcome), k0.covered, k0.bounds]).toEqual([["t0:r0=0 t1:r1=1", "t0:r0=1 t1:r1=0"], false, ["preemptionBound"]]);
    expect(explore(p, { preemptionBound: 2 }).bounds).toEqual([]);
  });

  test("an execution that does not end by maxSteps is a livelock, its shortest schedule the spin alone", () => {
    const s = explore(new ToyProgram({ memory: "sc", threads: ["r0=f; goto 0 if r0==0", "f=1"] }), { maxSteps: 20 });
    expect(s.bounds).toEqual(["maxSteps"]);
    expect(s.failures).toEqual([
      { kind: "livelock", message: "still running after 20 steps (the step limit); can run: t0, t1", schedule: "0*20", preemptions: 0, steps: 20 },
    ]);
    expect(s.outcomes.map((o) => o.outcome)).toContain("t0:r0=1");
  });
});
