/**
 * Attaching a master to a domain, with the invalidation arrays sequenced
 * around the STE/CD change:
 *  1. the new domain's array gets the master's entries (prepared in advance,
 *     the only step that can fail), published before the STE changes;
 *  2. the STE/CD switch the master to the new domain;
 *  3. the old domain's array drops the master's entries (unref, flush a tag
 *     nobody uses any more, purge), which cannot fail.
 * Each caller holds arm_smmu_asid_lock (a mutex) from prepare to commit, so
 * attaches and PASID changes are serialised; invalidations never take it and
 * run alongside them.
 * arm_smmu_attach_prepare(), arm_smmu_attach_commit() and their callers.
 */
import { ARM_SMMU_SH_ISH, type CmdqEnt, EBUSY, EINVAL, ENOMEM, type ErrPtr, fieldPrep, isErr, KernelOopsError, mutexLocked, type Qwords, type RcuPointer, site, type Step, type Steps, STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_S1_TRANS, STRTAB_STE_0_S1CTXPTR_MASK, STRTAB_STE_0_V, STRTAB_STE_1_S1C_CACHE_WBRA, STRTAB_STE_1_S1CIR, STRTAB_STE_1_S1COR, STRTAB_STE_1_S1CSH, STRTAB_STE_1_S1DSS, STRTAB_STE_1_S1DSS_BYPASS, STRTAB_STE_1_S1DSS_SSID0, STRTAB_STE_1_S1DSS_TERMINATE, writeLock, writeUnlock } from "../../src/index.js";
import { batchAdd, batchInit, batchSubmit, CmdqBatch, issueCmd } from "./cmdq.js";
import type { DriverContext } from "./context.js";
import {
  BLOCKED,
  IDENTITY,
  toSmmuDomainDevices,
  type IommuDomain,
  type MasterDomain,
  type NestedDomain,
  type SmmuDomain,
  type StaticDomain,
} from "./domain.js";
import type { VmidOf } from "./build.js";
import { buildInvs } from "./build.js";
import {
  allocCdPtr,
  cdtableSte,
  clearCd,
  installSteForDev,
  s1CdParams,
  s2Vtcr,
  steFeatures,
  writeCdEntry,
} from "./install.js";
import { invsMerge, invsPurge, invsUnrefSteps, S1_ASID, S2_VMID, type Invs } from "./invs.js";
import type { Master } from "./master.js";
import { atcInvToCmd, IOMMU_NO_PASID } from "./range.js";
import { makeAbortSte, makeBypassSte, makeNestedDomainSte, makeS1Cd, makeS2DomainSte } from "./ste.js";

/** struct arm_smmu_inv_state */
interface InvState {
  /** The domain's invs pointer, or null if nothing changes */
  invsPtr: RcuPointer<Invs> | null;
  oldInvs: Invs | null;
  /** New domain: the merged array to publish. Old domain: master->build_invs, the to_unref. */
  newInvs: Invs | null;
}

/** struct arm_smmu_attach_state */
export interface AttachState {
  master: Master;
  oldDomain: IommuDomain | null;
  ssid: number;
  disableAts: boolean;
  cdNeedsAts: boolean;
  atsEnabled: boolean;
  oldDomainInvst: InvState;
  newDomainInvst: InvState;
}

export function attachState(master: Master, oldDomain: IommuDomain | null, ssid: number): AttachState {
  const none = (): InvState => ({ invsPtr: null, oldInvs: null, newInvs: null });
  return {
    master,
    oldDomain,
    ssid,
    disableAts: false,
    cdNeedsAts: false,
    atsEnabled: false,
    oldDomainInvst: none(),
    newDomainInvst: none(),
  };
}

/** The pieces of the driver the attach paths need beyond the context. */
export interface AttachEnv {
  ctx: DriverContext;
  vmidOf: VmidOf;
  /**
   * Whether domains keep invalidation arrays (true when not said). The
   * driver before the series (driver-legacy) runs these same attach paths
   * without them: nothing is merged, published, unref'd or purged, and its
   * invalidations walk the devices list instead.
   */
  arrays?: boolean;
}

