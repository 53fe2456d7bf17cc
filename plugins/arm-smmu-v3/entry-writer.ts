/**
 * The driver's STE/CD update algorithm (arm-smmu-v3.c, mainline): which bits
 * of an entry the hardware uses, which bits may change in any order, and
 * arm_smmu_write_entry(), which moves a live entry to a target in up to three
 * synced steps so the SMMU never sees a torn configuration.
 *
 * writeEntry() is a stepped path: it yields before the dma_wmb() that orders
 * earlier memory writes (CD tables, page tables) before the entry's, and
 * before every WRITE_ONCE() of a qword that changes. `entry` is the live entry
 * in emulated memory and is written in place.
 */
import { CTXDESC_CD_0_TCR_EPD0, exec, NO_STEPS, qwordLocation, wmb, CTXDESC_CD_0_TCR_IRGN0, CTXDESC_CD_0_TCR_ORGN0, CTXDESC_CD_0_TCR_SH0, CTXDESC_CD_0_TCR_T0SZ, CTXDESC_CD_0_TCR_TG0, CTXDESC_CD_0_V, CTXDESC_CD_1_TTB0_MASK, fieldGet, fieldPrep, NUM_ENTRY_QWORDS, type Qwords, site, type Step, type Steps, STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_BYPASS, STRTAB_STE_0_S1CDMAX, STRTAB_STE_0_S1CTXPTR_MASK, STRTAB_STE_0_S1FMT, STRTAB_STE_0_V, STRTAB_STE_1_EATS, STRTAB_STE_1_EATS_S1CHK, STRTAB_STE_1_EATS_TRANS, STRTAB_STE_1_MEV, STRTAB_STE_1_S1CIR, STRTAB_STE_1_S1COR, STRTAB_STE_1_S1CSH, STRTAB_STE_1_S1DSS, STRTAB_STE_1_S1DSS_BYPASS, STRTAB_STE_1_S1STALLD, STRTAB_STE_1_S2FWB, STRTAB_STE_1_SHCFG, STRTAB_STE_1_STRW, STRTAB_STE_2_S2AA64, STRTAB_STE_2_S2ENDI, STRTAB_STE_2_S2PTW, STRTAB_STE_2_S2R, STRTAB_STE_2_S2S, STRTAB_STE_2_S2VMID, STRTAB_STE_2_VTCR, STRTAB_STE_3_S2TTB_MASK, U64_MASK } from "../../src/index.js";

/** struct arm_smmu_entry_writer_ops, with the writer folded into the closure of sync(). */
export interface EntryWriterOps {
  /** ops->get_used(): OR into `used` the bits the hardware reads for entry `ent`. */
  getUsed(ent: readonly bigint[], used: Qwords): void;
  /** ops->get_update_safe(): OR into `safe` the used bits that may change in any order. */
  getUpdateSafe?(cur: readonly bigint[], target: readonly bigint[], safe: Qwords): void;
  /** ops->sync(): make the hardware re-read the entry (CFGI_STE/CFGI_CD + CMD_SYNC). */
  sync(): Steps<unknown>;
  /** A WARN_ON_ONCE() that fired in `fn` (emulator hook; the kernel only prints). */
  warn?(fn: string, cond: string): void;
  /** Leave out the dma_wmb() (a deliberately broken driver, for the explorer's tests). */
  noDmaWmb?: boolean;
}

function zeros(): Qwords {
  return new Array<bigint>(NUM_ENTRY_QWORDS).fill(0n);
}

/** hweight8() */
function hweight(x: number): number {
  let n = 0;
  for (; x !== 0; x &= x - 1) n++;
  return n;
}

/* The used bits of each case of arm_smmu_get_ste_used(), ORed once here: a BigInt OR allocates */
const STE_S1_USED_0 = STRTAB_STE_0_S1FMT.mask | STRTAB_STE_0_S1CTXPTR_MASK.mask | STRTAB_STE_0_S1CDMAX.mask;
const STE_S1_USED_1 =
  STRTAB_STE_1_S1DSS.mask |
  STRTAB_STE_1_S1CIR.mask |
  STRTAB_STE_1_S1COR.mask |
  STRTAB_STE_1_S1CSH.mask |
  STRTAB_STE_1_S1STALLD.mask |
  STRTAB_STE_1_STRW.mask |
  STRTAB_STE_1_EATS.mask |
  STRTAB_STE_1_MEV.mask;
const STE_S2_USED_1 = STRTAB_STE_1_S2FWB.mask | STRTAB_STE_1_EATS.mask | STRTAB_STE_1_SHCFG.mask | STRTAB_STE_1_MEV.mask;
const STE_S2_USED_2 =
  STRTAB_STE_2_S2VMID.mask |
  STRTAB_STE_2_VTCR.mask |
  STRTAB_STE_2_S2AA64.mask |
  STRTAB_STE_2_S2ENDI.mask |
  STRTAB_STE_2_S2PTW.mask |
  STRTAB_STE_2_S2S.mask |
  STRTAB_STE_2_S2R.mask;

