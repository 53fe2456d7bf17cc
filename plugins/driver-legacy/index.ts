/**
 * driver-legacy: the arm-smmu-v3 driver BEFORE the RCU-protected
 * invalidation array, to compare with driver-invs side by side.
 *
 * Variant "v7.0". The series was applied for Linux v7.1 (../shared/KERNEL.md),
 * so v7.0 is the last release whose driver this is: the code patch 7 of the
 * seed removes (arm_smmu_atc_inv_domain(), arm_smmu_tlb_inv_range_domain(),
 * arm_smmu_tlb_inv_context(), the nr_ats_masters ordering comment, the SVA
 * notifier's CMDQ_MAX_TLBI_OPS), and the attach sequence of patch 5's
 * context lines without the array steps it adds. Where the seed shows no
 * context, the pre-series side of a stored merge of the driver was read
 * (repository Aarav90-cpu/linux-kotlin, drivers/iommu/arm/arm-smmu-v3/, the
 * side of the conflicts that is not HEAD).
 *
 * What differs from driver-invs:
 *  - a domain belongs to one SMMU: attaching it to a master behind another
 *    fails with -EINVAL (arm_smmu_attach_dev(), arm_smmu_set_pasid()). The
 *    kernel binds a domain when it is allocated for a device; a domain here
 *    is declared without one, so its first attach binds it
 *    (arm_smmu_domain_finalise()), and an S2 domain gets its VMID then;
 *  - invalidation is per domain, not per array: the TLBIs on its SMMU with
 *    a CMD_SYNC, then the ATCs of its ATS masters (walking the devices list
 *    under devices_lock, skipped while nr_ats_masters is 0) with another;
 *  - no "too big" rule for unmaps (only the SVA notifier has one), and a
 *    master's streams keep firmware order (the series sorts them);
 *  - detaching the last master flushes nothing: the domain's ASID or VMID
 *    stays live, and every later unmap still invalidates it on its SMMU;
 *  - an SVA process gets one SVA domain per SMMU (the iommu core allocates
 *    another when the driver refuses a device of another SMMU), each with
 *    its own ASID and mmu notifier, freed with a TLBI by ASID at its last
 *    unbind;
 *  - a vSMMU must sit on its S2 parent's SMMU (arm_vsmmu_init()); one that
 *    does not is refused, and so is attaching its nested domains.
 * Attach sequencing, STE/CD writes, ATS enable/disable and the command queue
 * are the arm-smmu-v3 modules both drivers share (../arm-smmu-v3), which this
 * driver runs with no steps of its own around the STE/CD change.
 */
import { type Cmd, definePlugin, type DriverSpec, DriverUnsupportedError, EINVAL, ENOENT, EOPNOTSUPP, type Gather, type InvsSnapshot, type IommuDriver, type PluginContext, type SmmuNode, type Steps, type Topology } from "../../src/index.js";
import { ArmSmmuDriver, attachDev, attachDevNested, type AttachEnv, type AttachHooks, BASE_ALLOC_SITES, DriverContext, exitMm, Master, mmuNotifierRegister, NestedDomain, probeMasters, s1SetDevPasid, type SmmuDomain, svaSetDevPasid } from "../arm-smmu-v3/index.js";
import { LegacyDomain, SvaMm } from "./domain.js";
import { mmArchInvalidateSecondaryTlbs, mmRelease, tlbInvAsid, tlbInvContext, tlbInvRangeDomain } from "./inv.js";

export const VARIANT = "v7.0";

/**
 * Before the series nothing is sequenced around the STE/CD change of an
 * attach: a domain's invalidations walk its devices list (inv.ts), which the
 * shared attach paths keep.
 */
const NO_HOOKS: AttachHooks<null> = {
  newState: () => null,
  prepare: () => 0,
  unprepare: () => {},
  *installNew() {},
  *installOld() {},
};

export class LegacyDriver extends ArmSmmuDriver<null, LegacyDomain | SvaMm> implements IommuDriver {
  readonly plugin = "driver-legacy";
  readonly variant = VARIANT;
  protected readonly env: AttachEnv<null>;
  /** The vSMMUs arm_vsmmu_init() refused, and why. */
  private readonly refusedVsmmus = new Map<string, string>();
  /** The tags of the domains bound to an SMMU: each one's unmaps invalidate it there for as long as it exists. */
  private readonly live = new Set<string>();

