/**
 * The series' steps in the shared attach sequence (../arm-smmu-v3/attach.ts),
 * sequencing the invalidation arrays around the STE/CD change:
 *  1. the new domain's array gets the master's entries (prepared in advance,
 *     the only step that can fail), published before the STE changes;
 *  2. the STE/CD switch the master to the new domain;
 *  3. the old domain's array drops the master's entries (unref, flush a tag
 *     nobody uses any more, purge), which cannot fail.
 * With the follow-up series (the `share` variant) the attach also finds or
 * allocates its IOTLB tag, and the tag's last user frees it (./tags.ts).
 * arm_smmu_attach_prepare_invs(), arm_smmu_install_new_domain_invs(),
 * arm_smmu_install_old_domain_invs().
 */
import { type CmdqEnt, EINVAL, type ErrPtr, isErr, KernelOopsError, site, smpMb, type Steps } from "../../src/index.js";
import { type AttachHooks, type AttachState, type IdAllocator, type IommuDomain, issueCmd } from "../arm-smmu-v3/index.js";
import { buildInvs } from "./build.js";
import type { InvsContext } from "./context.js";
import { asInvsMaster, invsDomainOf, type InvsDomain } from "./domain.js";
import { invsMerge, invsPurge, invsUnrefSteps, S1_ASID, S2_VMID, type Invs, type InvsHooks } from "./invs.js";
import { allocIotlbTag, domainTag, findOldIotlbTag, iotlbTagFree, type IotlbTag } from "./tags.js";

/** struct arm_smmu_inv_state */
interface InvState {
  /** The domain whose invs pointer changes, or null if nothing changes */
  domain: InvsDomain | null;
  oldInvs: Invs | null;
  /** New domain: the merged array to publish. Old domain: master->build_invs, the to_unref. */
  newInvs: Invs | null;
  /** The IOTLB tag the master's entries are built with. */
  tag: IotlbTag | null;
}

/** The array part of struct arm_smmu_attach_state. */
export interface InvsAttachState {
  oldDomainInvst: InvState;
  newDomainInvst: InvState;
}

type State = AttachState<InvsAttachState>;

const S_SMP_MB = site("arm_smmu_install_domain_invs", "smp_mb()");

/** The tag of an attach to `domain`: the domain's (mainline), or found or allocated in its array (the follow-up series; or -errno). */
function newDomainTag(ctx: InvsContext, ids: IdAllocator, state: State, domain: IommuDomain): IotlbTag | number {
  const smmu = state.master.smmu;
  return ctx.variant.iotlbTag === "invs" ? allocIotlbTag(ctx, ids, domain, smmu) : domainTag(domain, smmu);
}

/** arm_smmu_attach_prepare_invs(): everything that can fail, before anything changes. 0 or -errno. */
function prepareInvs(ctx: InvsContext, ids: IdAllocator, state: State, newDomain: IommuDomain | null): number {
  const oldSmmuDomain = invsDomainOf(state.oldDomain);
  const newSmmuDomain = invsDomainOf(newDomain);
  const master = asInvsMaster(state.master);
  const { newDomainInvst, oldDomainInvst } = state.prepared;

  if (newSmmuDomain) {
    const invst = newDomainInvst;
    invst.domain = newSmmuDomain;
    const cur = newSmmuDomain.invs.protected_();
    /* arm_smmu_invs_merge() reads old_invs->num_invs: an ERR_PTR a failed v9 purge published oopses here */
    if (isErr(cur)) throw new KernelOopsError(`${newSmmuDomain.name}->invs = ${cur.toString()}`, "arm_smmu_invs_merge");
    invst.oldInvs = cur;
    const tag = newDomainTag(ctx, ids, state, newDomain!);
    if (typeof tag === "number") return tag;
    invst.tag = tag;
    const build = buildInvs(ctx, master, state.atsEnabled, state.ssid, newSmmuDomain, invst.tag);
    if (!build) return ctx.errno("arm_smmu_attach_prepare_invs", EINVAL, "!arm_smmu_master_build_invs()");
    /* a tag the follow-up series allocated above is not freed on these two returns (v4 as posted) */
    const merged = invsMerge(invst.oldInvs, build, ctx.variant, ctx.hooks);
    if (isErr(merged)) return ctx.errno("arm_smmu_attach_prepare_invs", merged.errno, "IS_ERR(arm_smmu_invs_merge()): arm_smmu_invs_alloc() failed");
    invst.newInvs = merged;
  }

  if (oldSmmuDomain) {
    const invst = oldDomainInvst;
    invst.domain = oldSmmuDomain;
    /* A re-attach case might have a different ats_enabled state */
    if (newSmmuDomain === oldSmmuDomain) {
      invst.oldInvs = newDomainInvst.newInvs;
    } else {
      const cur = oldSmmuDomain.invs.protected_();
      if (isErr(cur)) throw new KernelOopsError(`${oldSmmuDomain.name}->invs = ${cur.toString()}`, "arm_smmu_attach_prepare_invs");
      invst.oldInvs = cur;
    }
    const tag = ctx.variant.iotlbTag === "invs" ? findOldIotlbTag(ctx, state.oldDomain!, master.smmu) : domainTag(state.oldDomain!, master.smmu);
    if (typeof tag === "number") return tag;
    invst.tag = tag;
    /* For the old domain, new_invs is master->build_invs: the to_unref */
    invst.newInvs = buildInvs(ctx, master, master.atsEnabled, state.ssid, oldSmmuDomain, tag);
  }
  return 0;
}