// arm_smmu_get_ste_used()
export function getSteUsed(ent: readonly bigint[], used: Qwords): void {
  const e0 = ent[0] ?? 0n;
  const e1 = ent[1] ?? 0n;
  const cfg = fieldGet(e0, STRTAB_STE_0_CFG);

  used[0] = STRTAB_STE_0_V.mask;
  if ((e0 & STRTAB_STE_0_V.mask) === 0n) return;

  used[0] |= STRTAB_STE_0_CFG.mask;

  /* S1 translates */
  if ((cfg & 1n) !== 0n) {
    used[0] |= STE_S1_USED_0;
    used[1] = used[1]! | STE_S1_USED_1;
    used[2] = used[2]! | STRTAB_STE_2_S2VMID.mask;

    /* IHI0070 13.5: SHCFG applies when S1DSS bypasses stage 1 */
    if (fieldGet(e1, STRTAB_STE_1_S1DSS) === STRTAB_STE_1_S1DSS_BYPASS) {
      used[1] = used[1]! | STRTAB_STE_1_SHCFG.mask;
    }
  }

  /* S2 translates */
  if ((cfg & 2n) !== 0n) {
    used[1] = used[1]! | STE_S2_USED_1;
    used[2] = used[2]! | STE_S2_USED_2;
    used[3] = used[3]! | STRTAB_STE_3_S2TTB_MASK.mask;
  }

  if (cfg === STRTAB_STE_0_CFG_BYPASS) used[1] = used[1]! | STRTAB_STE_1_SHCFG.mask;
}

const EATS_S1CHK = fieldPrep(STRTAB_STE_1_EATS, STRTAB_STE_1_EATS_S1CHK);
const EATS_TRANS = fieldPrep(STRTAB_STE_1_EATS, STRTAB_STE_1_EATS_TRANS);

// arm_smmu_get_ste_update_safe()
export function getSteUpdateSafe(cur: readonly bigint[], target: readonly bigint[], safe: Qwords): void {
  /*
   * EATS_TRANS may flip in any order: the attach sequence has ATS disabled at
   * the device whenever it changes. Not when S1CHK is involved (0b11 would be
   * an errant value) or when S2S is set on either side (S2S=1 with EATS=1 is
   * an illegal STE).
   */
  if (
    (((cur[1] ?? 0n) | (target[1] ?? 0n)) & EATS_S1CHK) === 0n &&
    (((cur[2] ?? 0n) | (target[2] ?? 0n)) & STRTAB_STE_2_S2S.mask) === 0n
  ) {
    safe[1] = safe[1]! | EATS_TRANS;
  }

  /* MEV only changes how many fault records are coalesced */
  safe[1] = safe[1]! | STRTAB_STE_1_MEV.mask;
}

const CD_EPD0_IGNORED_0 =
  CTXDESC_CD_0_TCR_T0SZ.mask |
  CTXDESC_CD_0_TCR_TG0.mask |
  CTXDESC_CD_0_TCR_IRGN0.mask |
  CTXDESC_CD_0_TCR_ORGN0.mask |
  CTXDESC_CD_0_TCR_SH0.mask;

// arm_smmu_get_cd_used()
export function getCdUsed(ent: readonly bigint[], used: Qwords): void {
  const e0 = ent[0] ?? 0n;
  used[0] = CTXDESC_CD_0_V.mask;
  if ((e0 & CTXDESC_CD_0_V.mask) === 0n) return;
  for (let i = 0; i < NUM_ENTRY_QWORDS; i++) used[i] = U64_MASK;

  /* With EPD0 set, T0SZ/TG0/IR0/OR0/SH0/TTB0 are IGNORED */
  if ((e0 & CTXDESC_CD_0_TCR_EPD0.mask) !== 0n) {
    used[0] = used[0]! & ~CD_EPD0_IGNORED_0 & U64_MASK;
    used[1] = used[1]! & ~CTXDESC_CD_1_TTB0_MASK.mask & U64_MASK;
  }
}

/* entryQwordDiff()'s working arrays, zeroed at each call: it runs to completion (no step), so one set serves every call */
const targetUsed = zeros();
const curUsed = zeros();
const safe = zeros();