  constructor(pctx: PluginContext<DriverSpec>) {
    /* No invalidation array, so no "invs" allocation site */
    const ctx = new DriverContext("driver-legacy", pctx, pctx.platform, pctx.memory, pctx.clock, BASE_ALLOC_SITES);
    /* Before the series, arm_smmu_insert_master() keeps fwspec->ids in firmware order */
    super(ctx, probeMasters(ctx.platform, pctx.topology, (dev, smmu) => new Master(dev, smmu, false)));
    this.env = { ctx, vmidOf: (domain, master) => this.vmidOf(domain as LegacyDomain, master), hooks: NO_HOOKS };
    this.allocDomains(pctx.topology);
  }

  override failAllocs(site: string, count: number): void {
    if (site === "invs") throw new DriverUnsupportedError(`${this.plugin} keeps no invalidation array: fail alloc invs needs a driver that has one (driver-invs)`);
    super.failAllocs(site, count);
  }

  /**
   * Domains in declaration order. ASIDs come from the global space in that
   * order, as driver-invs numbers them (the kernel allocates one in
   * arm_smmu_domain_finalise_s1(), or arm_smmu_sva_domain_alloc()); VMIDs
   * come from the SMMU's space when the domain is bound to it.
   */
  private allocDomains(topology: Topology): void {
    const { memory } = this.ctx;
    for (const spec of topology.domains) {
      if (spec.stage === "nested") continue;
      const asid = spec.stage === "s2" ? 0 : this.ids.asid(spec.asid);
      if (spec.stage === "sva") {
        this.domains.set(spec.name, new SvaMm(spec.name, spec, memory, asid));
        continue;
      }
      const d = new LegacyDomain(spec.name, spec, memory);
      d.asid = asid;
      this.domains.set(spec.name, d);
    }
    for (const v of topology.vsmmus ?? []) {
      const parent = this.domains.get(v.parent);
      if (!(parent instanceof LegacyDomain) || parent.stage !== "S2" || !parent.nestParent) {
        throw new Error(`vSMMU ${v.name}: parent "${v.parent}" is not a nest-parent S2 domain`);
      }
      const smmu = this.ctx.platform.smmu(v.smmu);
      /* The VMM allocated the parent for a device behind this SMMU: arm_smmu_domain_alloc_paging_flags() bound it there */
      if (!parent.smmu) this.finalise(parent, smmu);
      /* arm_vsmmu_init(): -EINVAL unless s2_parent->smmu is this vSMMU's; vsmmu->vmid = s2_parent->s2_cfg.vmid */
      if (parent.smmu !== smmu) this.refusedVsmmus.set(v.name, `its S2 parent ${parent.name} is on ${parent.smmu!.name}, not ${v.smmu}`);
      this.vsmmus.set(v.name, { name: v.name, smmu: v.smmu, s2Parent: parent, vmid: parent.smmu === smmu ? parent.vmid : 0 });
    }
    this.allocNestedDomains(topology);
  }

  /**
   * arm_smmu_domain_finalise(): bind the domain to `smmu`; an S2 domain takes
   * a VMID from that SMMU's space. Modelling choice: it runs within one step
   * (the kernel does it at allocation, the ASID under arm_smmu_asid_lock in
   * arm_smmu_domain_finalise_s1()), so no attach can see it half done.
   */
  private finalise(d: LegacyDomain, smmu: SmmuNode): void {
    if (d.stage === "S2") d.vmids.set(smmu.name, this.ids.vmid(smmu.name, d.spec.vmid));
    d.smmu = smmu;
    this.live.add(d.tag!);
  }

  /**
   * Whether `d` can serve `master`: a domain serves the masters of its one
   * SMMU (arm_smmu_attach_dev() and arm_smmu_set_pasid() return -EINVAL for
   * the others). An unbound domain is bound to the master's SMMU first.
   */
  private servesMaster(d: LegacyDomain, master: Master): boolean {
    if (!d.smmu) this.finalise(d, master.smmu);
    return d.smmu === master.smmu;
  }

  /** s2_cfg.vmid: the one VMID of a domain, on the SMMU its masters are behind. */
  private vmidOf(d: LegacyDomain, master: Master): number {
    if (d.smmu !== master.smmu) throw new Error(`driver-legacy: ${d.name} is not bound to ${master.smmu.name}`);
    return d.vmid;
  }

  private paging(name: string): LegacyDomain {
    const d = this.domain(name);
    if (!(d instanceof LegacyDomain)) throw new Error(`domain "${name}" is not a paging domain`);
    return d;
  }

