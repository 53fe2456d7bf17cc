/**
 * The mainline kunit STE/CD writer tests (arm-smmu-v3-test.c), ported case
 * for case, with the harness semantics of arm_smmu_v3_test_ste_expect_transition()
 * / arm_smmu_v3_test_cd_expect_transition():
 *
 * - the writer runs on a copy of the initial entry with a sync callback
 *   (arm_smmu_test_writer_record_syncs) that counts syncs;
 * - at each sync, qword 0 == 0 marks "invalid entry written"; otherwise the
 *   current entry must equal the initial or the target entry in the bits the
 *   current entry uses (minus the update-safe bits against each);
 * - afterwards: invalid_entry_written == !hitless, num_syncs == expected, and
 *   the entry equals the target.
 *
 * Below the kunit cases: the step trace of writeEntry(), a check that the
 * harness catches a torn update, and the layout/decoders of the made entries.
 */
import { describe, expect, test } from "vitest";
import { runSteps } from "../../src/core/steps.js";
import { type Step, type Steps } from "../../src/model/step.js";
import {
  entryQwordDiff,
  getCdUsed,
  getSteUpdateSafe,
  getSteUsed,
  writeEntry,
  type EntryWriterOps,
} from "../../plugins/arm-smmu-v3/entry-writer.js";
import {
  makeAbortSte,
  makeBypassSte,
  makeCdtableSte,
  makeNestedCdTableSte,
  makeNestedDomainSte,
  makeS1Cd,
  makeS2DomainSte,
  makeSvaCd,
  type S2DomainParams,
  type SteSmmuFeatures,
} from "../../plugins/arm-smmu-v3/ste.js";
import { copyEntry, fieldPrep, formatEntry, STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_NESTED, STRTAB_STE_0_CFG_S1_TRANS, STRTAB_STE_0_S1FMT_64K_L2, STRTAB_STE_0_V, STRTAB_STE_1_MEV, STRTAB_STE_1_S1DSS, STRTAB_STE_1_S1DSS_BYPASS, STRTAB_STE_1_S1DSS_SSID0 } from "../../src/model/entries.js";
import { decodeCd, decodeSte } from "../../plugins/smmu-v3/decode.js";
import { NUM_ENTRY_QWORDS, qwordLocation, type Qwords } from "../../src/model/tables.js";
import { Exec, stepIn } from "../../src/core/exec.js";

/* ------------------------------------------------------------------------
 * The harness
 */

type Kind = "ste" | "cd";

interface WriterRun {
  numSyncs: number;
  invalidEntryWritten: boolean;
  /** Syncs at which the entry matched neither the initial nor the target entry in its used bits. */
  violations: string[];
  final: Qwords;
  steps: Step[];
}

/** arm_smmu_entry_differs_in_used_bits() */
function differsInUsedBits(entry: Qwords, used: Qwords, target: Qwords, safe: Qwords): boolean {
  let differs = false;
  for (let i = 0; i < NUM_ENTRY_QWORDS; i++) {
    const u = used[i]! & ~safe[i]!;
    if ((entry[i]! & u) !== (target[i]! & u)) differs = true;
  }
  return differs;
}

const zeros = (): Qwords => new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);

/** The test ops: test_ste_ops / test_cd_ops with arm_smmu_test_writer_record_syncs as sync. */
function testOps(kind: Kind, run: WriterRun, entry: Qwords, init: Qwords, target: Qwords): EntryWriterOps {
  const getUsed = kind === "ste" ? getSteUsed : getCdUsed;
  const getUpdateSafe = kind === "ste" ? getSteUpdateSafe : undefined;
  const ops: EntryWriterOps = {
    getUsed,
    // arm_smmu_test_writer_record_syncs()
    *sync(): Steps {
      run.numSyncs += 1;
      if (entry[0] === 0n) {
        run.invalidEntryWritten = true;
        return;
      }
      /*
       * At any stage of a hitless transition the entry must equal the initial
       * or the target entry in the bits its current configuration uses.
       */
      const used = zeros();
      const safeInit = zeros();
      const safeTarget = zeros();
      getUsed(entry, used);
      if (getUpdateSafe) getUpdateSafe(entry, init, safeInit);
      if (getUpdateSafe) getUpdateSafe(entry, target, safeTarget);
      if (differsInUsedBits(entry, used, init, safeInit) && differsInUsedBits(entry, used, target, safeTarget)) {
        run.violations.push(`sync ${run.numSyncs}: ${formatEntry(entry)}`);
      }
    },
  };
  if (getUpdateSafe) ops.getUpdateSafe = getUpdateSafe;
  return ops;
}

