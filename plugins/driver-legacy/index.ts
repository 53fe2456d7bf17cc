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
 *  - a domain belongs to one SMMU (as in mainline): attaching it to a master
 *    behind another fails with -EINVAL (arm_smmu_attach_dev(),
 *    arm_smmu_set_pasid()), and a vSMMU must sit on its S2 parent's SMMU
 *    (arm_vsmmu_init()); an S2 domain gets its VMID when it is bound;
 *  - invalidation is per domain, not per array: the TLBIs on its SMMU with
 *    a CMD_SYNC, then the ATCs of its ATS masters (walking the devices list
 *    under devices_lock, skipped while nr_ats_masters is 0) with another;
 *  - no "too big" rule for unmaps (only the SVA notifier has one), and a
 *    master's streams keep firmware order (the series sorts them);
 *  - detaching the last master flushes nothing: the domain's ASID or VMID
 *    stays live, and every later unmap still invalidates it on its SMMU;
 *  - an SVA domain (one per SMMU, as the iommu core allocates them) is
 *    freed with a TLBI by ASID at its last unbind.
 * Attach sequencing, STE/CD writes, ATS enable/disable, SVA domains and the
 * command queue are the arm-smmu-v3 modules both drivers share
 * (../arm-smmu-v3), which this driver runs with no steps of its own around
 * the STE/CD change.
 */
import { definePlugin, type DomainSpec, type DriverSpec, DriverUnsupportedError, type Gather, type InvsSnapshot, type IommuDriver, type PluginContext, type SmmuNode, type Steps } from "../../src/index.js";
import { ArmSmmuDriver, type AttachEnv, type AttachHooks, BASE_ALLOC_SITES, DriverContext, Master, NestedDomain, probeMasters, type SvaProcess } from "../arm-smmu-v3/index.js";
import { LegacyDomain } from "./domain.js";
import { mmArchInvalidateSecondaryTlbs, mmRelease, tlbInvAsid, tlbInvContext, tlbInvRangeDomain } from "./inv.js";

const VARIANT = "v7.0";

/**
 * Before the series nothing is sequenced around the STE/CD change of an
 * attach: a domain's invalidations walk its devices list (inv.ts), which the
 * shared attach paths keep. A CD or STE carries the domain's own ASID or
 * VMID (a nested domain's STE its vSMMU's, the parent's).
 */
const NO_HOOKS: AttachHooks<null> = {
  newState: () => null,
  prepare: () => 0,
  *unprepare() {},
  *installNew() {},
  *installOld() {},
  tag: (_state, domain) => (domain instanceof NestedDomain ? domain.vsmmu.vmid : domain.stage === "S2" ? domain.vmid : domain.asid),
};

class LegacyDriver extends ArmSmmuDriver<null, LegacyDomain> implements IommuDriver {
  readonly plugin = "driver-legacy";
  readonly variant = VARIANT;
  protected readonly env: AttachEnv<null>;
  /** The tags of the domains bound to an SMMU: each one's unmaps invalidate it there for as long as it exists. */
  private readonly live = new Set<string>();

  constructor(pctx: PluginContext<DriverSpec>) {
    /* No invalidation array, so no "invs" allocation site */
    const ctx = new DriverContext("driver-legacy", pctx, pctx.platform, pctx.memory, pctx.clock, BASE_ALLOC_SITES);
    /* Before the series, arm_smmu_insert_master() keeps fwspec->ids in firmware order */
    super(ctx, probeMasters(ctx.platform, pctx.topology, (dev, smmu) => new Master(dev, smmu, false)));
    this.env = { ctx, hooks: NO_HOOKS, attachTest: "smmu" };
    /*
     * ASIDs come from the global space in declaration order, as driver-invs
     * numbers them (the kernel allocates one in arm_smmu_domain_finalise_s1(),
     * or arm_smmu_sva_domain_alloc()); VMIDs from the SMMU's space when the
     * domain is bound to it.
     */
    this.allocDomains(pctx.topology, (spec) => (spec.stage === "s2" ? 0 : this.ids.asid(spec.asid)));
  }

