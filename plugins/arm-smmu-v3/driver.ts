/**
 * What the two arm-smmu-v3 driver plugins are alike as an IommuDriver (the
 * arm_smmu_ops both have): the masters probed at setup, the domains and
 * vSMMUs by name, the iommu core's view of what is attached, allocation
 * fault injection, and ->attach_dev(), ->set_dev_pasid() and the blocked
 * domain's ->set_dev_pasid() on the shared attach paths. A driver adds its
 * domains, its invalidations and its SVA domains.
 */
import { type Cmd, type DriverDomain, EINVAL, type Steps, type Topology } from "../../src/index.js";
import { attachDevNested, attachDevStatic, blockingSetDevPasid, type AttachEnv } from "./attach.js";
import type { DriverContext } from "./context.js";
import { domainNamed, IdAllocator, NestedDomain, SmmuDomain, type Vsmmu } from "./domain.js";
import { boundAtPasid, masterNamed, type Master } from "./master.js";
import { allocNestedDomains, guestInvalidate, vsmmuCacheInvalidate, type VsmmuInvalidateResult } from "./vsmmu.js";

export abstract class ArmSmmuDriver<P, D extends DriverDomain> {
  abstract readonly plugin: string;
  abstract readonly variant: string;
  /** The shared attach paths with this driver's VMIDs and hooks. */
  protected abstract readonly env: AttachEnv<P>;
  protected readonly ids = new IdAllocator();
  protected readonly domains = new Map<string, D | NestedDomain>();
  protected readonly vsmmus = new Map<string, Vsmmu>();

  constructor(
    readonly ctx: DriverContext,
    protected readonly masters: ReadonlyMap<string, Master>,
  ) {}

  get allocSites(): readonly string[] {
    return this.ctx.allocSites;
  }

  failAllocs(site: string, count: number): void {
    this.ctx.failAllocs(site, count);
  }

  master(device: string): Master {
    return masterNamed(this.masters, device);
  }

  domain(name: string): DriverDomain {
    return domainNamed(this.domains, name);
  }

  /** The iommu core's view the masters keep: the domain on the RID, or at `pasid`. */
  attached(device: string, pasid?: number): string | null {
    const master = this.master(device);
    return (pasid === undefined ? master.domain : master.pasids.get(pasid))?.name ?? null;
  }

  maxPasids(device: string): number {
    return this.master(device).maxPasids;
  }

  /** The topology's nested domains, on the vSMMUs allocated already. */
  protected allocNestedDomains(topology: Topology): void {
    for (const d of allocNestedDomains(topology, this.vsmmus, this.ctx.memory)) this.domains.set(d.name, d);
  }

  /** ->attach_dev(): the static domain's, arm_smmu_attach_dev_nested(), or arm_smmu_attach_dev(). */
  *attachDev(device: string, target: string): Steps<number> {
    const master = this.master(device);
    if (target === "blocked" || target === "identity") return yield* attachDevStatic(this.env, master, target);
    const d = domainNamed(this.domains, target);
    if (d instanceof NestedDomain) return yield* this.attachDevNested(master, d);
    return yield* this.attachDevPaging(master, d);
  }

  /** arm_smmu_attach_dev_nested() */
  protected attachDevNested(master: Master, d: NestedDomain): Steps<number> {
    return attachDevNested(this.env, master, d);
  }

  /** arm_smmu_attach_dev() of a paging domain (an SVA domain has no ->attach_dev(): -EINVAL). */
  protected abstract attachDevPaging(master: Master, d: D): Steps<number>;

  /** ->set_dev_pasid(): a nested domain cannot be attached at a PASID (-EINVAL). */
  *setDevPasid(device: string, domain: string, pasid: number): Steps<number> {
    const master = this.master(device);
    const d = domainNamed(this.domains, domain);
    if (d instanceof NestedDomain) return -EINVAL;
    return yield* this.setDevPasidOf(master, d, pasid);
  }

  /** arm_smmu_s1_set_dev_pasid(), or for a process iommu_sva_bind_device() (under the core's iommu_sva_lock). */
  protected abstract setDevPasidOf(master: Master, d: D, pasid: number): Steps<number>;

  /**
   * arm_smmu_blocking_set_dev_pasid(); for a process, inside
   * iommu_sva_unbind_device() (under the core's iommu_sva_lock), and the
   * last unbind frees the SVA domain.
   */
  *removeDevPasid(device: string, pasid: number): Steps {
    const master = this.master(device);
    const old = master.pasids.get(pasid);
    yield* blockingSetDevPasid(this.env, master, pasid);
    if (old instanceof SmmuDomain && old.type === "sva" && !boundAtPasid(this.masters.values(), old)) yield* this.svaDomainFree(old);
  }

  /** iommu_domain_free() of an SVA domain: arm_smmu_sva_domain_free(). */
  protected abstract svaDomainFree(d: SmmuDomain): Steps;

  /** The guest's vSMMU commands after it changed its stage 1, through arm_vsmmu_cache_invalidate(). */
  *guestInvalidate(domain: string, iova: number, size: number): Steps {
    const d = this.domains.get(domain);
    if (!(d instanceof NestedDomain)) throw new Error(`domain "${domain}" is not a nested domain`);
    yield* guestInvalidate(this.ctx, [...this.masters.values()], d, iova, size);
  }

  /** IOMMU_HWPT_INVALIDATE on the vSMMU: arm_vsmmu_cache_invalidate() with the guest's commands. */
  *vsmmuInvalidate(vsmmu: string, cmds: readonly Cmd[]): Steps<VsmmuInvalidateResult> {
    const v = this.vsmmus.get(vsmmu);
    if (!v) throw new Error(`no vSMMU named "${vsmmu}"`);
    return yield* vsmmuCacheInvalidate(this.ctx, v, [...this.masters.values()], cmds);
  }
}
