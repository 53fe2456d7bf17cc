/**
 * Attaching a master to a domain, the sequence both drivers share:
 *  1. prepare: decide ATS, take what can fail (the driver's hooks; then the
 *     master_domain), put the master on the new domain's devices list;
 *  2. the STE/CD switch the master to the new domain;
 *  3. commit: synchronise the ATC, take the master off the old domain's
 *     list, which cannot fail.
 * With the series (driver-invs) the hooks sequence the invalidation arrays
 * around the STE/CD change: the new domain's array gets the master's
 * entries before it, the old domain's drops them after it. Before the
 * series (driver-legacy) there are none: invalidations walk the devices list.
 * Each caller holds arm_smmu_asid_lock (a mutex) from prepare to commit, so
 * attaches and PASID changes are serialised; invalidations never take it and
 * run alongside them.
 * arm_smmu_attach_prepare(), arm_smmu_attach_commit() and their callers.
 */
import { ARM_SMMU_SH_ISH, EBUSY, EINVAL, ENOMEM, fieldPrep, mutexLocked, type Qwords, site, type Step, type Steps, STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_S1_TRANS, STRTAB_STE_0_S1CTXPTR_MASK, STRTAB_STE_0_V, STRTAB_STE_1_S1C_CACHE_WBRA, STRTAB_STE_1_S1CIR, STRTAB_STE_1_S1COR, STRTAB_STE_1_S1CSH, STRTAB_STE_1_S1DSS, STRTAB_STE_1_S1DSS_BYPASS, STRTAB_STE_1_S1DSS_SSID0, STRTAB_STE_1_S1DSS_TERMINATE, writeLock, writeUnlock } from "../../src/index.js";
import { batchAdd, batchInit, batchSubmit, CmdqBatch } from "./cmdq.js";
import type { DriverContext } from "./context.js";
import {
  BLOCKED,
  canShare,
  IDENTITY,
  toSmmuDomainDevices,
  type IommuDomain,
  type MasterDomain,
  type NestedDomain,
  type SmmuDomain,
  type StaticDomain,
} from "./domain.js";
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
import type { Master } from "./master.js";
import { atcInvToCmd, IOMMU_NO_PASID } from "./range.js";
import { makeAbortSte, makeBypassSte, makeNestedDomainSte, makeS1Cd, makeS2DomainSte } from "./ste.js";

/** struct arm_smmu_attach_state, with `prepared`: what the driver's hooks keep for this attach (old_domain_invst and new_domain_invst with the series). */
export interface AttachState<P> {
  master: Master;
  oldDomain: IommuDomain | null;
  ssid: number;
  disableAts: boolean;
  cdNeedsAts: boolean;
  atsEnabled: boolean;
  readonly prepared: P;
}

/**
 * The steps around the STE/CD change that differ between the drivers: with
 * the series, the invalidation arrays' (driver-invs); before it, none
 * (driver-legacy). The rest of every attach is this module's.
 */
export interface AttachHooks<P> {
  /** This attach's part of the state. */
  newState(): P;
  /** arm_smmu_attach_prepare_invs(): what can fail, before anything changes, for `newDomain` (null: the old side only). 0 or -errno. */
  prepare(state: AttachState<P>, newDomain: IommuDomain | null): number;
  /** err_unprepare_invs: a later step of the prepare failed; free what prepare() allocated. */
  unprepare(state: AttachState<P>): Steps;
  /** arm_smmu_install_new_domain_invs(): the master is on the new domain's list and the STE/CD are not changed yet. */
  installNew(state: AttachState<P>): Steps;
  /** arm_smmu_install_old_domain_invs(): the STE/CD changed and the master left the old domain's list. */
  installOld(state: AttachState<P>): Steps;
  /**
   * The ASID or VMID the new CD or STE carries, once prepare() succeeded:
   * the domain's (cd.asid, s2_cfg.vmid, vsmmu->vmid), or with the follow-up
   * series the attach's IOTLB tag (state->new_domain_invst.tag, v4 patch 05).
   */
  tag(state: AttachState<P>, domain: SmmuDomain | NestedDomain): number;
}

/** The pieces of the driver the attach paths need. */
export interface AttachEnv<P> {
  ctx: DriverContext;
  hooks: AttachHooks<P>;
  /**
   * arm_smmu_attach_dev()'s test of the domain against the master's SMMU:
   * "smmu", one SMMU per domain; "can_share", arm_smmu_domain_can_share()
   * (the follow-up series, v4 patch 10).
   */
  attachTest: "smmu" | "can_share";
}