const ASID_LOCK = "mutex_lock(&arm_smmu_asid_lock)";
const S_ASID_LOCK_ATTACH_DEV = site("arm_smmu_attach_dev", ASID_LOCK);
const S_ASID_LOCK_NESTED = site("arm_smmu_attach_dev_nested", ASID_LOCK);
const S_ASID_LOCK_DEV_STE = site("arm_smmu_attach_dev_ste", ASID_LOCK);
const S_ASID_LOCK_SET_PASID = site("arm_smmu_set_pasid", ASID_LOCK);
const S_ASID_LOCK_BLOCKING_PASID = site("arm_smmu_blocking_set_dev_pasid", ASID_LOCK);
const S_DEVICES_LOCK = site("arm_smmu_attach_prepare", "spin_lock_irqsave(&smmu_domain->devices_lock)");
const S_DISABLE_ATS = site("arm_smmu_attach_prepare", "pci_disable_ats(); wmb()");
const S_ENABLE_ATS = site("arm_smmu_enable_ats", "pci_enable_ats()");
const S_REMOVE = site("arm_smmu_remove_master_domain", "spin_lock_irqsave(&smmu_domain->devices_lock); list_del()");
const S_SMP_MB = site("arm_smmu_install_domain_invs", "smp_mb()");

/** `critical` under mutex_lock(&arm_smmu_asid_lock), taken at `at`, unlocked on every return (an error from prepare included). */
function asidLocked<T>(ctx: DriverContext, at: Step, critical: () => Steps<T>): Steps<T> {
  return mutexLocked(ctx.asidLock, at, critical);
}

/** arm_smmu_ats_supported() (the root complex is taken to support ATS) */
function atsSupported(master: Master): boolean {
  return master.smmu.features.has("ats") && master.dev.pci && master.dev.atsCapable;
}

/** arm_smmu_attach_prepare_invs(): everything that can fail, before anything changes. */
function prepareInvs(env: AttachEnv, state: AttachState, newDomain: IommuDomain | null): number {
  const { ctx } = env;
  const oldSmmuDomain = toSmmuDomainDevices(state.oldDomain);
  const newSmmuDomain = toSmmuDomainDevices(newDomain);
  const master = state.master;

  if (newSmmuDomain) {
    const invst = state.newDomainInvst;
    invst.invsPtr = newSmmuDomain.invs;
    const cur = newSmmuDomain.invs.protected_();
    /* arm_smmu_invs_merge() reads old_invs->num_invs: an ERR_PTR a failed v9 purge published oopses here */
    if (isErr(cur)) throw new KernelOopsError(`${newSmmuDomain.name}->invs = ${cur.toString()}`, "arm_smmu_invs_merge");
    invst.oldInvs = cur;
    const build = buildInvs(ctx, master, state.atsEnabled, state.ssid, newSmmuDomain, env.vmidOf);
    if (!build) return -EINVAL;
    const merged = invsMerge(invst.oldInvs, build, ctx.variant, ctx.hooks);
    if (isErr(merged)) return -merged.errno;
    invst.newInvs = merged;
  }

  if (oldSmmuDomain) {
    const invst = state.oldDomainInvst;
    invst.invsPtr = oldSmmuDomain.invs;
    /* A re-attach case might have a different ats_enabled state */
    if (newSmmuDomain === oldSmmuDomain) {
      invst.oldInvs = state.newDomainInvst.newInvs;
    } else {
      const cur = oldSmmuDomain.invs.protected_();
      if (isErr(cur)) throw new KernelOopsError(`${oldSmmuDomain.name}->invs = ${cur.toString()}`, "arm_smmu_attach_prepare_invs");
      invst.oldInvs = cur;
    }
    /* For the old domain, new_invs is master->build_invs: the to_unref */
    invst.newInvs = buildInvs(ctx, master, master.atsEnabled, state.ssid, oldSmmuDomain, env.vmidOf);
  }
  return 0;
}

/** Publish an array: rcu_assign_pointer(), v9's smp_mb(), kfree_rcu() of the one it replaces. */
function* publish(ctx: DriverContext, domain: SmmuDomain, ptr: RcuPointer<Invs>, next: Invs | ErrPtr, prev: Invs): Steps {
  yield* ctx.rcu.assign(ptr, next);
  ctx.changedInvs.add(domain.name);
  if (ctx.variant.publishBarrier) yield S_SMP_MB;
  ctx.bus.emit("invs:publish", { domain: domain.name, entries: isErr(next) ? -1 : next.numInvs });
  ctx.rcu.kfreeRcu(prev);
}

/** arm_smmu_install_new_domain_invs(): before the STE changes. */
function* installNewDomainInvs(env: AttachEnv, state: AttachState, domain: SmmuDomain): Steps {
  const invst = state.newDomainInvst;
  if (!invst.invsPtr) return;
  yield* publish(env.ctx, domain, invst.invsPtr, invst.newInvs!, invst.oldInvs!);
}