/** Run `writer` (writeEntry by default) from `cur` to `target` under the kunit harness. */
function runWriter(
  kind: Kind,
  cur: Qwords,
  target: Qwords,
  writer: (ops: EntryWriterOps, entry: Qwords, target: Qwords) => Steps = writeEntry,
): WriterRun {
  const entry = copyEntry(cur);
  const run: WriterRun = { numSyncs: 0, invalidEntryWritten: false, violations: [], final: entry, steps: [] };
  const ops = testOps(kind, run, entry, copyEntry(cur), copyEntry(target));
  const warnings: string[] = [];
  ops.warn = (fn, cond) => warnings.push(`${fn}: ${cond}`);
  const path = writer(ops, entry, copyEntry(target));
  for (let r = path.next(); !r.done; r = path.next()) run.steps.push(r.value);
  /* The make functions never set a bit their used function does not report */
  expect(warnings).toEqual([]);
  return run;
}

// arm_smmu_v3_test_ste_expect_transition() / arm_smmu_v3_test_cd_expect_transition()
function expectTransition(kind: Kind, cur: Qwords, target: Qwords, numSyncsExpected: number, hitless: boolean): void {
  const run = runWriter(kind, cur, target);
  expect(run.invalidEntryWritten).toBe(!hitless);
  expect(run.violations).toEqual([]);
  expect(run.numSyncs).toBe(numSyncsExpected);
  expect(formatEntry(run.final)).toBe(formatEntry(target));
}

const steHitless = (cur: Qwords, target: Qwords, n: number) => expectTransition("ste", cur, target, n, true);
const steNonHitless = (cur: Qwords, target: Qwords, n: number) => expectTransition("ste", cur, target, n, false);
const cdHitless = (cur: Qwords, target: Qwords, n: number) => expectTransition("cd", cur, target, n, true);
const cdNonHitless = (cur: Qwords, target: Qwords, n: number) => expectTransition("cd", cur, target, n, false);

/* ------------------------------------------------------------------------
 * The kunit fixtures
 */

/* static struct arm_smmu_device smmu = { .features = ARM_SMMU_FEAT_STALLS | ARM_SMMU_FEAT_ATTR_TYPES_OVR } */
const smmu: SteSmmuFeatures = { e2h: false, attrTypesOvr: true, stalls: true };

/* enum arm_smmu_test_master_feat */
const TEST_ATS = 1 << 0;
const TEST_STALL = 1 << 1;
const TEST_NESTED = 1 << 2;

const fakeCdtabDmaAddr = 0xf0f0f0f0f0f0n;

/* arm_smmu_v3_test_suite_init() */
const bypassSte = makeBypassSte(smmu);
const abortSte = makeAbortSte();

/* The io_pgtable of arm_smmu_test_make_s2_ste(); s2_cfg.vmid is left 0 */
const testS2Domain: S2DomainParams = {
  vmid: 0,
  vttbr: 0xdaedbeefdeadbeefn,
  vtcr: { ps: 1, tg: 2, sh: 3, orgn: 1, irgn: 2, sl: 3, tsz: 4 },
  s2fwb: false,
};

// arm_smmu_test_make_s2_ste()
function testMakeS2Ste(feat: number): Qwords {
  return makeS2DomainSte(testS2Domain, smmu, (feat & TEST_STALL) !== 0, (feat & TEST_ATS) !== 0);
}