function attachState<P>(env: AttachEnv<P>, master: Master, oldDomain: IommuDomain | null, ssid: number): AttachState<P> {
  return { master, oldDomain, ssid, disableAts: false, cdNeedsAts: false, atsEnabled: false, prepared: env.hooks.newState() };
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

/** `critical` under mutex_lock(&arm_smmu_asid_lock), taken at `at`, unlocked on every return (an error from prepare included). */
function asidLocked<T>(ctx: DriverContext, at: Step, critical: () => Steps<T>): Steps<T> {
  return mutexLocked(ctx.asidLock, at, critical);
}

/** arm_smmu_ats_supported() (the root complex is taken to support ATS) */
function atsSupported(master: Master): boolean {
  return master.smmu.features.has("ats") && master.dev.pci && master.dev.atsCapable;
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
 * arm_smmu_attach_prepare(): decide ATS, run the driver's prepare, add the
 * master to the new domain's list and run the driver's install of the new
 * domain, and turn ATS off on the device if it is going off. 0 or -errno,
 * with nothing changed on failure.
 */
function* attachPrepare<P>(env: AttachEnv<P>, state: AttachState<P>, newDomain: IommuDomain): Steps<number> {
  const { ctx } = env;
  const master = state.master;
  const smmuDomain = toSmmuDomainDevices(newDomain);

  if (smmuDomain || state.cdNeedsAts) {
    /* No ATS with a plain bypass/abort STE; with a CD table and S1DSS it works */
    state.atsEnabled = !state.disableAts && atsSupported(master);
  }

  const ret = env.hooks.prepare(state, newDomain);
  if (ret) return ret;

  if (smmuDomain) {
    if (!ctx.kzalloc("master_domain")) {
      yield* env.hooks.unprepare(state);
      return ctx.errno("arm_smmu_attach_prepare", ENOMEM, "!kzalloc(sizeof(*master_domain))");
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
    if (!ctx.mutations.has("publish-after-ste")) yield* env.hooks.installNew(state);
  }
  if (ctx.mutations.has("retire-before-ste")) yield* env.hooks.installOld(state);

  if (!state.atsEnabled && master.atsEnabled) {
    /* The config write disabling ATS completes before the STE can generate UR */
    yield S_DISABLE_ATS;
    master.dev.disableAts();
  }
  return 0;
}

/** arm_smmu_attach_commit(): synchronise the ATC, leave the old domain, and run the driver's install of the old domain. */
function* attachCommit<P>(env: AttachEnv<P>, state: AttachState<P>): Steps {
  const { ctx } = env;
  const master = state.master;
  if (ctx.mutations.has("publish-after-ste")) yield* env.hooks.installNew(state);
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
  if (!ctx.mutations.has("retire-before-ste")) yield* env.hooks.installOld(state);
  master.atsEnabled = state.atsEnabled;
}

/** The S2 STE of a paging domain for this master, with the attach's VMID. */
function s2Ste<P>(env: AttachEnv<P>, state: AttachState<P>, domain: SmmuDomain): Qwords {
  const master = state.master;
  return makeS2DomainSte(
    { vmid: env.hooks.tag(state, domain), vttbr: domain.pgtablePa, vtcr: s2Vtcr(domain), s2fwb: false },
    steFeatures(master),
    master.stallEnabled,
    state.atsEnabled,
  );
}

/**
 * The one-SMMU test: `smmu_domain->smmu != master->smmu` is -EINVAL at
 * `fn`, a limit of the driver rather than of the platform (reported as
 * such). Mainline keeps it everywhere; the follow-up series replaces it in
 * arm_smmu_attach_dev() and arm_vsmmu_init() only.
 */
function sameSmmu(ctx: DriverContext, fn: string, domain: SmmuDomain, master: Master): number {
  if (domain.smmu === master.smmu) return 0;
  return ctx.errno(fn, EINVAL, "smmu_domain->smmu != master->smmu", true);
}

/** arm_smmu_attach_dev()'s test: the one-SMMU test, or with the follow-up series !arm_smmu_domain_can_share(). */
function attachDevTest<P>(env: AttachEnv<P>, domain: SmmuDomain, master: Master): number {
  if (env.attachTest === "smmu") return sameSmmu(env.ctx, "arm_smmu_attach_dev", domain, master);
  const why = canShare(domain, master.smmu);
  return why ? env.ctx.errno("arm_smmu_attach_dev", EINVAL, `!arm_smmu_domain_can_share(smmu_domain, smmu): ${why}`) : 0;
}

/** arm_smmu_attach_dev() for a paging domain (bound to an SMMU already). */
export function* attachDev<P>(env: AttachEnv<P>, master: Master, domain: SmmuDomain): Steps<number> {
  const { ctx } = env;
  const ret = attachDevTest(env, domain, master);
  if (ret) return ret;

  let cdptr: Qwords | null = null;
  if (domain.stage === "S1") {
    cdptr = yield* allocCdPtr(ctx, master, IOMMU_NO_PASID);
    if (!cdptr) return ctx.errno("arm_smmu_attach_dev", ENOMEM, "!arm_smmu_alloc_cd_ptr(master, IOMMU_NO_PASID)");
  } else if (master.ssidsInUse()) {
    return ctx.errno("arm_smmu_attach_dev", EBUSY, "arm_smmu_ssids_in_use(&master->cd_table)");
  }

  /*
   * Prevent arm_smmu_share_asid() from trying to change the ASID of either
   * the old or new domain while we are working on it. This allows the STE
   * and the smmu_domain->devices list to be inconsistent during this routine.
   */
  return yield* asidLocked(ctx, S_ASID_LOCK_ATTACH_DEV, function* () {
    const state = attachState(env, master, master.domain, IOMMU_NO_PASID);
    const ret = yield* attachPrepare(env, state, domain);
    if (ret) return ret;

    if (domain.stage === "S1") {
      const targetCd = makeS1Cd(s1CdParams(domain, env.hooks.tag(state, domain)), master.stallEnabled);
      yield* writeCdEntry(ctx, master, IOMMU_NO_PASID, cdptr!, targetCd);
      yield* installSteForDev(ctx, master, cdtableSte(master, state.atsEnabled, STRTAB_STE_1_S1DSS_SSID0));
    } else {
      yield* installSteForDev(ctx, master, s2Ste(env, state, domain));
      yield* clearCd(ctx, master, IOMMU_NO_PASID);
    }
    yield* attachCommit(env, state);
    master.domain = domain;
    return 0;
  });
}

/** arm_smmu_attach_dev_nested(): a guest's stage 1 over its vSMMU's S2 parent. */
export function* attachDevNested<P>(env: AttachEnv<P>, master: Master, domain: NestedDomain): Steps<number> {
  const { ctx } = env;
  /* The kernel refuses the vSMMU itself (IOMMU_VIOMMU_ALLOC), so no nested domain can exist on it */
  if (domain.vsmmu.refused) return ctx.errno("arm_vsmmu_init", EINVAL, domain.vsmmu.refused, true);
  /* the follow-up series (v4) keeps this test */
  if (domain.vsmmu.smmu !== master.smmu.name) return ctx.errno("arm_smmu_attach_dev_nested", EINVAL, "nested_domain->vsmmu->smmu != master->smmu", true);
  if (master.ssidsInUse()) return ctx.errno("arm_smmu_attach_dev_nested", EBUSY, "arm_smmu_ssids_in_use(&master->cd_table)");

  return yield* asidLocked(ctx, S_ASID_LOCK_NESTED, function* () {
    const state = attachState(env, master, master.domain, IOMMU_NO_PASID);
    /* The VM controls the actual ATS state: base it on the vSTE's EATS */
    state.disableAts = !domain.enableAts;
    const ret = yield* attachPrepare(env, state, domain);
    if (ret) return ret;

    const parent = domain.vsmmu.s2Parent;
    const vste = nestedVste(domain);
    const ste = makeNestedDomainSte(
      { s2Parent: { vmid: env.hooks.tag(state, domain), vttbr: parent.pgtablePa, vtcr: s2Vtcr(parent), s2fwb: false }, ste: vste },
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

/** arm_smmu_attach_dev_blocked() / arm_smmu_attach_dev_identity(): the static domain's ->attach_dev(). */
export function* attachDevStatic<P>(env: AttachEnv<P>, master: Master, target: "blocked" | "identity"): Steps<number> {
  yield* attachDevSte(env, master, target === "blocked" ? BLOCKED : IDENTITY);
  return 0;
}

/**
 * arm_smmu_attach_dev_ste(): blocked or identity. With PASIDs still in use
 * the CD table stays, with S1DSS abort or bypass (and ATS kept); otherwise
 * the plain abort or bypass STE goes in.
 */
function* attachDevSte<P>(env: AttachEnv<P>, master: Master, domain: StaticDomain): Steps {
  const { ctx } = env;
  let ste = domain.type === "identity" ? makeBypassSte(steFeatures(master)) : makeAbortSte();
  const s1dss = domain.type === "identity" ? STRTAB_STE_1_S1DSS_BYPASS : STRTAB_STE_1_S1DSS_TERMINATE;

  /* Do not allow any ASID to be changed while are working on the STE, otherwise we could miss invalidations */
  yield* asidLocked(ctx, S_ASID_LOCK_DEV_STE, function* () {
    const state = attachState(env, master, master.domain, IOMMU_NO_PASID);
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
function* updateSte<P>(env: AttachEnv<P>, master: Master, atsEnabled: boolean): Steps {
  if (master.inSte && master.steAtsEnabled === atsEnabled) return;
  const sid = master.domain;
  if (sid && sid.type !== "identity" && sid.type !== "blocked") {
    env.ctx.warn("arm_smmu_update_ste", "WARN_ON(sid_domain->type != IOMMU_DOMAIN_BLOCKED)");
  }
  const s1dss = sid?.type === "identity" ? STRTAB_STE_1_S1DSS_BYPASS : STRTAB_STE_1_S1DSS_TERMINATE;
  /* Hitless: installs the CD table, or only changes EATS if it is already there */
  yield* installSteForDev(env.ctx, master, cdtableSte(master, atsEnabled, s1dss));
}

/** A make-CD function (arm_smmu_make_cd_fn, v4 patch 02): the CD for the attach's ASID. */
export type MakeCd = (asid: number) => Qwords;

/**
 * arm_smmu_set_pasid(): attach `domain` at `pasid` with the CD `makeCd`
 * makes once the attach is prepared (mainline makes it before with the
 * domain's ASID: the same CD).
 */
export function* setPasid<P>(env: AttachEnv<P>, master: Master, domain: SmmuDomain, pasid: number, makeCd: MakeCd): Steps<number> {
  const { ctx } = env;
  /* the follow-up series (v4) keeps this test; its review asked for arm_smmu_domain_can_share() */
  let ret = sameSmmu(ctx, "arm_smmu_set_pasid", domain, master);
  if (ret) return ret;
  const sid = master.domain;
  /* The RID must already use the CD table, or be blocked/identity so that it can */
  if (!master.inSte && sid && sid.type !== "identity" && sid.type !== "blocked") {
    return ctx.errno("arm_smmu_set_pasid", EINVAL, "!cd_table->in_ste && sid_domain->type != IOMMU_DOMAIN_IDENTITY && sid_domain->type != IOMMU_DOMAIN_BLOCKED");
  }

  const cdptr = yield* allocCdPtr(ctx, master, pasid);
  if (!cdptr) return ctx.errno("arm_smmu_set_pasid", ENOMEM, "!arm_smmu_alloc_cd_ptr(master, pasid)");

  return yield* asidLocked(ctx, S_ASID_LOCK_SET_PASID, function* () {
    const state = attachState(env, master, master.pasids.get(pasid) ?? null, pasid);
    ret = yield* attachPrepare(env, state, domain);
    if (ret) return ret;

    yield* writeCdEntry(ctx, master, pasid, cdptr, makeCd(env.hooks.tag(state, domain)));
    yield* updateSte(env, master, state.atsEnabled);
    yield* attachCommit(env, state);
    master.pasids.set(pasid, domain);
    return 0;
  });
}

/** arm_smmu_s1_set_dev_pasid(): an S1 paging domain at a PASID. */
export function* s1SetDevPasid<P>(env: AttachEnv<P>, master: Master, domain: SmmuDomain, pasid: number): Steps<number> {
  /* the follow-up series (v4) keeps this test too */
  const ret = sameSmmu(env.ctx, "arm_smmu_s1_set_dev_pasid", domain, master);
  if (ret) return ret;
  if (domain.stage !== "S1") return env.ctx.errno("arm_smmu_s1_set_dev_pasid", EINVAL, "smmu_domain->stage != ARM_SMMU_DOMAIN_S1");
  return yield* setPasid(env, master, domain, pasid, (asid) => makeS1Cd(s1CdParams(domain, asid), master.stallEnabled));
}

/**
 * arm_smmu_blocking_set_dev_pasid(): detach the domain at `pasid`; when the
 * last PASID goes and the RID is blocked or identity, attach that again so
 * the STE drops the CD table. Modelling choice: a RID never attached (the
 * kernel's would have its default domain) is blocked then.
 */
export function* blockingSetDevPasid<P>(env: AttachEnv<P>, master: Master, pasid: number): Steps {
  const { ctx } = env;
  const old = master.pasids.get(pasid);
  if (!old) return;
  const state = attachState(env, master, old, pasid);

  yield* asidLocked(ctx, S_ASID_LOCK_BLOCKING_PASID, function* () {
    /* The old side only, which cannot fail */
    env.hooks.prepare(state, null);
    yield* clearCd(ctx, master, pasid);
    if (master.atsEnabled) yield* atcInvMaster(ctx, master, pasid);
    yield* removeMasterDomain(master, old, pasid);
    yield* env.hooks.installOld(state);
  });
  master.pasids.delete(pasid);

  /* When the last user of the CD table goes away, downgrade the STE (outside the lock: attaching takes it again) */
  const sid = master.domain;
  if (!master.ssidsInUse() && (!sid || sid.type === "identity" || sid.type === "blocked")) {
    yield* attachDevSte(env, master, sid ?? BLOCKED);
  }
}

