/**
 * Schedules as strings: the encoding, exact replay with errors that name the
 * position, and the shrunk failing schedules the explorer reports.
 */
import { describe, expect, test } from "vitest";
import { decodeSchedule, encodeSchedule, explore, replay, ToyProgram } from "../../src/engine/explore/index.js";

const MP = new ToyProgram({ memory: "arm", threads: ["data=1; flag=1", "r0=flag; r1=data"], forbid: ["t1:r0=1 t1:r1=0"] });

describe("schedule strings", () => {
  test("runs of one choice are written once with *N, options other than the first after a colon", () => {
    const ds = [0, 0, 0, 1, 2, 0, 0].map((agent, i) => ({ agent, rank: i === 4 ? 1 : 0 }));
    expect(encodeSchedule(ds)).toBe("0*3.1.2:1.0*2");
    expect(decodeSchedule("0*3.1.2:1.0*2").map(({ agent, rank }) => ({ agent, rank }))).toEqual(ds);
    expect(encodeSchedule([])).toBe("-");
    expect(decodeSchedule("-")).toEqual([]);
  });

  test("a malformed choice is an error naming its step and character", () => {
    expect(() => decodeSchedule("0*2.x.1")).toThrow(
      'schedule step 3 (character 5): "x" is not a choice (AGENT, AGENT:OPTION, or either followed by *COUNT; choices are separated by dots)',
    );
    expect(() => decodeSchedule("0*0")).toThrow("schedule step 1 (character 1)");
    expect(() => decodeSchedule("0..1")).toThrow('schedule step 2 (character 3): "" is not a choice');
  });
});

describe("replay", () => {
  test("runs the schedule exactly: the trace and the result of the execution it names", () => {
    const r = replay(MP, "0*2.2:1.1*2.2");
    expect(r.trace).toEqual([
      "t0: data=1",
      "t0: flag=1",
      "t0.sb: drain flag (store #1)",
      "t1: r0=flag (1)",
      "t1: r1=data (0)",
      "t0.sb: drain data (store #0)",
    ]);
    expect(r.result).toEqual({ outcome: "t1:r0=1 t1:r1=0", failures: [{ kind: "expect", message: "forbidden outcome t1:r0=1 t1:r1=0" }] });
    expect([r.schedule, r.preemptions]).toEqual(["0*2.2:1.1*2.2", 0]);
  });

  test("an agent that does not exist, cannot run, or lacks the option is an error at its step", () => {
    expect(() => replay(MP, "0.7")).toThrow("schedule step 2 (character 3): agent 7 does not exist (the program has 4: 0 t0, 1 t1, 2 t0.sb, 3 t1.sb)");
    expect(() => replay(MP, "0*2.3")).toThrow("schedule step 3 (character 5): agent 3 (t1.sb) cannot run here (can run: t1, t0.sb)");
    expect(() => replay(MP, "0*2.2:2")).toThrow("schedule step 3 (character 5): agent 2 (t0.sb) has 2 options here, not option 2");
  });

  test("a schedule that ends early, or goes on after the end, is an error", () => {
    expect(() => replay(MP, "0*2")).toThrow("schedule step 3 (character 4): the schedule ends after 2 steps, but t1, t0.sb can still run");
    expect(() => replay(MP, "0*2.2:1.1*2.2.0")).toThrow("schedule step 7 (character 15): the execution has ended after 6 steps");
  });

  test("every failure an exploration reports replays to the same failure", () => {
    const programs = [
      MP,
      new ToyProgram({ memory: "tso", threads: ["x=1; r0=y", "y=1; r1=x"], forbid: ["t0:r0=0 t1:r1=0"] }),
      new ToyProgram({ memory: "sc", threads: ["lock L; lock M; unlock M; unlock L", "lock M; lock L; unlock L; unlock M"] }),
    ];
    for (const p of programs) {
      const s = explore(p);
      expect(s.failures.length).toBe(1);
      for (const f of s.failures) {
        const r = replay(p, f.schedule);
        expect(r.result.failures).toContainEqual({ kind: f.kind, message: f.message });
        expect([r.schedule, r.preemptions]).toEqual([f.schedule, f.preemptions]);
      }
    }
  });
});

describe("the failing schedule reported: fewest preemptions, then fewest steps", () => {
  test("a read between two stores needs one preemption", () => {
    const s = explore(new ToyProgram({ memory: "sc", threads: ["x=1; x=0", "r0=x; fail stale if r0==1"] }));
    expect(s.failures).toEqual([{ kind: "stale", message: "t1: r0==1 at operation 1", schedule: "0.1.0", preemptions: 1, steps: 3 }]);
  });

  test("ABBA locking deadlocks after one preemption", () => {
    const s = explore(new ToyProgram({ memory: "sc", threads: ["lock L; lock M; unlock M; unlock L", "lock M; lock L; unlock L; unlock M"] }));
    expect(s.failures).toEqual([
      { kind: "deadlock", message: "nothing can run: t0 waits at lock M, t1 waits at lock L", schedule: "0.1", preemptions: 1, steps: 2 },
    ]);
  });

  test("under arm, message passing fails with no preemption at all: the store buffer drains in the background", () => {
    expect(explore(MP).failures).toEqual([
      { kind: "expect", message: "forbidden outcome t1:r0=1 t1:r1=0", schedule: "0*2.2:1.1*2.2", preemptions: 0, steps: 6 },
    ]);
  });

  // among equally short ones, the first as text: any read of x=1 with one preemption and six steps
  test("sampled failures are shrunk too", () => {
    const s = explore(new ToyProgram({ memory: "sc", threads: ["x=1; a=1; b=1; c=1; x=0", "r0=x; fail stale if r0==1"] }), {
      mode: "random",
      seedFrom: 0,
      seedTo: 99,
    });
    expect(s.failures).toEqual([{ kind: "stale", message: "t1: r0==1 at operation 1", schedule: "0*2.1.0*3", preemptions: 1, steps: 6 }]);
  });
});