/**
 * arm_smmu_inv_flush_iotlb_tag(): the ASID or VMID of an entry nobody uses
 * any more, flushed now, so that any ASID/VMID in no array is clear in the
 * IOTLB (S12_VMALL also covers the S2_VMID_S1_CLEAR entry).
 */
function* flushIotlbTag(ctx: DriverContext, invs: Invs, i: number): Steps {
  const ent: CmdqEnt = { opcode: invs.nsizeOpcode(i), tlbi: {} };
  if (invs.type(i) === S1_ASID) ent.tlbi!.asid = invs.id(i);
  else if (invs.type(i) === S2_VMID) ent.tlbi!.vmid = invs.id(i);
  else return;
  yield* issueCmd(ctx, ctx.smmuAt(invs.smmu(i)), ent, true);
}

/** arm_smmu_install_old_domain_invs(): after the STE changed. */
function* installOldDomainInvs(env: AttachEnv, state: AttachState, domain: SmmuDomain): Steps {
  const { ctx } = env;
  const invst = state.oldDomainInvst;
  if (!invst.invsPtr) return;
  const oldInvs = invst.oldInvs!;
  const toUnref = invst.newInvs!;

  ctx.changedInvs.add(domain.name);
  if (ctx.variant.unref === "writeback") {
    yield* invsUnrefSteps(oldInvs, toUnref, ctx.variant, ctx.hooks);
    /* The tag (entry 0) lost its last user: it will not be invalidated by unmaps any more */
    if (toUnref.users(0) === 0) yield* flushIotlbTag(ctx, toUnref, 0);
  } else {
    /* v9: the free_fn flushes each entry as it reaches 0 users, inside unref */
    yield* invsUnrefSteps(oldInvs, toUnref, ctx.variant, ctx.hooks, (invs, i) => flushIotlbTag(ctx, invs, i));
  }

  const purged = invsPurge(oldInvs, ctx.variant, ctx.hooks);
  /* v9 tests only for NULL, so an ERR_PTR from a failed allocation gets published */
  if (!purged) return;
  yield* publish(ctx, domain, invst.invsPtr, purged, oldInvs);
}

/** arm_smmu_atc_inv_master(): a whole-range ATC_INV at `ssid` for each stream, then CMD_SYNC. */
function* atcInvMaster(ctx: DriverContext, master: Master, ssid: number): Steps<number> {
  const ent = atcInvToCmd(ssid, 0n, 0n);
  const cmds = new CmdqBatch();
  batchInit(cmds);
  for (const sid of master.streams) {
    ent.atc!.sid = sid;
    yield* batchAdd(ctx, master.smmu, cmds, ent);
  }
  return yield* batchSubmit(ctx, master.smmu, cmds);
}

/** arm_smmu_enable_ats(): flush the whole ATC, then turn ATS on at the STU. */
function* enableAts(ctx: DriverContext, master: Master): Steps {
  /* Smallest Translation Unit: log2 of the smallest supported granule */
  const stu = 31 - Math.clz32(master.smmu.pgsizeBitmap & -master.smmu.pgsizeBitmap);
  /* ATC invalidation of PASID 0 causes the entire ATC to be flushed */
  yield* atcInvMaster(ctx, master, IOMMU_NO_PASID);
  yield S_ENABLE_ATS;
  master.dev.enableAts(stu);
}

/** arm_smmu_remove_master_domain(): off the list, and out of nr_ats_masters if ATS was on (it is off by now if going off). */
function* removeMasterDomain(master: Master, domain: IommuDomain | null, ssid: number): Steps {
  const smmuDomain = toSmmuDomainDevices(domain);
  if (!smmuDomain || !domain) return;
  const nestedAtsFlush = domain.type === "nested" && domain.enableAts;
  yield* writeLock(smmuDomain.devicesLock, S_REMOVE);
  const i = smmuDomain.devices.findIndex(
    (md) => md.master === master && md.domain === domain && md.ssid === ssid && md.nestedAtsFlush === nestedAtsFlush,
  );
  if (i >= 0) {
    smmuDomain.devices.splice(i, 1);
    if (master.atsEnabled) smmuDomain.nrAtsMasters--;
  }
  writeUnlock(smmuDomain.devicesLock);
}

/**
 * arm_smmu_attach_prepare(): decide ATS, prepare both arrays, add the master
 * to the new domain's list and publish its array, and turn ATS off on the
 * device if it is going off. 0 or -errno, with nothing changed on failure.
 */