// arm_smmu_test_make_cdtable_ste()
function testMakeCdtableSte(s1dss: bigint, dmaAddr: bigint, feat: number): Qwords {
  const atsEnabled = (feat & TEST_ATS) !== 0;
  const stallEnabled = (feat & TEST_STALL) !== 0;
  const ste = makeCdtableSte(
    { cdtabDma: dmaAddr, s1cdmax: 0xff, s1fmt: STRTAB_STE_0_S1FMT_64K_L2, stallEnabled },
    smmu,
    atsEnabled,
    s1dss,
  );
  if (feat & TEST_NESTED) {
    const s2ste = testMakeS2Ste(feat & ~TEST_NESTED);
    ste[0] = ste[0]! | fieldPrep(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_NESTED);
    ste[1] = ste[1]! | STRTAB_STE_1_MEV.mask;
    for (let i = 2; i < NUM_ENTRY_QWORDS; i++) ste[i] = s2ste[i]!;
  }
  return ste;
}

// arm_smmu_test_make_s1_cd()
function testMakeS1Cd(asid: number): Qwords {
  return makeS1Cd(
    {
      asid,
      ttbr: 0xdaedbeefdeadbeefn,
      tcr: { ips: 1, tg: 2, sh: 3, orgn: 1, irgn: 2, tsz: 4 },
      mair: 0xabcdef012345678n,
    },
    false,
  );
}

/* sva_mm.pgd = 0xdaedbeefdeadbeef; the kernel passes virt_to_phys() of it, any non-zero TTB0 will do */
const svaPgdPhys = 0xdaedbeefdeadbeefn;
/* A representative mair_el1 (the kernel reads the CPU register) */
const cpuMair = 0x000000040044ffffn;

// arm_smmu_test_make_sva_cd()
function testMakeSvaCd(asid: number): Qwords {
  return makeSvaCd({ asid, ttb0: svaPgdPhys, mair: cpuMair });
}

// arm_smmu_test_make_sva_release_cd()
function testMakeSvaReleaseCd(asid: number): Qwords {
  return makeSvaCd({ asid, ttb0: null, mair: cpuMair });
}

/* ------------------------------------------------------------------------
 * The kunit cases (arm_smmu_v3_test_cases[], in order)
 */

describe("arm-smmu-v3-kunit-test: STE writer", () => {
  test("arm_smmu_v3_write_ste_test_bypass_to_abort", () => {
    /* qword 0 makes it an abort, then qword 1 is cleaned up */
    steHitless(bypassSte, abortSte, 2);
  });

  test("arm_smmu_v3_write_ste_test_abort_to_bypass", () => {
    /* qword 1 first, then qword 0 switches to bypass */
    steHitless(abortSte, bypassSte, 2);
  });

  test("arm_smmu_v3_write_ste_test_cdtable_to_abort", () => {
    const ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    steHitless(ste, abortSte, 2);
  });

  test("arm_smmu_v3_write_ste_test_abort_to_cdtable", () => {
    const ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    steHitless(abortSte, ste, 2);
  });

  test("arm_smmu_v3_write_ste_test_cdtable_to_bypass", () => {
    const ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    steHitless(ste, bypassSte, 3);
  });

  test("arm_smmu_v3_write_ste_test_bypass_to_cdtable", () => {
    const ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    steHitless(bypassSte, ste, 3);
  });

  test("arm_smmu_v3_write_ste_test_cdtable_s1dss_change", () => {
    const ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    const s1dssBypass = testMakeCdtableSte(STRTAB_STE_1_S1DSS_BYPASS, fakeCdtabDmaAddr, TEST_ATS);
    /* Only qword 1 changes: a single write */
    steHitless(ste, s1dssBypass, 1);
    steHitless(s1dssBypass, ste, 1);
  });

  test("arm_smmu_v3_write_ste_test_s1dssbypass_to_stebypass", () => {
    const s1dssBypass = testMakeCdtableSte(STRTAB_STE_1_S1DSS_BYPASS, fakeCdtabDmaAddr, TEST_ATS);
    steHitless(s1dssBypass, bypassSte, 2);
  });

  test("arm_smmu_v3_write_ste_test_stebypass_to_s1dssbypass", () => {
    const s1dssBypass = testMakeCdtableSte(STRTAB_STE_1_S1DSS_BYPASS, fakeCdtabDmaAddr, TEST_ATS);
    steHitless(bypassSte, s1dssBypass, 2);
  });

  test("arm_smmu_v3_write_ste_test_s2_to_abort", () => {
    steHitless(testMakeS2Ste(TEST_ATS), abortSte, 2);
  });

  test("arm_smmu_v3_write_ste_test_abort_to_s2", () => {
    steHitless(abortSte, testMakeS2Ste(TEST_ATS), 2);
  });

  test("arm_smmu_v3_write_ste_test_s2_to_bypass", () => {
    steHitless(testMakeS2Ste(TEST_ATS), bypassSte, 2);
  });

  test("arm_smmu_v3_write_ste_test_bypass_to_s2", () => {
    steHitless(bypassSte, testMakeS2Ste(TEST_ATS), 2);
  });

  test("arm_smmu_v3_write_ste_test_s1_to_s2", () => {
    const s1Ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    const s2Ste = testMakeS2Ste(TEST_ATS);
    steHitless(s1Ste, s2Ste, 3);
  });

  test("arm_smmu_v3_write_ste_test_s2_to_s1", () => {
    const s1Ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    const s2Ste = testMakeS2Ste(TEST_ATS);
    steHitless(s2Ste, s1Ste, 3);
  });

  test("arm_smmu_v3_write_ste_test_non_hitless", () => {
    /* Changing the CD table pointer and S1DSS together forces a V=0 update */
    const ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    const ste2 = testMakeCdtableSte(STRTAB_STE_1_S1DSS_BYPASS, 0x4b4b4b4b4bn, TEST_ATS);
    steNonHitless(ste, ste2, 3);
  });
});

