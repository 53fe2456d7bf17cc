/**
 * The weak-memory model on its own: what each observer reads while stores
 * are pending, the drain orders each model allows, barriers, release
 * stores, waiting for coherence, and the accesses it reports.
 */
import { describe, expect, test } from "vitest";
import { WeakMemory, type MemoryModel } from "../../src/core/weak-memory.js";
import { type AccessKind } from "../../src/model/step.js";

/** A model over two CPUs, with the memory in place and the accesses it reports. */
function setup(model: MemoryModel) {
  const mem = new Map<string, number>();
  const log: string[] = [];
  const wm = new WeakMemory(model, ["cpu0", "cpu1"], (loc: string, kind: AccessKind) => log.push(`${kind} ${loc}`));
  const store = (cpu: string, loc: string, v: number, release = false): void => {
    const old = mem.get(loc) ?? 0;
    if (release) wm.storeRelease(cpu, loc, old, v);
    else wm.store(cpu, loc, old, v);
    mem.set(loc, v);
  };
  const load = (who: string, loc: string): number => wm.load(who, loc, mem.get(loc) ?? 0);
  return { wm, mem, log, store, load };
}

describe("weak memory: visibility", () => {
  test("sc: a store is visible to everyone at once, and nothing is pending", () => {
    const { wm, store, load, log } = setup("sc");
    store("cpu0", "x", 1);
    expect([load("cpu1", "x"), load("smmu0", "x"), wm.pending("cpu0"), wm.drainable("cpu0")]).toEqual([1, 1, 0, []]);
    expect(log).toEqual(["write x", "read x", "read x"]);
  });

  test("tso: the storing CPU reads its store back, others the old value until it drains", () => {
    const { wm, store, load } = setup("tso");
    store("cpu0", "x", 1);
    store("cpu0", "x", 2);
    expect([load("cpu0", "x"), load("cpu1", "x"), load("smmu0", "x")]).toEqual([2, 0, 0]);
    expect(wm.drainable("cpu0")).toEqual([0]);
    expect(wm.drain("cpu0", 0)).toBe("drain x (store #0)");
    expect([load("cpu1", "x"), load("smmu0", "x")]).toEqual([1, 1]);
    wm.drain("cpu0", 1);
    expect([load("cpu1", "x"), wm.pending("cpu0")]).toEqual([2, 0]);
  });

  test("tso drains in program order; arm lets stores to different locations pass each other, not to the same one", () => {
    const tso = setup("tso");
    const arm = setup("arm");
    for (const m of [tso, arm]) {
      m.store("cpu0", "x", 1);
      m.store("cpu0", "y", 1);
      m.store("cpu0", "x", 2);
    }
    expect(tso.wm.drainable("cpu0")).toEqual([0]);
    expect(arm.wm.drainable("cpu0")).toEqual([0, 1]);
    expect(() => tso.wm.drain("cpu0", 1)).toThrow("weak memory: cpu0's store #1 cannot drain now (drainable: 0)");
    arm.wm.drain("cpu0", 1);
    expect([arm.load("cpu1", "y"), arm.load("cpu1", "x")]).toEqual([1, 0]);
    expect(arm.wm.drainable("cpu0")).toEqual([0]);
  });
});

describe("weak memory: barriers and release", () => {
  test("arm: after smp_wmb() a store drains only after every store before it", () => {
    const { wm, store } = setup("arm");
    store("cpu0", "a", 1);
    store("cpu0", "b", 1);
    wm.wmb("cpu0");
    store("cpu0", "c", 1);
    expect(wm.drainable("cpu0")).toEqual([0, 1]);
    wm.drain("cpu0", 1);
    expect(wm.drainable("cpu0")).toEqual([0]);
    wm.drain("cpu0", 0);
    expect(wm.drainable("cpu0")).toEqual([2]);
  });

  test("arm: a release store waits for every earlier store; a later store may pass it", () => {
    const { wm, store } = setup("arm");
    store("cpu0", "data", 1);
    store("cpu0", "ptr", 1, true);
    store("cpu0", "other", 1);
    expect(wm.drainable("cpu0")).toEqual([0, 2]);
    wm.drain("cpu0", 0);
    expect(wm.drainable("cpu0")).toEqual([1, 2]);
  });

  test("smp_mb() waits for the CPU's own buffer only", () => {
    const { wm, store } = setup("tso");
    store("cpu0", "x", 1);
    expect([wm.mbReady("cpu0"), wm.mbReady("cpu1")]).toEqual([false, true]);
    wm.drain("cpu0", 0);
    expect(wm.mbReady("cpu0")).toBe(true);
  });
});

