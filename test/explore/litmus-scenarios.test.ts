/**
 * The litmus tests of examples/litmus.smmu (SB, MP, and their barriered
 * forms), written as scenarios with `thread { }` blocks, explored
 * exhaustively (dpor, covered) under each memory model: the weak outcome
 * appears without the barrier, on the models that allow it, and is proven
 * absent with it. Each scenario's outcomes are the ones the toy program of
 * test/explore/litmus.test.ts gives for the same threads, so the scenarios
 * and the toy programs agree on what the model can show (docs/explore.md).
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import type { MemoryModel } from "../../src/core/weak-memory.js";
import { loadSmmu } from "../../src/engine/load.js";
import { explore, replay, ToyProgram, type Summary } from "../../src/engine/explore/index.js";
import { BlockProgram } from "../../src/engine/explore/scenario.js";
import { builtinRegistry } from "../../src/index.js";
import { cli } from "../helpers/cli.js";

/** The path the messages name (the file is read from the repository's examples/). */
const PATH = "examples/litmus.smmu";
const registry = builtinRegistry();
const file = loadSmmu(PATH, registry, readFileSync(new URL(`../../${PATH}`, import.meta.url), "utf8"));

function program(name: string, memory: MemoryModel): BlockProgram {
  const scenario = file.scenarios.find((s) => s.name === name);
  if (!scenario) throw new Error(`no scenario "${name}" in ${PATH}`);
  return new BlockProgram({ file, scenario, block: 0, memory, options: { registry } });
}

/** The block explored exhaustively under `memory`, checked to be the whole space. */
function explored(name: string, memory: MemoryModel): Summary {
  const s = explore(program(name, memory), { mode: "dpor" });
  expect(s.covered).toBe(true);
  expect(s.bounds).toEqual([]);
  return s;
}

const outcomes = (s: Summary): string[] => s.outcomes.map((o) => o.outcome);

const MODELS: MemoryModel[] = ["sc", "tso", "arm"];

/** A scenario's outcome in the toy programs' words: "cpu0=r0=0 cpu1=r1=1; expect" -> "t0:r0=0 t1:r1=1". */
function asToy(outcome: string): string {
  const [ops] = outcome.split(";");
  return [...ops!.matchAll(/cpu(\d+)=((?:r\d+=-?\d+ ?)+|done)/g)]
    .flatMap(([, cpu, regs]) => (regs === "done" ? [] : regs!.trim().split(" ").map((r) => `t${cpu}:${r}`)))
    .join(" ");
}

const SB_WEAK = "cpu0=r0=0 cpu1=r1=0";
const MP_WEAK = "cpu0=done cpu1=r0=1 r1=0";

/** Each scenario: the same threads as a toy program, and the outcome its expect forbids. */
const LITMUS: Record<string, { toy: string[]; weak: string }> = {
  SB: { toy: ["x=1; r0=y", "y=1; r1=x"], weak: SB_WEAK },
  "SB+mbs": { toy: ["x=1; mb; r0=y", "y=1; mb; r1=x"], weak: SB_WEAK },
  MP: { toy: ["data=1; flag=1", "r0=flag; r1=data"], weak: MP_WEAK },
  "MP+wmb": { toy: ["data=1; wmb; flag=1", "r0=flag; r1=data"], weak: MP_WEAK },
  "MP+release": { toy: ["data=1; rel flag=1", "r0=flag; r1=data"], weak: MP_WEAK },
};

/** The failure of the scenarios whose weak outcome some model shows. */
const MESSAGES: Record<string, string> = {
  SB: `${PATH}:17:3: expected r0 == 1 or r1 == 1, but r0=0 r1=0`,
  MP: `${PATH}:38:3: expected not (r0 == 1 and r1 == 0), but r0=1 r1=0`,
};

/** Where the weak outcome appears: SB's store buffering under tso and arm, MP's reordered stores under arm only; never with the barrier. */
const SEEN: Record<string, MemoryModel[]> = { SB: ["tso", "arm"], "SB+mbs": [], MP: ["arm"], "MP+wmb": [], "MP+release": [] };

const SB_SC = ["cpu0=r0=0 cpu1=r1=1", "cpu0=r0=1 cpu1=r1=0", "cpu0=r0=1 cpu1=r1=1"];
const MP_SC = ["cpu0=done cpu1=r0=0 r1=0", "cpu0=done cpu1=r0=0 r1=1", "cpu0=done cpu1=r0=1 r1=1"];