describe("arm-smmu-v3-kunit-test: CD writer", () => {
  test("arm_smmu_v3_write_cd_test_s1_clear", () => {
    const cd = copyEntry([]);
    const cd2 = testMakeS1Cd(1997);
    cdNonHitless(cd, cd2, 2);
    cdNonHitless(cd2, cd, 2);
  });

  test("arm_smmu_v3_write_cd_test_s1_change_asid", () => {
    const cd = testMakeS1Cd(778);
    const cd2 = testMakeS1Cd(1997);
    cdHitless(cd, cd2, 1);
    cdHitless(cd2, cd, 1);
  });
});

describe("arm-smmu-v3-kunit-test: STE writer, stall and nested", () => {
  test("arm_smmu_v3_write_ste_test_s1_to_s2_stall", () => {
    const s1Ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_STALL);
    const s2Ste = testMakeS2Ste(TEST_STALL);
    steHitless(s1Ste, s2Ste, 3);
  });

  test("arm_smmu_v3_write_ste_test_s2_to_s1_stall", () => {
    const s1Ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_STALL);
    const s2Ste = testMakeS2Ste(TEST_STALL);
    steHitless(s2Ste, s1Ste, 3);
  });

  test("arm_smmu_v3_write_ste_test_nested_s1dssbypass_to_s1bypass", () => {
    const s1Ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_BYPASS, fakeCdtabDmaAddr, TEST_ATS | TEST_NESTED);
    const s2Ste = testMakeS2Ste(0);
    /* One more sync to clear the now ignored EATS and MEV */
    steHitless(s1Ste, s2Ste, 3);
  });

  test("arm_smmu_v3_write_ste_test_nested_s1bypass_to_s1dssbypass", () => {
    const s1Ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_BYPASS, fakeCdtabDmaAddr, TEST_ATS | TEST_NESTED);
    const s2Ste = testMakeS2Ste(0);
    steHitless(s2Ste, s1Ste, 2);
  });
});

describe("arm-smmu-v3-kunit-test: SVA CD writer", () => {
  test("arm_smmu_v3_write_cd_test_sva_clear", () => {
    const cd = copyEntry([]);
    const cd2 = testMakeSvaCd(1997);
    cdNonHitless(cd, cd2, 2);
    cdNonHitless(cd2, cd, 2);
  });

  test("arm_smmu_v3_write_cd_test_sva_release", () => {
    const cd = testMakeSvaCd(1997);
    const cd2 = testMakeSvaReleaseCd(1997);
    cdHitless(cd, cd2, 2);
    cdHitless(cd2, cd, 2);
  });
});

/* ------------------------------------------------------------------------
 * Beyond kunit
 */