// arm_smmu_entry_qword_diff()
export function entryQwordDiff(
  ops: EntryWriterOps,
  entry: readonly bigint[],
  target: readonly bigint[],
  unusedUpdate: Qwords,
): number {
  targetUsed.fill(0n);
  curUsed.fill(0n);
  safe.fill(0n);
  let usedQwordDiff = 0;

  ops.getUsed(entry, curUsed);
  ops.getUsed(target, targetUsed);
  if (ops.getUpdateSafe) ops.getUpdateSafe(entry, target, safe);

  for (let i = 0; i < NUM_ENTRY_QWORDS; i++) {
    const e = entry[i] ?? 0n;
    const t = target[i] ?? 0n;
    if (e === t) {
      /*
       * The formulas below with e == t, without their BigInt allocations:
       * unused_update is t, and it differs in a used bit exactly when t
       * sets a bit target_used does not (the WARN's condition)
       */
      unusedUpdate[i] = t;
      if (t !== 0n && (t & targetUsed[i]!) !== t) {
        ops.warn?.("arm_smmu_entry_qword_diff", "WARN_ON_ONCE(target[i] & ~target_used[i])");
        usedQwordDiff |= 1 << i;
      }
      continue;
    }
    /* Safe only counts for bits both entries use; otherwise the unused side orders them */
    const s = safe[i]! & targetUsed[i]! & curUsed[i]!;

    /* The make functions may not set a bit the used function does not report */
    if ((t & ~targetUsed[i]!) !== 0n) {
      ops.warn?.("arm_smmu_entry_qword_diff", "WARN_ON_ONCE(target[i] & ~target_used[i])");
    }

    /* Bits can change because they are not currently being used */
    const cu = curUsed[i]! & ~s & U64_MASK;
    unusedUpdate[i] = (e & cu) | (t & ~cu & U64_MASK);
    /* A used bit of this qword still differs after unused_update is applied */
    if ((unusedUpdate[i]! & targetUsed[i]!) !== t) usedQwordDiff |= 1 << i;
  }
  return usedQwordDiff;
}

const S_DMA_WMB: Step = site("arm_smmu_write_entry", "dma_wmb()");
const S_WRITE: readonly Step[] = Array.from({ length: NUM_ENTRY_QWORDS }, (_, i) =>
  site("entry_set", `WRITE_ONCE(entry[${i}])`),
);

// entry_set()
function entrySet(ops: EntryWriterOps, entry: Qwords, target: readonly bigint[], start: number, len: number): Steps {
  /* Nothing to write takes no step and issues no sync: no generator for it */
  for (let i = start, n = len; n !== 0; n--, i++) {
    if (entry[i] !== (target[i] ?? 0n)) return entrySetSteps(ops, entry, target, start, len);
  }
  return NO_STEPS;
}

/** entry_set() with a qword to write. */
function* entrySetSteps(ops: EntryWriterOps, entry: Qwords, target: readonly bigint[], start: number, len: number): Steps {
  let changed = false;
  const e = exec();
  for (let i = start; len !== 0; len--, i++) {
    const t = target[i] ?? 0n;
    if (entry[i] !== t) {
      if (e) {
        /* WRITE_ONCE(): under an explorer, a store the SMMU may not see yet */
        const at = qwordLocation(e, entry, i);
        yield e.storeStep(S_WRITE[i]!, at);
        e.store(at, entry[i], t);
      } else {
        yield S_WRITE[i]!;
      }
      entry[i] = t;
      changed = true;
    }
  }
  if (changed) yield* ops.sync();
}

// arm_smmu_write_entry()
export function* writeEntry(ops: EntryWriterOps, entry: Qwords, target: readonly bigint[]): Steps {
  const unusedUpdate = zeros();

  /* Pointed-to structures must be visible before any write of the entry */
  if (!ops.noDmaWmb) yield* wmb(S_DMA_WMB);

  const usedQwordDiff = entryQwordDiff(ops, entry, target, unusedUpdate);
  if (hweight(usedQwordDiff) === 1) {
    /*
     * Hitless: set the bits the current entry ignores, then the one critical
     * qword, then clear what the target no longer uses.
     */
    const critical = 31 - Math.clz32(usedQwordDiff & -usedQwordDiff);
    /* The critical qword is written whole in the next step; skip its unused bits now */
    unusedUpdate[critical] = entry[critical]!;
    yield* entrySet(ops, entry, unusedUpdate, 0, NUM_ENTRY_QWORDS);
    yield* entrySet(ops, entry, target, critical, 1);
    yield* entrySet(ops, entry, target, 0, NUM_ENTRY_QWORDS);
  } else if (usedQwordDiff !== 0) {
    /* Disruptive: V=0, fill qwords 1..7, then qword 0 with V=1 in one store */
    unusedUpdate[0] = 0n;
    yield* entrySet(ops, entry, unusedUpdate, 0, 1);
    yield* entrySet(ops, entry, target, 1, NUM_ENTRY_QWORDS - 1);
    yield* entrySet(ops, entry, target, 0, 1);
  } else {
    /* No used bit changes (safe bits may) */
    yield* entrySet(ops, entry, target, 0, NUM_ENTRY_QWORDS);
  }
}
