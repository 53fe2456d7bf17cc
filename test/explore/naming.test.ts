/**
 * How the explorer names the objects the models share without naming them
 * (core/exec.ts born(), nameOf()): where each is made, so that a name means
 * the same object in every interleaving. Named where first touched, one name
 * stood for two arrays in two branches, and DPOR's sleep sets, which compare
 * names across branches, ran each class of the purged-array block twice once
 * the space was split deeper than 2.
 */
import { describe, expect, test } from "vitest";
import { Exec, stepIn } from "../../src/core/exec.js";
import { explore } from "../../src/engine/explore/index.js";
import { BlockProgram } from "../../src/engine/explore/scenario.js";
import { loadSmmu } from "../../src/engine/load.js";
import { builtinRegistry } from "../../src/index.js";
import { born, bornIn, namedBy } from "../../src/model/step.js";

describe("names", () => {
  test("made outside steps: in order; made in a step: after its agent; a part after its parent; never registered: where first touched", () => {
    const e = new Exec("sc", ["cpu0", "cpu1"]);
    const [a, b, c, d, table, ste, loose] = [{}, {}, {}, {}, {}, {}, {}];
    namedBy(e, () => {
      born(a, "invs");
      born(table, "strtab");
    });
    stepIn(e, "cpu1", () => {
      born(b, "invs");
      born(c, "invs");
      bornIn(ste, table, "0x40");
    });
    stepIn(e, "cpu0", () => born(d, "invs"));
    expect([a, b, c, d].map((o) => e.nameOf(o, "invs"))).toEqual(["invs#0", "invs#cpu1.0", "invs#cpu1.1", "invs#cpu0.0"]);
    expect(e.nameOf(ste, "entry")).toBe("strtab#0[0x40]");
    expect(e.nameOf(loose, "lock")).toBe("lock?0");
    /* the first name sticks: an array is also its rwlock */
    expect(e.nameOf(a, "lock")).toBe("invs#0");
  });

  test("a straight run names nothing: born() without an explorer is a no-op", () => {
    const o = {};
    expect(born(o, "invs")).toBe(o);
    const e = new Exec("sc", ["cpu0"]);
    expect(e.nameOf(o, "invs")).toBe("invs?0");
  });
});

describe("the split does not change the search", () => {
  const registry = builtinRegistry();
  const file = loadSmmu("examples/race-attach-unmap.smmu", registry);
  const scenario = file.scenarios.find((s) => s.name === "unmap races a device leaving a purged array")!;
  const program = new BlockProgram({ file, scenario, block: 0, memory: "sc", options: { registry, driver: { plugin: "driver-invs", variant: "v9" } } });

  test("v9's purged-array block: 147 schedules and the same outcomes unsplit, split 2 and 8 deep", () => {
    const runs = [0, 2, 8].map((splitDepth) => explore(program, { splitDepth }));
    expect(runs.map((s) => [s.schedules, s.covered])).toEqual([
      [147, true],
      [147, true],
      [147, true],
    ]);
    expect(runs.map((s) => s.outcomes)).toEqual([0, 1, 2].map(() => runs[0]!.outcomes));
    expect(runs[0]!.outcomes).toEqual([
      { outcome: "cpu0=done cpu1=0", count: 74 },
      { outcome: "cpu0=done cpu1=0; unfenced-ats", count: 73 },
    ]);
  });
});