describe("writeEntry() steps", () => {
  test("bypass to abort: dma_wmb, then one write step per changed qword, syncs after each entry_set", () => {
    const trace: string[] = [];
    const entry = copyEntry(bypassSte);
    const ops: EntryWriterOps = {
      getUsed: getSteUsed,
      getUpdateSafe: getSteUpdateSafe,
      *sync(): Steps {
        trace.push("sync");
      },
    };
    const path = writeEntry(ops, entry, abortSte);
    for (let r = path.next(); !r.done; r = path.next()) trace.push(`${r.value.fn}: ${r.value.access}`);
    /* qword 0 (CFG bypass -> abort) is the critical qword; qword 1 (SHCFG) is cleared afterwards */
    expect(trace).toEqual([
      "arm_smmu_write_entry: dma_wmb()",
      "entry_set: WRITE_ONCE(entry[0])",
      "sync",
      "entry_set: WRITE_ONCE(entry[1])",
      "sync",
    ]);
    expect(entry).toEqual(abortSte);
  });

  test("non-hitless: V=0 first, then qwords 1..7, then qword 0", () => {
    const ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    const ste2 = testMakeCdtableSte(STRTAB_STE_1_S1DSS_BYPASS, 0x4b4b4b4b4bn, TEST_ATS);
    const run = runWriter("ste", ste, ste2);
    expect(run.steps.map((s) => s.access)).toEqual([
      "dma_wmb()",
      "WRITE_ONCE(entry[0])",
      "WRITE_ONCE(entry[1])",
      "WRITE_ONCE(entry[0])",
    ]);
  });

  test("an identical target writes nothing and syncs nothing", () => {
    const s2 = testMakeS2Ste(TEST_ATS);
    const run = runWriter("ste", s2, s2);
    expect(run.numSyncs).toBe(0);
    expect(run.steps.map((s) => s.access)).toEqual(["dma_wmb()"]);
  });

  test("entryQwordDiff: s1 -> s2 needs qwords 0, 1 and 2 (the s2 STE in a disruptive update)", () => {
    const s1Ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    const s2Ste = testMakeS2Ste(TEST_ATS);
    const ops: EntryWriterOps = { getUsed: getSteUsed, getUpdateSafe: getSteUpdateSafe, *sync() {} };
    const unused = copyEntry([]);
    /* Only qword 0 (CFG) needs a used-bit change once qwords 1..3 are pre-filled */
    expect(entryQwordDiff(ops, s1Ste, s2Ste, unused)).toBe(0b1);
    /* The S1DSS + CD pointer change touches used bits of qwords 0 and 1 */
    const ste2 = testMakeCdtableSte(STRTAB_STE_1_S1DSS_BYPASS, 0x4b4b4b4b4bn, TEST_ATS);
    expect(entryQwordDiff(ops, s1Ste, ste2, unused)).toBe(0b11);
  });

  test("runSteps drives writeEntry to completion", () => {
    const entry = copyEntry(abortSte);
    let syncs = 0;
    runSteps(
      writeEntry(
        {
          getUsed: getSteUsed,
          *sync() {
            syncs++;
          },
        },
        entry,
        bypassSte,
      ),
    );
    expect(syncs).toBe(2);
    expect(entry).toEqual(bypassSte);
  });
});

