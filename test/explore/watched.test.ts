/**
 * explore --timeout's record of where a search is (engine/explore/watched.ts):
 * a watched program's executions leave in the shared memory exactly the
 * schedule string and preemptions that replay() gives for the same steps,
 * with the phase and the unit; the pool's watchdog reads them there.
 */
import { describe, expect, test } from "vitest";
import { encodeSchedule, replay, ToyProgram } from "../../src/engine/explore/index.js";
import { Run } from "../../src/engine/explore/run.js";
import { SearchWatch, watchedProgram } from "../../src/engine/explore/watched.js";

const MP = new ToyProgram({ memory: "arm", threads: ["data=1; flag=1", "r0=flag; r1=data"], forbid: ["t1:r0=1 t1:r1=0"] });
const LOCKS = new ToyProgram({ memory: "sc", threads: ["lock L; lock M; unlock M; unlock L", "lock M; lock L; unlock L; unlock M"] });

/** `run` to its end, taking a fixed pseudo-random choice at each step: agents, options and preemptions in turn. */
function drive(run: Run, seed: number): Run {
  for (let x = seed; run.choices.length > 0; ) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    run.take(x % run.choices.length);
  }
  return run;
}

describe("a watched program", () => {
  test.each([
    [MP, 1],
    [MP, 2],
    [MP, 3],
    [LOCKS, 1],
    [LOCKS, 5],
  ])("records the schedule and preemptions of the run that drives it: %#", (program, seed) => {
    const watch = new SearchWatch();
    const run = drive(new Run(watchedProgram(program, watch)), seed);
    const place = watch.read();
    expect(encodeSchedule(place.decisions!)).toBe(encodeSchedule(run.decisions));
    expect(place.preemptions).toBe(run.preemptions);
    expect(place.phase).toBe("searching");
    expect(watch.beats()).toBe(2 + 2 * run.steps);
    expect(replay(program, encodeSchedule(run.decisions)).preemptions).toBe(run.preemptions);
  });

  test("the runs above preempt", () => {
    expect([1, 2, 3].map((seed) => drive(new Run(MP), seed).preemptions).some((p) => p > 0)).toBe(true);
  });

  test("a new job (the next block's search) forgets where the last one was", () => {
    const watch = new SearchWatch();
    watch.unit(3, 7);
    replay(watchedProgram(MP, watch), "0*2.1*2.2*2");
    watch.calls.call({ plugin: "p", event: "e" });
    const beats = watch.beats();
    watch.job();
    expect(watch.read()).toEqual({ phase: "loading", unit: -1, units: -1, decisions: [], preemptions: 0 });
    expect(watch.beats()).toBe(beats + 1);
  });

  test("a new execution starts its record afresh; the unit and units are kept", () => {
    const watch = new SearchWatch();
    expect([watch.beats(), watch.read().unit]).toEqual([0, -1]);
    watch.unit(3, 7);
    const program = watchedProgram(MP, watch);
    replay(program, "0*2.1*2.2*2");
    program.start();
    expect(watch.read()).toEqual({ phase: "searching", unit: 3, units: 7, decisions: [], preemptions: 0 });
  });
});
