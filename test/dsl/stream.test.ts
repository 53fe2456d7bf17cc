/**
 * Scenarios too long to hold: compiled with `keep` below their length, a
 * scenario's statements are lowered again as a run reaches them. The
 * statements, the run and its results are those of the held scenario.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { lastLooks } from "../../src/dsl/ast.js";
import { compileSmmu } from "../../src/dsl/compile.js";
import { loadSmmuWithPlugins } from "../../src/engine/load.js";
import { runFile, type RunningStatement } from "../../src/engine/runner.js";
import { builtinRegistry } from "../../src/index.js";
import { EXAMPLE_NAMES } from "../helpers/example-runs.js";

const readFile = (p: string): string => readFileSync(p, "utf8");

describe("streamed scenarios", () => {
  test.each(EXAMPLE_NAMES.map((n) => [n]))("examples/%s: every scenario streamed gives the same statements and results", async (name) => {
    const path = `examples/${name}`;
    const registry = builtinRegistry();
    const held = await loadSmmuWithPlugins(path, registry);
    const streamed = compileSmmu(readFile(path), path, { readFile, keep: 0 });
    expect(streamed.scenarios.map((s) => s.name)).toEqual(held.scenarios.map((s) => s.name));
    for (const [i, s] of streamed.scenarios.entries()) {
      const h = held.scenarios[i]!;
      expect(h.stream).toBeUndefined();
      expect(s.stream?.count).toBe(h.body.length);
      expect(s.stream?.lastLooks).toEqual(lastLooks(h.body));
      expect([...s.stream!.statements()]).toEqual(h.body);
      /* body is made on demand, the same each time */
      expect(s.body).toEqual(h.body);
    }
    expect(runFile(streamed, { registry })).toEqual(runFile(held, { registry }));
  });

  const LOOP = `
smmu smmu0 { features: ats, range_inv; }
device dev0 { smmu: smmu0; sids: 0x100; ats: true; }
domain d1 { stage: s1; }
param N = 40;
scenario "a loop" {
  attach dev0 d1;
  expect count smmu0 CMD_SYNC 5;
  for i in 0 .. N - 1 {
    map d1 0x10000 + i * 0x1000 size 4K;
    expect dma dev0 read 0x10000 + i * 0x1000 via walk;
    unmap d1 0x10000 + i * 0x1000 size 4K;
    expect count smmu0 CMD_SYNC 2;
  }
  flush d1;
  expect no stale;
}
`;

  test("a scenario longer than `keep` streams; within it, it is held", () => {
    const streamed = compileSmmu(LOOP, "t.smmu", { keep: 100 }).scenarios[0]!;
    const held = compileSmmu(LOOP, "t.smmu", { keep: 164 }).scenarios[0]!;
    expect(held.stream).toBeUndefined();
    expect(held.body).toHaveLength(164);
    expect(streamed.stream?.count).toBe(164);
    expect(streamed.stream?.lastLooks).toEqual(new Map([["smmu0", 161]]));
    expect(Object.getOwnPropertyDescriptor(streamed, "body")?.get).toBeTypeOf("function");
    expect(streamed.body).toEqual(held.body);
  });

  test("a run of a streamed scenario: the same result, and progress counts its statements", () => {
    const registry = builtinRegistry();
    const held = compileSmmu(LOOP, "t.smmu", {});
    const streamed = compileSmmu(LOOP, "t.smmu", { keep: 10 });
    const seen: [number, number, RunningStatement][] = [];
    const result = runFile(streamed, { registry, onProgress: (_, done, total, running) => void seen.push([done, total, running]) });
    expect(result).toEqual(runFile(held, { registry }));
    expect(result[0]!.passed).toBe(true);
    expect(seen).toHaveLength(164);
    expect(seen.map(([done, total]) => [done, total])).toEqual(Array.from({ length: 164 }, (_, i) => [i, 164]));
    expect(seen[2]![2]).toEqual({ line: 10, kind: "map" });
  });
});
