/**
 * arm_smmu_domain_inv_range(): walk the domain's invalidation array and turn
 * each live entry into commands, batching per SMMU and submitting (with
 * CMD_SYNC) where the batch has to end: on an SMMU change, before the first
 * S2_VMID_S1_CLEAR entry, before the first ATS entry, and at the end.
 */
import { type CmdqEnt, exec, type Explored, readLock, smpMb, readUnlock, site, type SmmuNode, type Step, type Steps, UseAfterFreeError } from "../../src/index.js";
import { atcInvToCmd, batchAdd, batchAddRange, batchInit, batchSubmit, CmdqBatch, insertCmdlist, invSizeTooBig, IOMMU_NO_PASID, type PendingSync, pollSync } from "../arm-smmu-v3/index.js";
import type { InvsContext } from "./context.js";
import type { InvsDomain } from "./domain.js";
import { ATS, ATS_FULL, invIsAts, S1_ASID, S2_VMID, S2_VMID_S1_CLEAR, S2_VMID_VSMMU, type Invs } from "./invs.js";
import { numInvsAt, usersAt, walkersAt } from "./shared.js";

const FN = "__arm_smmu_domain_inv_range";
const S_NUM = site(FN, "READ_ONCE(invs->num_invs)");
const S_USERS = site(FN, "READ_ONCE(cur->users)");
const S_ENTRY = site(FN, "read *cur");
const S_MB = site("arm_smmu_domain_inv_range", "smp_mb()");
const S_DEREF = site("arm_smmu_domain_inv_range", "rcu_dereference(smmu_domain->invs)");
const S_READ_LOCK: Record<string, Step> = {
  read_lock: site("arm_smmu_domain_inv_range", "read_lock(&invs->rwlock)"),
  read_lock_irqsave: site("arm_smmu_domain_inv_range", "read_lock_irqsave(&invs->rwlock)"),
};

/** A reader touching array memory: freed memory is a use after free. */
function touch(invs: Invs): void {
  if (invs.freed) throw new UseAfterFreeError("the invalidation array", FN);
}

/** arm_smmu_invs_end_batch(); `syncBeforeAts` false only for a deliberately broken driver (its tests). */
function endBatch(invs: Invs, cur: number, next: number, syncBeforeAts: boolean): boolean {
  /* Changing smmu means changing command queue */
  if (invs.smmu(cur) !== invs.smmu(next)) return true;
  /* The batch for S2 TLBI must be done before nested S1 ASIDs */
  if (invs.type(cur) !== S2_VMID_S1_CLEAR && invs.type(next) === S2_VMID_S1_CLEAR) return true;
  /* ATS must be after a sync of the S1/S2 invalidations */
  return syncBeforeAts && !invIsAts(invs.type(cur)) && invIsAts(invs.type(next));
}

/** arm_smmu_inv_to_cmdq_batch(): the TLBI entries: ranged (size_opcode) or one nsize_opcode command. */
function* invToCmdqBatch(
  ctx: InvsContext,
  invs: Invs,
  cur: number,
  cmds: CmdqBatch,
  ent: CmdqEnt,
  iova: bigint,
  size: bigint,
  granule: number,
): Steps {
  const smmu = ctx.smmuAt(invs.smmu(cur));
  if (invSizeTooBig(smmu, size, granule)) {
    ent.opcode = invs.nsizeOpcode(cur);
    yield* batchAdd(ctx, smmu, cmds, ent);
    return;
  }
  ent.opcode = invs.sizeOpcode(cur);
  yield* batchAddRange(ctx, smmu, cmds, ent, iova, size, granule, invs.pgsize(cur));
}

/**
 * Where a batch ends: submitted and waited for (the kernel), or, with the
 * parallel_syncs option, submitted with its CMD_SYNC and waited for only
 * before the next batch on the same SMMU or at the end of the walk.
 */
class BatchEnds {
  private readonly pending: PendingSync[] = [];

  constructor(private readonly ctx: InvsContext) {}

  *submit(smmu: SmmuNode, cmds: CmdqBatch): Steps {
    if (!this.ctx.options.parallelSyncs) {
      yield* batchSubmit(this.ctx, smmu, cmds);
      return;
    }
    const earlier = this.pending.findIndex((p) => p.smmu === smmu);
    if (earlier !== -1) yield* pollSync(this.ctx, this.pending.splice(earlier, 1)[0]!);
    this.pending.push(yield* insertCmdlist(this.ctx, smmu, cmds.cmds, true));
  }

  *waitAll(): Steps {
    for (const p of this.pending.splice(0)) yield* pollSync(this.ctx, p);
  }
}

/** __arm_smmu_domain_inv_range() */
function* domainInvRangeInvs(ctx: InvsContext, invs: Invs, iova: bigint, size: bigint, granule: number, leaf: boolean): Steps {
  const e = exec();
  yield S_NUM;
  touch(invs);
  const end = e ? e.load(numInvsAt(e, invs), invs.numInvs) : invs.numInvs;
  invs.walkers++;
  e?.touch(walkersAt(e, invs), "write");
  try {
    yield* walkInvs(ctx, invs, end, iova, size, granule, leaf);
  } finally {
    invs.walkers--;
    exec()?.touch(walkersAt(exec()!, invs), "write");
  }
}

