/**
 * Litmus tests of the memory model, run by the explorer over toy programs:
 * every outcome each model allows, found exhaustively (dpor, covered), so
 * that "never" below is a proof over the model, not a sample. The table in
 * docs/explore.md ("What the memory model can show") is these tests.
 */
import { describe, expect, test } from "vitest";
import type { MemoryModel } from "../../src/core/weak-memory.js";
import { explore, ToyProgram } from "../../src/engine/explore/index.js";

/** Every outcome of the threads under `memory`, checked to be the whole space. */
function outcomes(memory: MemoryModel, threads: string[], observe?: string[]): string[] {
  const s = explore(new ToyProgram({ memory, threads, observe }));
  expect(s.covered).toBe(true);
  return s.outcomes.map((o) => o.outcome);
}

const MODELS: MemoryModel[] = ["sc", "tso", "arm"];

describe("SB (store buffering): both loads see the old value only without smp_mb() on both sides", () => {
  const weak = "t0:r0=0 t1:r1=0";
  test.each(MODELS)("%s, no barrier", (m) => {
    expect(outcomes(m, ["x=1; r0=y", "y=1; r1=x"]).includes(weak)).toBe(m !== "sc");
  });
  test.each(MODELS)("%s, smp_mb() on one side", (m) => {
    expect(outcomes(m, ["x=1; mb; r0=y", "y=1; r1=x"]).includes(weak)).toBe(m !== "sc");
  });
  test.each(MODELS)("%s, smp_mb() on both sides: never", (m) => {
    expect(outcomes(m, ["x=1; mb; r0=y", "y=1; mb; r1=x"])).toEqual(["t0:r0=0 t1:r1=1", "t0:r0=1 t1:r1=0", "t0:r0=1 t1:r1=1"]);
  });
});

describe("MP (message passing): new flag with old data only under arm, and only without the writer's barrier", () => {
  const weak = "t1:r0=1 t1:r1=0";
  test.each(MODELS)("%s, no barrier", (m) => {
    expect(outcomes(m, ["data=1; flag=1", "r0=flag; r1=data"]).includes(weak)).toBe(m === "arm");
  });
  // Arm and the LKMM also need the reader's loads ordered (an address dependency, smp_rmb()); the model never reorders loads
  test.each(MODELS)("%s, smp_wmb() between the stores: never", (m) => {
    expect(outcomes(m, ["data=1; wmb; flag=1", "r0=flag; r1=data"])).not.toContain(weak);
  });
  test.each(MODELS)("%s, flag stored with smp_store_release(): never", (m) => {
    expect(outcomes(m, ["data=1; rel flag=1", "r0=flag; r1=data"])).not.toContain(weak);
  });
  test.each(MODELS)("%s, smp_mb() on the reader's side only: seen under arm (the writer's stores pass each other)", (m) => {
    expect(outcomes(m, ["data=1; flag=1", "r0=flag; mb; r1=data"]).includes(weak)).toBe(m === "arm");
  });
  test("arm, all four outcomes without a barrier, three with one", () => {
    expect(outcomes("arm", ["data=1; flag=1", "r0=flag; r1=data"])).toEqual(["t1:r0=0 t1:r1=0", "t1:r0=0 t1:r1=1", weak, "t1:r0=1 t1:r1=1"]);
    expect(outcomes("arm", ["data=1; wmb; flag=1", "r0=flag; r1=data"])).toEqual(["t1:r0=0 t1:r1=0", "t1:r0=0 t1:r1=1", "t1:r0=1 t1:r1=1"]);
  });
});

describe("locks: spin_unlock() releases, spin_lock() acquires", () => {
  test.each(MODELS)("%s: a critical section that sees the previous one's flag sees its data", (m) => {
    const all = outcomes(m, ["lock L; data=1; flag=1; unlock L", "lock L; r0=flag; r1=data; unlock L"]);
    expect(all).toEqual(["t1:r0=0 t1:r1=0", "t1:r0=1 t1:r1=1"]);
  });
});

describe("what the model cannot show (stronger than Arm and the LKMM; docs/explore.md)", () => {
  test.each(MODELS)("%s, LB (load buffering): loads are never reordered with later stores", (m) => {
    expect(outcomes(m, ["r0=x; y=1", "r1=y; x=1"])).not.toContain("t0:r0=1 t1:r1=1");
  });
  test.each(MODELS)("%s, IRIW: every observer sees two independent stores in the same order (multi-copy atomic, loads in order)", (m) => {
    const all = outcomes(m, ["x=1", "y=1", "r0=x; r1=y", "r2=y; r3=x"]);
    expect(all).not.toContain("t2:r0=1 t2:r1=0 t3:r2=1 t3:r3=0");
    expect(all).toContain("t2:r0=1 t2:r1=0 t3:r2=0 t3:r3=0");
  });
  test.each(MODELS)("%s, WRC: a store seen by one CPU is seen by every CPU that sees what that CPU did next", (m) => {
    expect(outcomes(m, ["x=1", "r0=x; y=1", "r1=y; r2=x"])).not.toContain("t1:r0=1 t2:r1=1 t2:r2=0");
  });
  test.each(MODELS)("%s, 2+2W: coherence order follows the order the stores ran in", (m) => {
    expect(outcomes(m, ["x=1; y=2", "y=1; x=2"], ["x", "y"])).toEqual(["x=1 y=2", "x=2 y=1", "x=2 y=2"]);
  });
  test.each(MODELS)("%s, CoRR: two loads of one location never go back in coherence order (nor may they on any model)", (m) => {
    expect(outcomes(m, ["x=1", "r0=x; r1=x"])).toEqual(["t1:r0=0 t1:r1=0", "t1:r0=0 t1:r1=1", "t1:r0=1 t1:r1=1"]);
  });
});