  private sva(name: string): SvaMm {
    const d = this.domain(name);
    if (!(d instanceof SvaMm)) throw new Error(`domain "${name}" is not an SVA domain`);
    return d;
  }

  /** arm_smmu_attach_dev_nested(), unless arm_vsmmu_init() refused the vSMMU. */
  protected override *attachDevNested(master: Master, d: NestedDomain): Steps<number> {
    const refused = this.refusedVsmmus.get(d.vsmmu.name);
    if (refused === undefined) return yield* attachDevNested(this.env, master, d);
    /* The kernel refuses the vSMMU itself (IOMMU_VIOMMU_ALLOC) and prints nothing; no nested domain can exist on it */
    this.ctx.log("arm_vsmmu_init", "info", `${d.vsmmu.name}: ${refused}: -EINVAL, so ${d.name} cannot be allocated on it`);
    return -EINVAL;
  }

  protected *attachDevPaging(master: Master, d: LegacyDomain | SvaMm): Steps<number> {
    if (d instanceof SvaMm || !this.servesMaster(d, master)) return -EINVAL;
    return yield* attachDev(this.env, master, d);
  }

  protected *setDevPasidOf(master: Master, d: LegacyDomain | SvaMm, pasid: number): Steps<number> {
    if (d instanceof SvaMm) return yield* this.svaBind(master, d, pasid);
    /* arm_smmu_s1_set_dev_pasid() */
    if (d.stage !== "S1" || !this.servesMaster(d, master)) return -EINVAL;
    return yield* s1SetDevPasid(this.env, master, d, pasid);
  }

  /**
   * iommu_sva_bind_device(): the mm's SVA domains are tried newest first
   * (the driver refuses one of another SMMU with -EINVAL before touching
   * anything); if none takes the device, a new one is allocated for it
   * (arm_smmu_sva_domain_alloc()) and freed again if that attach fails too.
   */
  private *svaBind(master: Master, mm: SvaMm, pasid: number): Steps<number> {
    const release = (): Steps => this.mmuNotifierRelease(mm);
    for (const d of [...mm.domains]) {
      if (d.smmu === master.smmu && (yield* svaSetDevPasid(this.env, master, d, pasid, release)) === 0) return 0;
    }
    const d = this.svaDomainAlloc(mm, master.smmu);
    if (typeof d === "number") return d;
    const ret = yield* svaSetDevPasid(this.env, master, d, pasid, release);
    if (ret) yield* this.svaDomainFree(d);
    return ret;
  }

  /**
   * arm_smmu_sva_domain_alloc(): -EOPNOTSUPP (the core's bind fails with it)
   * without ARM_SMMU_FEAT_SVA, else an SVA domain of the mm on `smmu`, its
   * ASID, its mmu notifier (first in the list; mmu_notifier_register() BUGs
   * on an mm with no users, the ASID already taken).
   */
  private svaDomainAlloc(mm: SvaMm, smmu: SmmuNode): LegacyDomain | number {
    if (!smmu.features.has("sva")) return -EOPNOTSUPP;
    const d = new LegacyDomain(mm.name, mm.spec, this.ctx.memory, mm);
    d.asid = mm.reservedAsid ?? this.ids.asid();
    mm.reservedAsid = undefined;
    mmuNotifierRegister(mm.mm);
    d.smmu = smmu;
    mm.domains.unshift(d);
    this.live.add(d.tag!);
    return d;
  }

  /** The core's list_del() and iommu_domain_free(): arm_smmu_sva_domain_free(). */
  protected *svaDomainFree(d: SmmuDomain): Steps {
    if (!(d instanceof LegacyDomain)) throw new Error(`domain "${d.name}" is not a driver-legacy SVA domain`);
    const mm = this.sva(d.name);
    mm.domains.splice(mm.domains.indexOf(d), 1);
    /* Ensure the ASID is empty in the iommu cache before allowing reuse */
    yield* tlbInvAsid(this.ctx, d.smmu!, d.asid);
    this.ids.freeAsid(d.asid);
    this.live.delete(d.tag!);
  }

  /** arm_smmu_iotlb_sync() -> arm_smmu_tlb_inv_range_domain() */
  *iotlbSync(domain: string, gather: Gather): Steps {
    if (!gather.pgsize) return;
    const d = this.paging(domain);
    /* No device used it, so nothing holds its translations (the kernel's domain is bound from its allocation) */
    if (!d.smmu) return;
    yield* tlbInvRangeDomain(this.ctx, BigInt(gather.start), BigInt(gather.end - gather.start + 1), gather.pgsize, true, d);
  }