/** READ_ONCE(cur->users): under an explorer, what another CPU's pending stores leave visible. */
function readUsers(e: Explored | null, invs: Invs, i: number): number {
  return e ? e.load(usersAt(e, invs, i), invs.users(i)) : invs.users(i);
}

/** The loop of __arm_smmu_domain_inv_range() over `end` entries. */
function* walkInvs(ctx: InvsContext, invs: Invs, end: number, iova: bigint, size: bigint, granule: number, leaf: boolean): Steps {
  const cmds = new CmdqBatch();
  const ends = new BatchEnds(ctx);
  const skipByContinue = ctx.variant.skipEntry === "continue";
  const e = exec();

  /* Skip any leading entry marked as a trash */
  let cur = 0;
  for (; cur !== end; cur++) {
    yield S_USERS;
    touch(invs);
    if (readUsers(e, invs, cur)) break;
  }
  while (cur !== end) {
    yield S_ENTRY;
    touch(invs);
    const smmu = ctx.smmuAt(invs.smmu(cur));
    /* size_opcode picks the queue; nsize_opcode would pick the same one */
    const ent: CmdqEnt = { opcode: invs.sizeOpcode(cur) };
    if (!cmds.num) batchInit(cmds);

    const type = invs.type(cur);
    if (type === S1_ASID) {
      ent.tlbi = { asid: invs.id(cur), leaf };
      yield* invToCmdqBatch(ctx, invs, cur, cmds, ent, iova, size, granule);
    } else if (type === S2_VMID || type === S2_VMID_VSMMU) {
      /* the follow-up series' S2_VMID_VSMMU takes S2_VMID's case (v4 patch 06) */
      ent.tlbi = { vmid: invs.id(cur), leaf };
      yield* invToCmdqBatch(ctx, invs, cur, cmds, ent, iova, size, granule);
    } else if (type === S2_VMID_S1_CLEAR) {
      /* CMDQ_OP_TLBI_S12_VMALL already flushed S1 entries */
      if (invSizeTooBig(smmu, size, granule)) {
        /* v9: `continue` leaves cur where it is and spins on this entry */
        if (skipByContinue) continue;
      } else {
        ent.tlbi = { vmid: invs.id(cur) };
        yield* batchAdd(ctx, smmu, cmds, ent);
      }
    } else if (type === ATS) {
      const atc = atcInvToCmd(invs.ssid(cur), iova, size);
      atc.atc!.sid = invs.id(cur);
      yield* batchAdd(ctx, smmu, cmds, atc);
    } else if (type === ATS_FULL) {
      const atc = atcInvToCmd(IOMMU_NO_PASID, 0n, 0n);
      atc.atc!.sid = invs.id(cur);
      yield* batchAdd(ctx, smmu, cmds, atc);
    } else {
      ctx.warn(FN, `WARN_ON_ONCE(1): unknown type ${String(type)}`);
      if (skipByContinue) continue;
    }

    /* Skip any trash entry in-between */
    let next = cur + 1;
    for (; next !== end; next++) {
      yield S_USERS;
      touch(invs);
      if (readUsers(e, invs, next)) break;
    }
    if (cmds.num && (next === end || endBatch(invs, cur, next, !ctx.mutations.has("no-sync-before-ats")))) {
      yield* ends.submit(smmu, cmds);
      cmds.cmds = [];
    }
    cur = next;
  }
  yield* ends.waitAll();
}

/**
 * arm_smmu_domain_inv_range(): under rcu_read_lock(), load the array once;
 * take the read side of its rwlock only when it holds ATS entries.
 */
export function* domainInvRange(
  ctx: InvsContext,
  domain: InvsDomain,
  iova: bigint,
  size: bigint,
  granule: number,
  leaf: boolean,
): Steps {
  /* Pairs with the dma_wmb() in arm_smmu_write_entry(): IOPTEs before the array load */
  if (!ctx.mutations.has("no-smp-mb")) yield* smpMb(S_MB);
  const token = ctx.rcu.readLock();
  try {
    yield S_DEREF;
    const invs = ctx.rcu.dereference(domain.invs, `${domain.name}->invs`, "arm_smmu_domain_inv_range");
    /* Avoid locking unless ATS is being used */
    if (invs.hasAts) {
      yield* readLock(invs, S_READ_LOCK[ctx.variant.readLock]!);
      try {
        yield* domainInvRangeInvs(ctx, invs, iova, size, granule, leaf);
      } finally {
        readUnlock(invs);
      }
    } else {
      yield* domainInvRangeInvs(ctx, invs, iova, size, granule, leaf);
    }
  } finally {
    ctx.rcu.rcuReadUnlock(token);
  }
}

/** arm_smmu_domain_inv(): invalidate everything the domain may have cached. */
export function domainInv(ctx: InvsContext, domain: InvsDomain): Steps {
  return domainInvRange(ctx, domain, 0n, 0n, 0, false);
}
