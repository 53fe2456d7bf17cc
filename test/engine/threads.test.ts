/**
 * Litmus threads under `run`: each memory operation is a step, a seed picks
 * one interleaving of the threads, and every access takes effect at once, so
 * the outcomes are sequential consistency's and no other. Shared variables
 * start at 0 and keep their values across blocks; registers belong to the
 * scenario, and `expect` conditions read them.
 */
import { describe, expect, test } from "vitest";
import { loadSmmu } from "../../src/engine/load.js";
import { runFile, type ScenarioResult } from "../../src/engine/runner.js";
import { builtinRegistry } from "../../src/index.js";

const registry = builtinRegistry();

function run(text: string, seed = 0): ScenarioResult[] {
  return runFile(loadSmmu("t.smmu", registry, text), { registry, seed });
}

/** Each failure as "line:col: message". */
const failures = (r: ScenarioResult): string[] => r.failures.map((f) => `${f.span.line}:${f.span.column}: ${f.message}`);

/** SB's threads, then an expect that only both stores before both loads satisfies: its failure names what the loads saw. */
const SB_SEEN = `scenario "SB" {
  concurrently {
    thread { WRITE_ONCE(x, 1); r0 = READ_ONCE(y); }
    thread { WRITE_ONCE(y, 1); r1 = READ_ONCE(x); }
  }
  expect r0 == 1 and r1 == 1;
}
`;

describe("run: one interleaving per seed, sequentially consistent", () => {
  test("64 seeds give the three outcomes of SB's interleavings, and never both loads 0", () => {
    const seen = new Map<string, number>();
    for (let seed = 0; seed < 64; seed++) {
      const [r] = run(SB_SEEN, seed);
      const f = failures(r!);
      const outcome = f.length === 0 ? "r0=1 r1=1" : f[0]!.replace("6:3: expected r0 == 1 and r1 == 1, but ", "");
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(["r0=0 r1=1", "r0=1 r1=0", "r0=1 r1=1"]);
  });

  test("the same seed, the same interleaving", () => {
    const once = [0, 1, 2, 3, 4, 5, 6, 7].map((seed) => failures(run(SB_SEEN, seed)[0]!));
    const again = [0, 1, 2, 3, 4, 5, 6, 7].map((seed) => failures(run(SB_SEEN, seed)[0]!));
    expect(again).toEqual(once);
  });

  test("a barrier steps like any access, and changes nothing under sc", () => {
    const text = SB_SEEN.replace(/WRITE_ONCE\((\w), 1\);/g, "WRITE_ONCE($1, 1); smp_mb(); smp_wmb(); smp_rmb();").replace("expect r0 == 1 and r1 == 1;", "expect r0 == 1 or r1 == 1;");
    for (let seed = 0; seed < 16; seed++) expect(failures(run(text, seed)[0]!)).toEqual([]);
  });
});

describe("shared variables and registers", () => {
  test("variables start at 0 and keep what was stored, block after block; a thread's last load of a register stands", () => {
    const [r] = run(`scenario "s" {
  concurrently {
    thread { r0 = READ_ONCE(x); smp_store_release(x, 5); WRITE_ONCE(y, -7); }
  }
  concurrently {
    thread { r1 = smp_load_acquire(x); r2 = READ_ONCE(y); r2 = READ_ONCE(z); }
  }
  expect r0 == 0 and r1 == 5 and r2 == 0;
  expect r1 != 5;
}
`);
    expect(failures(r!)).toEqual(["9:3: expected r1 != 5, but r1=5"]);
  });

  test("variables and registers are the scenario's: the next scenario starts again from 0", () => {
    const text = `scenario "a" {
  concurrently { thread { WRITE_ONCE(x, 1); } }
}
scenario "b" {
  concurrently { thread { r0 = READ_ONCE(x); } }
  expect r0 == 0;
}
`;
    expect(run(text).map((r) => [r.name, r.passed])).toEqual([
      ["a", true],
      ["b", true],
    ]);
  });

  test("a register whose thread never ran holds nothing: the expect says so", () => {
    const [r] = run(`smmu smmu0 { }
device gpu0 { smmu: smmu0; sids: 1; }
domain d1 { stage: s1; }
scenario "s" {
  expect error -ENOMEM {
    fail alloc invs;
    attach gpu0 d1;
    concurrently { thread { r0 = READ_ONCE(x); } }
  }
  expect r0 == 0;
}
`);
    expect(failures(r!)).toEqual(["10:3: r0 holds nothing: the thread that loads into it did not run"]);
  });

  test("a thread beside a driver operation, each on its own CPU", () => {
    const [r] = run(`smmu smmu0 { }
device gpu0 { smmu: smmu0; sids: 1; }
domain d1 { stage: s1; }
scenario "s" {
  concurrently {
    attach gpu0 d1;
    thread { WRITE_ONCE(x, 1); r0 = READ_ONCE(x); }
  }
  expect r0 == 1;
  expect dma gpu0 read 0 fault F_TRANSLATION;
}
`);
    expect(failures(r!)).toEqual([]);
  });
});