/** Publish an array: rcu_assign_pointer(), v9's smp_mb(), kfree_rcu() of the one it replaces. */
function* publish(ctx: InvsContext, domain: InvsDomain, next: Invs | ErrPtr, prev: Invs): Steps {
  yield* ctx.rcu.assign(domain.invs, next);
  ctx.changedInvs.add(domain.name);
  if (ctx.variant.publishBarrier) yield* smpMb(S_SMP_MB);
  ctx.bus.emit("invs:publish", { domain: domain.name, entries: isErr(next) ? -1 : next.numInvs });
  if (ctx.mutations.has("kfree-not-rcu")) ctx.rcu.kfree(prev);
  else ctx.rcu.kfreeRcu(prev);
}

/** arm_smmu_install_new_domain_invs(): before the STE changes. */
function* installNewDomainInvs(ctx: InvsContext, state: State): Steps {
  const invst = state.prepared.newDomainInvst;
  if (!invst.domain) return;
  yield* publish(ctx, invst.domain, invst.newInvs!, invst.oldInvs!);
}

/**
 * arm_smmu_inv_flush_iotlb_tag(): the ASID or VMID of an entry nobody uses
 * any more, flushed now, so that any ASID/VMID in no array is clear in the
 * IOTLB (S12_VMALL also covers the S2_VMID_S1_CLEAR entry).
 */
function* flushIotlbTag(ctx: InvsContext, invs: Invs, i: number): Steps {
  const ent: CmdqEnt = { opcode: invs.nsizeOpcode(i), tlbi: {} };
  if (invs.type(i) === S1_ASID) ent.tlbi!.asid = invs.id(i);
  else if (invs.type(i) === S2_VMID) ent.tlbi!.vmid = invs.id(i);
  else return;
  yield* issueCmd(ctx, ctx.smmuAt(invs.smmu(i)), ent, true);
}

/** The array hooks, telling the oracle when `domain`'s array is trimmed, how many walks of it were still out, and whether an ATS entry lost its last user. */
function trimHooks(ctx: InvsContext, domain: InvsDomain): InvsHooks {
  let hooks = trimHooksOf.get(domain);
  if (!hooks) {
    hooks = { ...ctx.hooks, trimmed: (invs, ats) => ctx.bus.emit("invs:trim", { domain: domain.name, walkers: invs.walkers, ats }) };
    trimHooksOf.set(domain, hooks);
  }
  return hooks;
}
/** trimHooks() of each domain, made at its first detach (a domain's driver context, and so its hooks, never change). */
const trimHooksOf = new WeakMap<InvsDomain, InvsHooks>();

/** arm_smmu_install_old_domain_invs(): after the STE changed. */
function* installOldDomainInvs(ctx: InvsContext, ids: IdAllocator, state: State): Steps {
  const invst = state.prepared.oldDomainInvst;
  const domain = invst.domain;
  if (!domain) return;
  const oldInvs = invst.oldInvs!;
  const toUnref = invst.newInvs!;

  ctx.changedInvs.add(domain.name);
  if (ctx.variant.unref === "writeback") {
    yield* invsUnrefSteps(oldInvs, toUnref, ctx.variant, trimHooks(ctx, domain));
    /* The tag (entry 0) lost its last user: it will not be invalidated by unmaps any more */
    if (toUnref.users(0) === 0) {
      if (ctx.variant.iotlbTag === "invs") yield* iotlbTagFree(ctx, ids, invst.tag!);
      else yield* flushIotlbTag(ctx, toUnref, 0);
    }
  } else {
    /* v9: the free_fn flushes each entry as it reaches 0 users, inside unref */
    yield* invsUnrefSteps(oldInvs, toUnref, ctx.variant, trimHooks(ctx, domain), (invs, i) => flushIotlbTag(ctx, invs, i));
  }

  const purged = invsPurge(oldInvs, ctx.variant, ctx.hooks);
  /* v9 tests only for NULL, so an ERR_PTR from a failed allocation gets published */
  if (!purged) return;
  yield* publish(ctx, domain, purged, oldInvs);
}

/** The attach hooks of driver-invs: its arrays sequenced around every STE/CD change; `ids` the ASID and VMID spaces. */
export function invsAttachHooks(ctx: InvsContext, ids: IdAllocator): AttachHooks<InvsAttachState> {
  const none = (): InvState => ({ domain: null, oldInvs: null, newInvs: null, tag: null });
  return {
    newState: () => ({ oldDomainInvst: none(), newDomainInvst: none() }),
    prepare: (state, newDomain) => prepareInvs(ctx, ids, state, newDomain),
    /* err_unprepare_invs: the merged array was never published; the follow-up series frees a tag it allocated */
    *unprepare(state) {
      const invst = state.prepared.newDomainInvst;
      if (ctx.variant.iotlbTag === "invs" && invst.tag && !invst.tag.users) yield* iotlbTagFree(ctx, ids, invst.tag);
      if (invst.newInvs) ctx.rcu.kfree(invst.newInvs);
    },
    installNew: (state) => installNewDomainInvs(ctx, state),
    installOld: (state) => installOldDomainInvs(ctx, ids, state),
    tag: (state) => state.prepared.newDomainInvst.tag!.id,
  };
}