  override failAllocs(site: string, count: number): void {
    if (site === "invs") throw new DriverUnsupportedError(`${this.plugin} keeps no invalidation array: fail alloc invs needs a driver that has one (driver-invs)`);
    super.failAllocs(site, count);
  }

  protected newDomain(name: string, spec: DomainSpec, table?: SvaProcess["table"]): LegacyDomain {
    return new LegacyDomain(name, spec, this.ctx.memory, table);
  }

  /** arm_smmu_domain_finalise(): an S2 domain takes a VMID from its SMMU's space; its tag is live from then on. */
  protected override finalise(d: LegacyDomain, smmu: SmmuNode): void {
    super.finalise(d, smmu);
    if (d.stage === "S2") d.vmid = this.ids.vmid(smmu.name, d.spec.vmid);
    this.live.add(d.tag!);
  }

  /** vsmmu->vmid = s2_parent->s2_cfg.vmid */
  protected vsmmuVmid(parent: LegacyDomain): number {
    return parent.vmid;
  }

  /** arm_smmu_sva_domain_alloc()'s ASID (the process's reserved one first); the domain's tag is live from then on. */
  protected svaAsid(proc: SvaProcess): number {
    const asid = proc.reservedAsid ?? this.ids.asid();
    proc.reservedAsid = undefined;
    return asid;
  }

  override domainAllocSva(device: string, mm: string): string | number {
    const ret = super.domainAllocSva(device, mm);
    if (typeof ret === "string") this.live.add((this.domains.get(ret) as LegacyDomain).tag!);
    return ret;
  }

  /** arm_smmu_sva_domain_free(): ensure the ASID is empty in the iommu cache before allowing reuse. */
  protected *svaDomainFree(d: LegacyDomain): Steps {
    yield* tlbInvAsid(this.ctx, d.smmu!, d.asid);
    this.ids.freeAsid(d.asid);
    this.live.delete(d.tag!);
    this.uncovered.add(d.tag!);
  }

  protected svaInvalidate(d: LegacyDomain, start: bigint, end: bigint): Steps {
    return mmArchInvalidateSecondaryTlbs(this.ctx, d, start, end);
  }

  protected svaRelease(d: LegacyDomain): Steps {
    return mmRelease(this.ctx, d);
  }

  /** arm_smmu_iotlb_sync() -> arm_smmu_tlb_inv_range_domain() */
  *iotlbSync(domain: string, gather: Gather): Steps {
    if (!gather.pgsize) return;
    const d = this.smmuDomain(domain);
    /* No device used it, so nothing holds its translations (the kernel's domain is bound from its allocation) */
    if (!d.smmu) return;
    yield* tlbInvRangeDomain(this.ctx, BigInt(gather.start), BigInt(gather.end - gather.start + 1), gather.pgsize, true, d);
  }

  /** arm_smmu_tlb_inv_walk() -> arm_smmu_tlb_inv_range_domain(), not leaf-only. */
  *tlbFlushWalk(domain: string, iova: number, size: number, granule: number): Steps {
    const d = this.smmuDomain(domain);
    /* No device used it, so nothing holds its translations (the kernel's domain is bound from its allocation) */
    if (!d.smmu) return;
    yield* tlbInvRangeDomain(this.ctx, BigInt(iova), BigInt(size), granule, false, d);
  }

  /** arm_smmu_flush_iotlb_all(): arm_smmu_tlb_inv_context() if the domain has an SMMU. SVA domains have no flush_iotlb_all. */
  *flushIotlbAll(domain: string): Steps {
    const d = this.domains.get(domain);
    if (!(d instanceof LegacyDomain) || d.type === "sva") return;
    if (d.smmu) yield* tlbInvContext(this.ctx, d);
  }

  /** No invalidation array before the series. */
  invs(): InvsSnapshot | null {
    return null;
  }

  /** Every bound domain's ASID or VMID: before the series, a domain's unmaps invalidate it on its SMMU for as long as it exists. */
  liveTags(): ReadonlySet<string> {
    return this.live;
  }

  /** Tags that left `live` since the oracle last looked. */
  private readonly uncovered = new Set<string>();

  uncoveredTags(visit: (tag: string) => void): void {
    for (const t of this.uncovered) visit(t);
    this.uncovered.clear();
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
