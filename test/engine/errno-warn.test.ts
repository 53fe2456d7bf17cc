/**
 * What a statement's failure is matched against: the errno io-pgtable and
 * the driver return (iommu_map() of a misaligned range is -EINVAL, of an
 * address already mapped -EEXIST), and the driver's WARN_ON()s, which fail
 * the scenario at the statement that fired them unless an `expect warn`
 * block around it expects them.
 */
import { describe, expect, test } from "vitest";
import { loadSmmu } from "../../src/engine/load.js";
import { runFile } from "../../src/engine/runner.js";
import { builtinRegistry } from "../../src/index.js";

const TOPOLOGY = `smmu smmu0 { features: ats, range_inv; }
device gpu0 { smmu: smmu0; sids: 0x100; ats: true; }
domain d1 { stage: s1; }
`;

/** Each scenario's failures as "line:column: message". */
function run(body: string): string[] {
  const registry = builtinRegistry();
  const [r] = runFile(loadSmmu("t.smmu", registry, `${TOPOLOGY}scenario "s" {\n${body}\n}\n`), { registry });
  return r!.failures.map((f) => `${f.span.line}:${f.span.column}: ${f.message}`);
}

describe("errno of a map", () => {
  test("a misaligned map is -EINVAL, which expect error -EINVAL matches", () => {
    expect(run(`  expect error -EINVAL { map d1 0x1800 size 0x1000; }`)).toEqual([]);
  });

  test("unexpected, it fails at its line with the errno", () => {
    expect(run(`  map d1 0x1800 size 0x1000;`)).toEqual([
      "5:3: map d1 0x1800 size 0x1000: map: 0x1800 size 0x1000 is not aligned to the 0x1000 granule: -EINVAL",
    ]);
  });

  test("expect error with another errno names the one that came", () => {
    expect(run(`  expect error -ENOMEM { map d1 0x1800 size 0x1000; }`)).toEqual([
      "5:3: expected -ENOMEM, but: map d1 0x1800 size 0x1000: map: 0x1800 size 0x1000 is not aligned to the 0x1000 granule: -EINVAL",
    ]);
  });
});