export function* attachPrepare(env: AttachEnv, state: AttachState, newDomain: IommuDomain): Steps<number> {
  const { ctx } = env;
  const master = state.master;
  const smmuDomain = toSmmuDomainDevices(newDomain);

  if (smmuDomain || state.cdNeedsAts) {
    /* No ATS with a plain bypass/abort STE; with a CD table and S1DSS it works */
    state.atsEnabled = !state.disableAts && atsSupported(master);
  }

  const ret = env.arrays === false ? 0 : prepareInvs(env, state, newDomain);
  if (ret) return ret;

  if (smmuDomain) {
    if (!ctx.kzalloc("master_domain")) {
      /* err_unprepare_invs: the merged array was never published */
      if (state.newDomainInvst.newInvs) ctx.rcu.kfree(state.newDomainInvst.newInvs);
      return -ENOMEM;
    }
    const md: MasterDomain = {
      master,
      domain: newDomain,
      ssid: state.ssid,
      nestedAtsFlush: newDomain.type === "nested" && newDomain.enableAts,
    };
    /* Both domains list the master until commit, so both send its ATC invalidations */
    yield* writeLock(smmuDomain.devicesLock, S_DEVICES_LOCK);
    /* Counted before ATS is enabled (in commit): see arm_smmu_atc_inv_domain() of driver-legacy */
    if (state.atsEnabled) smmuDomain.nrAtsMasters++;
    smmuDomain.devices.push(md);
    writeUnlock(smmuDomain.devicesLock);
    yield* installNewDomainInvs(env, state, smmuDomain);
  }

  if (!state.atsEnabled && master.atsEnabled) {
    /* The config write disabling ATS completes before the STE can generate UR */
    yield S_DISABLE_ATS;
    master.dev.disableAts();
  }
  return 0;
}

/** arm_smmu_attach_commit(): synchronise the ATC and retire the old domain's entries. */
export function* attachCommit(env: AttachEnv, state: AttachState): Steps {
  const { ctx } = env;
  const master = state.master;
  if (state.atsEnabled && !master.atsEnabled) {
    yield* enableAts(ctx, master);
  } else if (state.atsEnabled && master.atsEnabled) {
    /* The translation changed: both old and new domain invalidate, flush the ATC at this ssid */
    yield* atcInvMaster(ctx, master, state.ssid);
  } else if (!state.atsEnabled && master.atsEnabled) {
    /* ATS is being switched off, invalidate the entire ATC */
    yield* atcInvMaster(ctx, master, IOMMU_NO_PASID);
  }
  yield* removeMasterDomain(master, state.oldDomain, state.ssid);
  const old = toSmmuDomainDevices(state.oldDomain);
  if (old) yield* installOldDomainInvs(env, state, old);
  master.atsEnabled = state.atsEnabled;
}

/** The S2 STE of a paging domain for this master (VMID of the master's SMMU). */
function s2Ste(env: AttachEnv, master: Master, domain: SmmuDomain, atsEnabled: boolean): Qwords {
  return makeS2DomainSte(
    { vmid: env.vmidOf(domain, master), vttbr: domain.pgtablePa, vtcr: s2Vtcr(domain), s2fwb: false },
    steFeatures(master),
    master.stallEnabled,
    atsEnabled,
  );
}

/** arm_smmu_attach_dev() for a paging domain. */
export function* attachDev(env: AttachEnv, master: Master, domain: SmmuDomain): Steps<number> {
  const { ctx } = env;
  /*
   * Mainline refuses a domain whose smmu is not the master's (-EINVAL). The
   * invalidation array is what lifts that limit, and this model lets a
   * domain span SMMUs, as the follow-up series sharing domains does.
   */
  let cdptr: Qwords | null = null;
  if (domain.stage === "S1") {
    cdptr = yield* allocCdPtr(ctx, master, IOMMU_NO_PASID);
    if (!cdptr) return -ENOMEM;
  } else if (master.ssidsInUse()) {
    return -EBUSY;
  }

  /*
   * Prevent arm_smmu_share_asid() from trying to change the ASID of either
   * the old or new domain while we are working on it. This allows the STE
   * and the smmu_domain->devices list to be inconsistent during this routine.
   */
  return yield* asidLocked(ctx, S_ASID_LOCK_ATTACH_DEV, function* () {
    const state = attachState(master, master.domain, IOMMU_NO_PASID);
    const ret = yield* attachPrepare(env, state, domain);
    if (ret) return ret;

    if (domain.stage === "S1") {
      const targetCd = makeS1Cd(s1CdParams(domain), master.stallEnabled);
      yield* writeCdEntry(ctx, master, IOMMU_NO_PASID, cdptr!, targetCd);
      yield* installSteForDev(ctx, master, cdtableSte(master, state.atsEnabled, STRTAB_STE_1_S1DSS_SSID0));
    } else {
      yield* installSteForDev(ctx, master, s2Ste(env, master, domain, state.atsEnabled));
      yield* clearCd(ctx, master, IOMMU_NO_PASID);
    }
    yield* attachCommit(env, state);
    master.domain = domain;
    return 0;
  });
}