describe("used bits", () => {
  const usedOf = (ste: Qwords): string => {
    const used = copyEntry([]);
    getSteUsed(ste, used);
    return formatEntry(used);
  };

  test("abort, bypass, CD-table and S2 STEs", () => {
    expect(usedOf(abortSte)).toBe(formatEntry([0xfn]));
    expect(usedOf(bypassSte)).toBe(formatEntry([0xfn, 0x300000000000n]));
    /* S1: V CFG S1FMT S1CTXPTR S1CDMAX; S1DSS S1CIR S1COR S1CSH MEV S1STALLD EATS STRW; S2VMID */
    const cdtable = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    expect(usedOf(cdtable)).toBe(formatEntry([0xf80fffffffffffffn, 0xf80800ffn, 0xffffn]));
    /* S1DSS bypass also uses SHCFG */
    const s1dssBypass = testMakeCdtableSte(STRTAB_STE_1_S1DSS_BYPASS, fakeCdtabDmaAddr, TEST_ATS);
    expect(usedOf(s1dssBypass)).toBe(formatEntry([0xf80fffffffffffffn, 0x3000f80800ffn, 0xffffn]));
    /* S2: S2FWB EATS SHCFG MEV; S2VMID VTCR S2AA64 S2ENDI S2PTW S2S S2R; S2TTB */
    expect(usedOf(testMakeS2Ste(0))).toBe(
      formatEntry([0xfn, 0x300032080000n, 0x065fffff0000ffffn, 0x000ffffffffffff0n]),
    );
    /* Not valid: only V */
    expect(usedOf(copyEntry([0xen, 0xffn]))).toBe(formatEntry([0x1n]));
  });

  test("a target with a bit its used function does not report fires the WARN_ON_ONCE", () => {
    const warnings: string[] = [];
    const ops: EntryWriterOps = {
      getUsed: getSteUsed,
      getUpdateSafe: getSteUpdateSafe,
      *sync() {},
      warn: (fn, cond) => warnings.push(`${fn}: ${cond}`),
    };
    /* An abort STE does not use SHCFG */
    const badAbort = copyEntry([0x1n, 0x100000000000n]);
    entryQwordDiff(ops, bypassSte, badAbort, copyEntry([]));
    expect(warnings).toEqual(["arm_smmu_entry_qword_diff: WARN_ON_ONCE(target[i] & ~target_used[i])"]);
  });
});

describe("the harness detects torn updates", () => {
  /* A writer that ignores the used bits: qword by qword, in order, syncing after each */
  function* naiveWriter(ops: EntryWriterOps, entry: Qwords, target: Qwords): Steps {
    for (let i = 0; i < NUM_ENTRY_QWORDS; i++) {
      if (entry[i] !== target[i]) {
        entry[i] = target[i]!;
        yield* ops.sync();
      }
    }
  }

  test("s1 -> s2 written naively passes through an STE that is neither", () => {
    const s1Ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    const s2Ste = testMakeS2Ste(TEST_ATS);
    const run = runWriter("ste", s1Ste, s2Ste, naiveWriter);
    /* After qword 0 the entry is an S2 STE with the S1 STE's qwords 2 and 3 */
    expect(run.violations.length).toBeGreaterThan(0);
    expect(run.violations[0]).toMatch(/^sync 1: /);
  });

  test("the same transition through writeEntry has no violation", () => {
    const s1Ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    const s2Ste = testMakeS2Ste(TEST_ATS);
    expect(runWriter("ste", s1Ste, s2Ste).violations).toEqual([]);
  });
});