/** Every outcome of each scenario under each model, exactly; "; expect" marks the forbidden one. */
const OUTCOMES: Record<string, Record<MemoryModel, string[]>> = {
  SB: {
    sc: SB_SC,
    tso: ["cpu0=r0=0 cpu1=r1=0; expect", ...SB_SC],
    arm: ["cpu0=r0=0 cpu1=r1=0; expect", ...SB_SC],
  },
  "SB+mbs": { sc: SB_SC, tso: SB_SC, arm: SB_SC },
  MP: {
    sc: MP_SC,
    tso: MP_SC,
    arm: ["cpu0=done cpu1=r0=0 r1=0", "cpu0=done cpu1=r0=0 r1=1", "cpu0=done cpu1=r0=1 r1=0; expect", "cpu0=done cpu1=r0=1 r1=1"],
  },
  "MP+wmb": { sc: MP_SC, tso: MP_SC, arm: MP_SC },
  "MP+release": { sc: MP_SC, tso: MP_SC, arm: MP_SC },
};

test("the example holds these five scenarios, in this order", () => {
  expect(file.scenarios.map((s) => s.name)).toEqual(Object.keys(LITMUS));
});

describe.each(Object.keys(LITMUS))("%s", (name) => {
  const { toy, weak } = LITMUS[name]!;

  test.each(MODELS)("under %s: every outcome, exactly", (memory) => {
    expect(outcomes(explored(name, memory))).toEqual(OUTCOMES[name]![memory]);
  });

  test.each(MODELS)("under %s: the expect fails exactly where the weak outcome appears, with a schedule that replays it", (memory) => {
    const s = explored(name, memory);
    const seen = SEEN[name]!.includes(memory);
    expect(outcomes(s).includes(`${weak}; expect`)).toBe(seen);
    expect(s.failures.map((f) => [f.kind, f.message])).toEqual(seen ? [["expect", MESSAGES[name]]] : []);
    for (const f of s.failures) {
      const r = replay(program(name, memory), f.schedule).result;
      expect(r).toEqual({ outcome: `${weak}; expect`, failures: [{ kind: "expect", message: MESSAGES[name] }] });
    }
  });

  test.each(MODELS)("under %s: the same outcomes as the toy program of the same threads", (memory) => {
    const scenario = outcomes(explored(name, memory)).map(asToy);
    const s = explore(new ToyProgram({ memory, threads: toy }));
    expect(s.covered).toBe(true);
    expect([...scenario].sort()).toEqual(s.outcomes.map((o) => o.outcome).sort());
  });
});

describe("the weak outcome, step by step", () => {
  test.each([
    {
      what: "SB under tso: both stores wait in their buffers while both loads read 0",
      name: "SB",
      memory: "tso" as const,
      trace: [
        "cpu0: WRITE_ONCE: x",
        "cpu0: READ_ONCE: y",
        "cpu1: WRITE_ONCE: y",
        "cpu1: READ_ONCE: x",
        "cpu0.sb: drain var:x (store #0)",
        "cpu1.sb: drain var:y (store #0)",
      ],
    },
    {
      what: "MP under arm: the flag drains before the data, and the reader sees the one without the other",
      name: "MP",
      memory: "arm" as const,
      trace: [
        "cpu0: WRITE_ONCE: data",
        "cpu0: WRITE_ONCE: flag",
        "cpu0.sb: drain var:flag (store #1)",
        "cpu1: READ_ONCE: flag",
        "cpu1: READ_ONCE: data",
        "cpu0.sb: drain var:data (store #0)",
      ],
    },
  ])("$what", ({ name, memory, trace }) => {
    const s = explored(name, memory);
    expect(replay(program(name, memory), s.failures[0]!.schedule).trace).toEqual(trace);
  });

  test("the agents: a CPU per thread, no SMMU (the file has none), a store buffer per CPU under tso and arm", () => {
    expect(program("SB", "sc").agents).toEqual(["cpu0", "cpu1"]);
    expect(program("SB", "arm").agents).toEqual(["cpu0", "cpu1", "cpu0.sb", "cpu1.sb"]);
  });
});

describe("docs/explore.md, \"Litmus tests as scenarios\", says what these tests find", () => {
  const doc = readFileSync(new URL("../../docs/explore.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## Litmus tests as scenarios"));

  test("its example is one of the file's scenarios, as written there", () => {
    const block = /```\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    expect(readFileSync(new URL(`../../${PATH}`, import.meta.url), "utf8")).toContain(block);
  });

  test("its replay of SB under tso is the explorer's shortest schedule, and what run --schedule prints", async () => {
    const m = /^\$ smmu-emu (run \S+ --scenario SB --memory tso --schedule (\S+))\n([\s\S]*?)```/m.exec(section);
    expect(m).not.toBeNull();
    const [, command, schedule, shown] = m!;
    expect(schedule).toBe(explored("SB", "tso").failures[0]!.schedule);
    expect(await cli(...command!.split(" "))).toEqual({ status: 1, stdout: shown, stderr: "" });
  });

  test("its table: where each scenario's weak outcome is seen", () => {
    const rows = [...section.matchAll(/^\| ([\w+]+)(?: \(.+?\))? \| (never|seen) \| (never|seen) \| (never|seen) \|$/gm)];
    const table = Object.fromEntries(rows.map(([, name, ...cells]) => [name, MODELS.filter((_, i) => cells[i] === "seen")]));
    expect(table).toEqual(SEEN);
  });
});