/** arm_smmu_attach_dev_nested(): a guest's stage 1 over its vSMMU's S2 parent. */
export function* attachDevNested(env: AttachEnv, master: Master, domain: NestedDomain): Steps<number> {
  const { ctx } = env;
  if (domain.vsmmu.smmu !== master.smmu.name) return -EINVAL;
  if (master.ssidsInUse()) return -EBUSY;

  return yield* asidLocked(ctx, S_ASID_LOCK_NESTED, function* () {
    const state = attachState(master, master.domain, IOMMU_NO_PASID);
    /* The VM controls the actual ATS state: base it on the vSTE's EATS */
    state.disableAts = !domain.enableAts;
    const ret = yield* attachPrepare(env, state, domain);
    if (ret) return ret;

    const parent = domain.vsmmu.s2Parent;
    const vste = nestedVste(domain);
    const ste = makeNestedDomainSte(
      { vmid: domain.vsmmu.vmid, vttbr: parent.pgtablePa, vtcr: s2Vtcr(parent), s2fwb: false },
      { ste: vste },
      steFeatures(master),
      master.stallEnabled,
      state.atsEnabled,
    );
    yield* installSteForDev(ctx, master, ste);
    yield* attachCommit(env, state);
    master.domain = domain;
    return 0;
  });
}

/** The guest's vSTE: a linear one-CD table (CD 0 holds its ASID), S1DSS SSID0. */
function nestedVste(domain: NestedDomain): [bigint, bigint] {
  const q0 =
    STRTAB_STE_0_V.mask |
    fieldPrep(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_S1_TRANS) |
    (domain.cdTablePa & STRTAB_STE_0_S1CTXPTR_MASK.mask);
  const q1 =
    fieldPrep(STRTAB_STE_1_S1DSS, STRTAB_STE_1_S1DSS_SSID0) |
    fieldPrep(STRTAB_STE_1_S1CIR, STRTAB_STE_1_S1C_CACHE_WBRA) |
    fieldPrep(STRTAB_STE_1_S1COR, STRTAB_STE_1_S1C_CACHE_WBRA) |
    fieldPrep(STRTAB_STE_1_S1CSH, ARM_SMMU_SH_ISH);
  return [q0, q1];
}

/** iommu_attach_device_pasid()'s checks before ->set_dev_pasid(): the device has the PASID and it is free. 0 or -errno. */
export function corePasidCheck(master: Master, pasid: number): number {
  if (pasid < 1 || pasid >= 2 ** master.ssidBits) return -EINVAL;
  return master.pasids.has(pasid) ? -EBUSY : 0;
}

/** ->attach_dev() of the static blocked or identity domain (the core does nothing if it is attached already). */
export function* attachDevStatic(env: AttachEnv, master: Master, target: "blocked" | "identity"): Steps<number> {
  const d = target === "blocked" ? BLOCKED : IDENTITY;
  if (master.domain === d) return 0;
  yield* attachDevSte(env, master, d);
  return 0;
}

/**
 * arm_smmu_attach_dev_ste(): blocked or identity. With PASIDs still in use
 * the CD table stays, with S1DSS abort or bypass (and ATS kept); otherwise
 * the plain abort or bypass STE goes in.
 */