describe("made entries: layout and decoding", () => {
  test("abort and bypass STEs", () => {
    expect(formatEntry(abortSte)).toBe(formatEntry([0x1n]));
    /* V | CFG 0b100; SHCFG incoming (bits 45:44 = 1) with ATTR_TYPES_OVR */
    expect(formatEntry(bypassSte)).toBe(formatEntry([0x9n, 0x100000000000n]));
    expect(makeBypassSte({ e2h: false, attrTypesOvr: false, stalls: false })).toEqual(copyEntry([0x9n]));
    expect(decodeSte(abortSte)).toMatchObject({ valid: true, cfg: "abort" });
    expect(decodeSte(bypassSte)).toMatchObject({ valid: true, cfg: "bypass", shcfg: 1 });
  });

  test("the kunit CD-table STE", () => {
    const ste = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    /*
     * q0: S1CDMAX 0xff keeps 5 bits (31 << 59), S1CTXPTR 0xf0f0f0f0f0c0,
     *     S1FMT 2 << 4, CFG 5 << 1, V
     * q1: STRW NSEL1, EATS trans (1 << 28), S1STALLD (1 << 27: STALLS and no stall),
     *     S1CSH ISH (3 << 6), S1COR/S1CIR WBRA (1 << 4 | 1 << 2), S1DSS SSID0 (2)
     */
    expect(formatEntry(ste)).toBe(formatEntry([0xf800f0f0f0f0f0ebn, 0x180000d6n]));
    expect(decodeSte(ste)).toMatchObject({
      valid: true,
      cfg: "s1",
      s1ctxptr: 0xf0f0f0f0f0c0n,
      s1cdmax: 31,
      s1fmt: "64k_l2",
      s1dss: "ssid0",
      eats: "trans",
      strw: "nsel1",
      s1stalld: true,
      s2vmid: 0,
    });
    const e2h = makeCdtableSte(
      { cdtabDma: fakeCdtabDmaAddr, s1cdmax: 8, s1fmt: 0n, stallEnabled: true },
      { e2h: true, attrTypesOvr: true, stalls: true },
      false,
      STRTAB_STE_1_S1DSS_BYPASS,
    );
    expect(decodeSte(e2h)).toMatchObject({ strw: "el2", s1dss: "bypass", shcfg: 1, s1stalld: false, eats: "abt" });
  });

  test("the kunit S2 STE", () => {
    const ste = testMakeS2Ste(TEST_ATS | TEST_STALL);
    /*
     * q2: S2R | S2S | S2PTW | S2AA64 | VTCR (ps 1, tg 2, sh 3, or 1, ir 2, sl 3, tsz 4
     *     = 0x1b6c4) << 32; q3: vttbr bits 51:4
     */
    expect(formatEntry(ste)).toBe(
      formatEntry([0xdn, 0x100010000000n, 0x0649b6c4n << 32n, 0x000dbeefdeadbee0n]),
    );
    expect(decodeSte(ste)).toMatchObject({
      cfg: "s2",
      eats: "trans",
      s2vmid: 0,
      vtcr: { t0sz: 4, sl0: 3, ir0: 2, or0: 1, sh0: 3, tg: 2, ps: 1 },
      s2aa64: true,
      s2ptw: true,
      s2s: true,
      s2r: true,
      s2ttb: 0x000dbeefdeadbee0n,
    });
  });

  test("the nested STEs from a guest vSTE", () => {
    const s2: S2DomainParams = { ...testS2Domain, vmid: 7 };
    const vSte0 =
      STRTAB_STE_0_V.mask |
      fieldPrep(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_S1_TRANS) |
      0x12340000n;
    const vSte1 = fieldPrep(STRTAB_STE_1_S1DSS, STRTAB_STE_1_S1DSS_SSID0);
    const nested = makeNestedDomainSte({ s2Parent: s2, ste: [vSte0, vSte1] }, smmu, false, true);
    expect(nested).toEqual(makeNestedCdTableSte({ s2Parent: s2, ste: [vSte0, vSte1] }, smmu, false, true));
    expect(decodeSte(nested)).toMatchObject({
      valid: true,
      cfg: "nested",
      s1ctxptr: 0x12340000n,
      s1dss: "ssid0",
      mev: true,
      eats: "trans",
      s2vmid: 7,
      s2ttb: 0x000dbeefdeadbee0n,
    });
    /* A guest bypass vSTE installs the plain S2 STE; a non-valid one an abort STE */
    const bypassV = STRTAB_STE_0_V.mask | fieldPrep(STRTAB_STE_0_CFG, 4n);
    expect(makeNestedDomainSte({ s2Parent: s2, ste: [bypassV, 0n] }, smmu, false, false)).toEqual(
      makeS2DomainSte(s2, smmu, false, false),
    );
    expect(makeNestedDomainSte({ s2Parent: s2, ste: [0n, 0n] }, smmu, false, true)).toEqual(abortSte);
    /* Every bit a nested STE sets is one the hardware uses */
    const used = copyEntry([]);
    getSteUsed(nested, used);
    for (let i = 0; i < NUM_ENTRY_QWORDS; i++) expect(nested[i]! & ~used[i]!).toBe(0n);
  });

  test("S1 and SVA CDs", () => {
    const cd = decodeCd(testMakeS1Cd(1997));
    expect(cd).toMatchObject({
      valid: true,
      asid: 1997,
      t0sz: 4,
      tg0: 2,
      irgn0: 2,
      orgn0: 1,
      sh0: 3,
      ips: 1,
      epd0: false,
      epd1: true,
      aa64: true,
      r: true,
      a: true,
      aset: true,
      s: false,
      ttb0: 0x000dbeefdeadbee0n,
      mair: 0xabcdef012345678n,
    });
    const sva = decodeCd(testMakeSvaCd(5));
    expect(sva).toMatchObject({ valid: true, asid: 5, epd0: false, t0sz: 16, tg0: 0, irgn0: 1, orgn0: 1, sh0: 3, r: true });
    const released = testMakeSvaReleaseCd(5);
    expect(decodeCd(released)).toMatchObject({ valid: true, asid: 5, epd0: true, ttb0: 0n, t0sz: 0, s: false, r: false });
    /* With STALL_FORCE the released CD keeps R (and S when the master stalls) */
    expect(
      decodeCd(makeSvaCd({ asid: 5, ttb0: null, stallEnabled: true, stallForce: true })),
    ).toMatchObject({ epd0: true, s: true, r: true });
    /* EPD0 hides TTB0 and the TCR0 fields from the used bits */
    const used = copyEntry([]);
    getCdUsed(released, used);
    expect(used[1]).toBe(0xfff000000000000fn);
    expect(used[0]! & 0x7fffn).toBe(0x4000n);
  });
});

