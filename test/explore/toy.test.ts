/**
 * The toy programs the explorer is tested on: their syntax, and what an
 * execution offers, reports and waits for.
 */
import { describe, expect, test } from "vitest";
import { parseThread, ToyProgram } from "../../src/engine/explore/index.js";

describe("toy syntax", () => {
  test("every operation", () => {
    expect(parseThread("x=1; rel y=2; r0=x; wmb; mb; lock L; unlock L; add z 1; r1=add z -1; add.acquire z 1; fail stale if r0==1; goto 0 if r1==0")).toEqual([
      { op: "store", loc: "x", value: 1, release: false },
      { op: "store", loc: "y", value: 2, release: true },
      { op: "load", reg: "r0", loc: "x" },
      { op: "wmb" },
      { op: "mb" },
      { op: "lock", loc: "L" },
      { op: "unlock", loc: "L" },
      { op: "add", loc: "z", value: 1, order: "relaxed", reg: undefined },
      { op: "add", loc: "z", value: -1, order: "full", reg: "r1" },
      { op: "add", loc: "z", value: 1, order: "acquire", reg: undefined },
      { op: "fail", kind: "stale", reg: "r0", eq: 1 },
      { op: "goto", to: 0, reg: "r1", eq: 0 },
    ]);
  });

  test("errors name the thread and the operation", () => {
    expect(() => parseThread("x=1; y+=2", 1)).toThrow('toy thread 1, operation 1: cannot read "y+=2"');
    expect(() => parseThread("add.weird x 1")).toThrow('toy thread 0, operation 0: unknown order "weird" (relaxed, acquire, release, full)');
    expect(() => parseThread("r1=5")).toThrow("toy thread 0, operation 0: r1 is a register, not a location");
    expect(() => parseThread("goto 7 if r0==0")).toThrow("toy thread 0, operation 0: goto 7 is past the end");
  });
});

describe("toy executions", () => {
  test("agents: threads, then under tso and arm their store buffers, in the background", () => {
    expect([new ToyProgram({ memory: "sc", threads: ["x=1", "r0=x"] }).agents, new ToyProgram({ memory: "sc", threads: ["x=1"] }).background]).toEqual([
      ["t0", "t1"],
      [],
    ]);
    const arm = new ToyProgram({ memory: "arm", threads: ["x=1", "r0=x"] });
    expect([arm.agents, arm.background]).toEqual([["t0", "t1", "t0.sb", "t1.sb"], [2, 3]]);
  });

  test("a step reports its accesses; a drain is offered once stored, its option the store's number", () => {
    const e = new ToyProgram({ memory: "tso", threads: ["x=1; y=1", "r0=y"] }).start();
    expect(e.choices()).toEqual([{ agent: 0, option: 0 }, { agent: 1, option: 0 }]);
    expect(e.step({ agent: 0, option: 0 })).toEqual({
      label: "x=1",
      accesses: [
        { location: "x", kind: "read" },
        { location: "x'", kind: "write" },
        { location: "t0#0", kind: "write" },
      ],
    });
    e.step({ agent: 0, option: 0 });
    expect(e.choices()).toEqual([{ agent: 1, option: 0 }, { agent: 2, option: 0 }]);
    e.step({ agent: 2, option: 0 });
    expect(e.choices()).toEqual([{ agent: 1, option: 0 }, { agent: 2, option: 1 }]);
  });

  test("a waiting thread is not offered, and says what its step will touch", () => {
    const e = new ToyProgram({ memory: "arm", threads: ["lock L; x=1", "lock L", "x=2"] }).start();
    e.step({ agent: 0, option: 0 });
    e.step({ agent: 0, option: 0 });
    expect(e.choices()).toEqual([{ agent: 3, option: 0 }]);
    expect(e.waiting()).toEqual([
      { agent: 1, option: 0, accesses: [{ location: "L", kind: "rmw" }, { location: "L'", kind: "write" }] },
      { agent: 2, option: 0, accesses: [{ location: "x", kind: "read" }, { location: "x'", kind: "write" }] },
    ]);
  });

  test("the outcome lists registers per thread and the observed locations; forbidden outcomes and fail operations are failures", () => {
    const p = new ToyProgram({ memory: "sc", threads: ["x=1; r0=x; fail seen if r0==1", "r1=y"], observe: ["x"], forbid: ["t0:r0=1 t1:r1=0 x=1"] });
    const e = p.start();
    while (e.choices().length > 0) e.step(e.choices()[0]!);
    expect([e.finished(), e.result()]).toEqual([
      true,
      {
        outcome: "t0:r0=1 t1:r1=0 x=1",
        failures: [
          { kind: "seen", message: "t0: r0==1 at operation 2" },
          { kind: "expect", message: "forbidden outcome t0:r0=1 t1:r1=0 x=1" },
        ],
      },
    ]);
  });
});
