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

describe("a map over an address already mapped", () => {
  /* arm_lpae_init_pte(): "We require an unmap first": WARN_ON(!(quirks & IO_PGTABLE_QUIRK_NO_WARN)), return -EEXIST */
  test("WARNs and fails with -EEXIST: both expected, it passes (either nesting)", () => {
    expect(run(`  map d1 0x10000 size 0x2000;
  expect error -EEXIST { expect warn "arm_lpae_init_pte" { map d1 0x11000 size 0x1000; } }
  expect warn "IO_PGTABLE_QUIRK_NO_WARN" { expect error -EEXIST { map d1 0x10000 size 0x4000; } }`)).toEqual([]);
  });

  test("the -EEXIST alone expected: the WARN fails the map's line", () => {
    expect(run(`  map d1 0x10000 size 0x2000;
  expect error -EEXIST {
    map d1 0x11000 size 0x1000;
  }`)).toEqual(["7:5: unexpected WARN in arm_lpae_init_pte(): WARN_ON(!(data->iop.cfg.quirks & IO_PGTABLE_QUIRK_NO_WARN))"]);
  });

  test("the WARN alone expected: the -EEXIST fails it, at the map", () => {
    expect(run(`  map d1 0x10000 size 0x2000;
  expect warn "arm_lpae_init_pte" { map d1 0x11000 size 0x1000; }`)).toEqual([
      "6:37: map d1 0x11000 size 0x1000: map: 0x11000 is already mapped (leaf 0x11000 size 0x1000): -EEXIST",
    ]);
  });
});

describe("expect warn", () => {
  const ARRAYS = `  array a { S1_ASID 1; }
  array b { S1_ASID 2; }
`;

  test("a WARN nobody expects fails its statement, and the scenario goes on", () => {
    /* arm_smmu_invs_unref(): an entry of to_unref that invs does not hold */
    expect(run(`${ARRAYS}  unref a b;
  expect array a { S1_ASID 2; }`)).toEqual([
      "7:3: unexpected WARN in arm_smmu_invs_unref(): WARN_ON(true): to_unref entry not found",
      "8:3: array a differs",
    ]);
  });

  test("matched by the function's name or by part of the condition", () => {
    expect(run(`${ARRAYS}  expect warn "arm_smmu_invs_unref" { unref a b; }
  expect warn "to_unref entry not found" { unref a b; }`)).toEqual([]);
  });

  test("a text that matches neither: the WARN is unexpected and the expectation fails", () => {
    expect(run(`${ARRAYS}  expect warn "arm_smmu_invs_merge" {
    unref a b;
  }`)).toEqual([
      "8:5: unexpected WARN in arm_smmu_invs_unref(): WARN_ON(true): to_unref entry not found",
      `7:3: expected a WARN matching "arm_smmu_invs_merge", but none fired`,
    ]);
  });

  test("a block that fires none fails", () => {
    expect(run(`  expect warn "arm_smmu_invs_unref" { attach gpu0 d1; }`)).toEqual([
      `5:3: expected a WARN matching "arm_smmu_invs_unref", but none fired`,
    ]);
  });

  test("an outer block expects what an inner one does not", () => {
    expect(run(`${ARRAYS}  expect warn "unref" { expect warn "arm_smmu_invs_unref" { unref a b; } unref a b; }`)).toEqual([]);
  });

  test("an empty text is an error at the string", () => {
    const registry = builtinRegistry();
    expect(() => loadSmmu("t.smmu", registry, `${TOPOLOGY}scenario "s" {\n  expect warn "" { attach gpu0 d1; }\n}\n`)).toThrow(
      `t.smmu:5:15: error: expect warn needs the WARN's function or part of its condition, not an empty string`,
    );
  });
});

describe("driver messages that are no WARN", () => {
  test("a CMD_SYNC timeout (dev_err()) is listed among the warnings, and fails nothing", () => {
    const registry = builtinRegistry();
    const text = `${TOPOLOGY}scenario "s" {
  attach gpu0 d1;
  map d1 0x10000 size 0x1000;
  expect dma gpu0 read 0x10000 via walk;
  fault gpu0 atc_no_response;
  unmap d1 0x10000 size 0x1000;
}
`;
    const [r] = runFile(loadSmmu("t.smmu", registry, text), { registry });
    expect(r!.failures).toEqual([]);
    expect(r!.warnings).toEqual(["dev_err: arm_smmu_cmdq_issue_cmdlist: smmu0: CMD_SYNC timeout"]);
  });
});

describe("a partial unmap of a block", () => {
  /* __arm_lpae_unmap(): WARN_ONCE(true, "Unmap of a partial large IOPTE is not allowed"), 0 bytes unmapped */
  test("WARNs once: unexpected, it fails the unmap; expected by its message, it passes, and the block stays", () => {
    expect(run(`  attach gpu0 d1;
  map d1 0x200000 size 2M;
  unmap d1 0x200000 size 4K;`)).toEqual([`7:3: unexpected WARN in __arm_lpae_unmap(): WARN_ONCE(true, "Unmap of a partial large IOPTE is not allowed")`]);
    expect(run(`  attach gpu0 d1;
  map d1 0x200000 size 2M;
  expect warn "Unmap of a partial large IOPTE is not allowed" { unmap d1 0x200000 size 4K; }
  unmap d1 0x201000 size 4K;
  expect dma gpu0 read 0x201000 ok;`)).toEqual([]);
  });
});