  /** arm_smmu_tlb_inv_walk() -> arm_smmu_tlb_inv_range_domain(), not leaf-only. */
  *tlbFlushWalk(domain: string, iova: number, size: number, granule: number): Steps {
    const d = this.paging(domain);
    /* No device used it, so nothing holds its translations (the kernel's domain is bound from its allocation) */
    if (!d.smmu) return;
    yield* tlbInvRangeDomain(this.ctx, BigInt(iova), BigInt(size), granule, false, d);
  }

  /** arm_smmu_flush_iotlb_all(): arm_smmu_tlb_inv_context() if the domain has an SMMU. SVA domains have no flush_iotlb_all. */
  *flushIotlbAll(domain: string): Steps {
    if (this.domain(domain) instanceof SvaMm) return;
    const d = this.paging(domain);
    if (d.smmu) yield* tlbInvContext(this.ctx, d);
  }

  /** The mm's notifiers, newest first, while hooked: arm_smmu_mm_arch_invalidate_secondary_tlbs() of each of its SVA domains. */
  *mmInvalidate(domain: string, start: bigint, end: bigint): Steps {
    const mm = this.sva(domain);
    /* exit_mmap() unhooked the mm's notifiers: nothing calls them any more */
    if (mm.mm.released) return;
    for (const d of [...mm.domains]) yield* mmArchInvalidateSecondaryTlbs(this.ctx, d, start, end);
  }

  /** The process exits (exit_mm()): at the mm's last mmput(), its notifiers' release. */
  *mmRelease(domain: string): Steps {
    const mm = this.sva(domain);
    yield* exitMm(mm.mm, () => this.mmuNotifierRelease(mm));
  }

  /** mmu_notifier_release() from exit_mmap(): the mm's notifiers, newest first, arm_smmu_mm_release() of each of its SVA domains. */
  private *mmuNotifierRelease(mm: SvaMm): Steps {
    for (const d of [...mm.domains]) yield* mmRelease(this.ctx, d);
  }

  /** The guest's vSMMU commands after it changed its stage 1; a refused vSMMU has no guest queue to invalidate through. */
  override *guestInvalidate(domain: string, iova: number, size: number): Steps {
    const d = this.domains.get(domain);
    if (d instanceof NestedDomain && this.refusedVsmmus.has(d.vsmmu.name)) return;
    yield* super.guestInvalidate(domain, iova, size);
  }

  /** IOMMU_HWPT_INVALIDATE on a vSMMU IOMMU_VIOMMU_ALLOC refused: iommufd finds no such object (-ENOENT), entry_num 0. */
  override *vsmmuInvalidate(vsmmu: string, cmds: readonly Cmd[]): Steps<{ ret: number; entryNum: number }> {
    const refused = this.refusedVsmmus.get(vsmmu);
    if (refused === undefined) return yield* super.vsmmuInvalidate(vsmmu, cmds);
    this.ctx.log("arm_vsmmu_init", "info", `${vsmmu}: ${refused}: -EINVAL, so the guest has no vSMMU to invalidate through`);
    return { ret: -ENOENT, entryNum: 0 };
  }

  /** No invalidation array before the series. */
  invs(): InvsSnapshot | null {
    return null;
  }

  /** Every bound domain's ASID or VMID: before the series, a domain's unmaps invalidate it on its SMMU for as long as it exists. */
  liveTags(): ReadonlySet<string> {
    return this.live;
  }
}

export default definePlugin({
  kind: "driver",
  name: "driver-legacy",
  version: "0.1.0",
  apiVersions: [1],
  variants: [VARIANT],
  description: "arm-smmu-v3 before the invalidation array (v7.0): one SMMU per domain, ATC invalidations by walking each domain's masters",
  schema: {
    description: "The driver node: the arm-smmu-v3 driver before the invalidation array.",
    type: "object",
    properties: {
      variant: {
        description: '"v7.0": the last release before the series (applied for v7.1).',
        enum: [VARIANT],
      },
    },
  },
  setup(ctx) {
    const name = ctx.spec.variant ?? VARIANT;
    if (name !== VARIANT) throw new Error(`driver-legacy has no variant "${name}" (${VARIANT})`);
    return new LegacyDriver(ctx);
  },
});