export function* attachDevSte(env: AttachEnv, master: Master, domain: StaticDomain): Steps {
  const { ctx } = env;
  let ste = domain.type === "identity" ? makeBypassSte(steFeatures(master)) : makeAbortSte();
  const s1dss = domain.type === "identity" ? STRTAB_STE_1_S1DSS_BYPASS : STRTAB_STE_1_S1DSS_TERMINATE;

  /* Do not allow any ASID to be changed while are working on the STE, otherwise we could miss invalidations */
  yield* asidLocked(ctx, S_ASID_LOCK_DEV_STE, function* () {
    const state = attachState(master, master.domain, IOMMU_NO_PASID);
    if (master.ssidsInUse()) {
      /* A PASID may be using ATS: keep it on for the CD table */
      state.cdNeedsAts = true;
      yield* attachPrepare(env, state, domain);
      ste = cdtableSte(master, state.atsEnabled, s1dss);
    } else {
      yield* attachPrepare(env, state, domain);
    }
    yield* installSteForDev(ctx, master, ste);
    yield* attachCommit(env, state);
    master.domain = domain;
  });
  /* After unlocking and leaving the old domain's list, so nothing races with arm_smmu_share_asid() on CD 0 */
  yield* clearCd(ctx, master, IOMMU_NO_PASID);
}

/** arm_smmu_update_ste(): make the RID's STE a CD-table STE with the right EATS. */
function* updateSte(env: AttachEnv, master: Master, atsEnabled: boolean): Steps {
  if (master.inSte && master.steAtsEnabled === atsEnabled) return;
  const sid = master.domain;
  if (sid && sid.type !== "identity" && sid.type !== "blocked") {
    env.ctx.warn("arm_smmu_update_ste", "WARN_ON(sid_domain->type != IOMMU_DOMAIN_BLOCKED)");
  }
  const s1dss = sid?.type === "identity" ? STRTAB_STE_1_S1DSS_BYPASS : STRTAB_STE_1_S1DSS_TERMINATE;
  /* Hitless: installs the CD table, or only changes EATS if it is already there */
  yield* installSteForDev(env.ctx, master, cdtableSte(master, atsEnabled, s1dss));
}

/** arm_smmu_set_pasid(): attach `domain` at `pasid` with the CD `cd`. */
export function* setPasid(env: AttachEnv, master: Master, domain: SmmuDomain, pasid: number, cd: Qwords): Steps<number> {
  const { ctx } = env;
  const sid = master.domain;
  /* The RID must already use the CD table, or be blocked/identity so that it can */
  if (!master.inSte && sid && sid.type !== "identity" && sid.type !== "blocked") return -EINVAL;

  const cdptr = yield* allocCdPtr(ctx, master, pasid);
  if (!cdptr) return -ENOMEM;

  return yield* asidLocked(ctx, S_ASID_LOCK_SET_PASID, function* () {
    const state = attachState(master, master.pasids.get(pasid) ?? null, pasid);
    const ret = yield* attachPrepare(env, state, domain);
    if (ret) return ret;

    yield* writeCdEntry(ctx, master, pasid, cdptr, cd);
    yield* updateSte(env, master, state.atsEnabled);
    yield* attachCommit(env, state);
    master.pasids.set(pasid, domain);
    return 0;
  });
}

/** arm_smmu_s1_set_dev_pasid(): an S1 paging domain at a PASID. */
export function s1SetDevPasid(env: AttachEnv, master: Master, domain: SmmuDomain, pasid: number): Steps<number> {
  return setPasid(env, master, domain, pasid, makeS1Cd(s1CdParams(domain), master.stallEnabled));
}

/**
 * arm_smmu_blocking_set_dev_pasid(): detach the domain at `pasid`; when the
 * last PASID goes and the RID is blocked or identity, attach that again so
 * the STE drops the CD table.
 */
export function* blockingSetDevPasid(env: AttachEnv, master: Master, pasid: number): Steps {
  const { ctx } = env;
  const old = master.pasids.get(pasid);
  if (!old) return;
  const state = attachState(master, old, pasid);

  yield* asidLocked(ctx, S_ASID_LOCK_BLOCKING_PASID, function* () {
    if (env.arrays !== false) prepareInvs(env, state, null);
    yield* clearCd(ctx, master, pasid);
    if (master.atsEnabled) yield* atcInvMaster(ctx, master, pasid);
    yield* removeMasterDomain(master, old, pasid);
    const oldSmmuDomain = toSmmuDomainDevices(old);
    if (oldSmmuDomain) yield* installOldDomainInvs(env, state, oldSmmuDomain);
  });
  master.pasids.delete(pasid);

  /* When the last user of the CD table goes away, downgrade the STE (outside the lock: attaching takes it again) */
  const sid = master.domain;
  if (!master.ssidsInUse() && (!sid || sid.type === "identity" || sid.type === "blocked")) {
    yield* attachDevSte(env, master, sid ?? { type: "blocked", name: "blocked" });
  }
}