/*
 * The dma_wmb() at the top of writeEntry() under the explorer's arm memory
 * model: a hitless update whose first entry_set() writes nothing (here
 * cdtable_s1dss_change, qword 1 alone) stores its critical qword with no
 * CMD_SYNC after the CPU's earlier stores, so only that barrier keeps the
 * SMMU, an observer reading through WeakMemory.load() as smmu-v3's STE/CD
 * fetch and table walk do, from seeing the new entry beside the old value of
 * something stored before it ("pointee", standing for memory the entry
 * points at). The race examples reach no such update after such a store
 * (docs/explore.md), so this is where the barrier is shown to matter.
 */
describe("writeEntry()'s dma_wmb() under --memory arm", () => {
  function afterWrite(noDmaWmb: boolean) {
    const e = new Exec("arm", ["cpu0"]);
    const entry = copyEntry(testMakeCdtableSte(STRTAB_STE_1_S1DSS_BYPASS, fakeCdtabDmaAddr, TEST_ATS));
    const target = testMakeCdtableSte(STRTAB_STE_1_S1DSS_SSID0, fakeCdtabDmaAddr, TEST_ATS);
    const steps: string[] = [];
    const ops: EntryWriterOps = {
      getUsed: getSteUsed,
      getUpdateSafe: getSteUpdateSafe,
      *sync(): Steps {
        steps.push("sync");
      },
      noDmaWmb,
    };
    stepIn(e, "cpu0", () => e.store("pointee", 0, 1));
    const path = writeEntry(ops, entry, target);
    for (let r = stepIn(e, "cpu0", () => path.next()).value; !r.done; r = stepIn(e, "cpu0", () => path.next()).value) steps.push(r.value.access);
    /* what the SMMU reads now: qword 1 of the STE, and the pointee */
    const seen = () => stepIn(e, "smmu0", () => [e.load(qwordLocation(e, entry, 1), entry[1]), e.load("pointee", 1)]).value;
    return { e, entry, before: testMakeCdtableSte(STRTAB_STE_1_S1DSS_BYPASS, fakeCdtabDmaAddr, TEST_ATS)[1], target, steps, seen };
  }

  test("with it, the critical qword drains only after the earlier store: the SMMU never sees the new entry beside the old pointee", () => {
    const { e, entry, before, target, steps, seen } = afterWrite(false);
    expect(steps).toEqual(["dma_wmb()", "WRITE_ONCE(entry[1])", "sync"]);
    expect(entry).toEqual(target);
    expect(before).not.toBe(target[1]);
    expect(seen()).toEqual([before, 0]);
    expect(e.wm.drainable("cpu0")).toEqual([0]);
    e.wm.drain("cpu0", 0);
    expect(seen()).toEqual([before, 1]);
    e.wm.drain("cpu0", 1);
    expect(seen()).toEqual([target[1], 1]);
  });

  test("without it (no-dma-wmb), the critical qword may drain first: the SMMU sees the new entry and the old pointee", () => {
    const { e, before, target, steps, seen } = afterWrite(true);
    expect(steps).toEqual(["WRITE_ONCE(entry[1])", "sync"]);
    expect(seen()).toEqual([before, 0]);
    expect(e.wm.drainable("cpu0")).toEqual([0, 1]);
    e.wm.drain("cpu0", 1);
    expect(seen()).toEqual([target[1], 0]);
  });
});