describe("weak memory: coherence", () => {
  test("a CPU waits to store where another CPU has stores pending; its own pending stores do not stop it", () => {
    const { wm, store } = setup("arm");
    store("cpu0", "x", 1);
    expect([wm.storeReady("cpu1", "x"), wm.storeReady("cpu0", "x"), wm.storeReady("cpu1", "y")]).toEqual([false, true, true]);
    expect(wm.writeReady("x")).toBe(false);
    wm.drain("cpu0", 0);
    expect([wm.storeReady("cpu1", "x"), wm.writeReady("x")]).toEqual([true, true]);
  });

  test("rmw readiness follows its order: relaxed and acquire wait for stores to the location, full and release for the whole buffer", () => {
    const arm = setup("arm");
    arm.store("cpu0", "y", 1);
    expect(["relaxed", "acquire", "release", "full"].map((o) => arm.wm.rmwReady("cpu0", "x", o as never))).toEqual([true, true, false, false]);
    expect(arm.wm.rmwReady("cpu0", "y", "relaxed")).toBe(false);
    expect(arm.wm.rmwReady("cpu1", "y", "relaxed")).toBe(false);
    const tso = setup("tso");
    tso.store("cpu0", "y", 1);
    expect(tso.wm.rmwReady("cpu0", "x", "relaxed")).toBe(false);
  });

  test("a caller that does not wait gets the drains forced into its step, and counted", () => {
    const { wm, store, load } = setup("arm");
    store("cpu0", "a", 1);
    wm.wmb("cpu0");
    store("cpu0", "x", 1);
    store("cpu1", "x", 2);
    expect(wm.forced).toBe(2);
    expect([load("smmu0", "a"), load("smmu0", "x"), wm.pending("cpu0"), wm.pending("cpu1")]).toEqual([1, 1, 0, 1]);
  });
});

describe("weak memory: the accesses it reports", () => {
  test("arm: a buffered store reads x and writes x' and its slot; its drain writes x and the slot and reads the slots it waited for", () => {
    const { wm, store, log } = setup("arm");
    store("cpu0", "a", 1);
    wm.wmb("cpu0");
    store("cpu0", "x", 1);
    wm.drain("cpu0", 0);
    wm.drain("cpu0", 1);
    expect(log).toEqual([
      "read a", "write a'", "write cpu0#0",
      "read x", "write x'", "write cpu0#1",
      "write a", "write cpu0#0",
      "write x", "write cpu0#1", "read cpu0#0",
    ]);
  });

  test("smp_mb() reads the slots of every store since the last one; an rmw writes x and x'", () => {
    const { wm, store, log } = setup("tso");
    store("cpu0", "x", 1);
    wm.drain("cpu0", 0);
    log.length = 0;
    wm.mb("cpu0");
    wm.rmw("cpu0", "y", "full");
    wm.mb("cpu0");
    expect(log).toEqual(["read cpu0#0", "write y'", "rmw y"]);
  });

  test("what a waiting step reports: the location it waits on, and x' where it would write", () => {
    expect(new WeakMemory("arm", ["cpu0"]).waitAccesses("store", "x")).toEqual([
      { location: "x", kind: "read" },
      { location: "x'", kind: "write" },
    ]);
    expect(new WeakMemory("tso", ["cpu0"]).waitAccesses("rmw", "L")).toEqual([
      { location: "L", kind: "rmw" },
      { location: "L'", kind: "write" },
    ]);
    expect(new WeakMemory("sc", ["cpu0"]).waitAccesses("rmw", "L")).toEqual([{ location: "L", kind: "rmw" }]);
    expect(new WeakMemory("arm", ["cpu0"]).waitAccesses("mb")).toEqual([]);
  });

  test("a name that is not a CPU is an error naming the CPUs", () => {
    expect(() => new WeakMemory("tso", ["cpu0"]).store("smmu0", "x", 0, 1)).toThrow('weak memory: "smmu0" is not a CPU (cpus: cpu0)');
  });
});
