/**
 * What the two arm-smmu-v3 driver plugins are alike as an IommuDriver (the
 * arm_smmu_ops both have): the masters probed at setup, the domains, SVA
 * processes and vSMMUs by name, the iommu core's view of what is attached,
 * allocation fault injection, ->attach_dev(), ->set_dev_pasid() and the
 * blocked domain's ->set_dev_pasid() on the shared attach paths, and SVA
 * domains (->domain_alloc_sva(), their free, the mm's notifiers). A driver
 * adds its domains, its IOTLB tags and its invalidations.
 */
import { type Cmd, type DomainSpec, type DriverDomain, ENODEV, ENOENT, EOPNOTSUPP, type SmmuNode, type Steps, type Topology } from "../../src/index.js";
import { attachDev, attachDevNested, attachDevStatic, blockingSetDevPasid, s1SetDevPasid, type AttachEnv } from "./attach.js";
import type { DriverContext } from "./context.js";
import { canShare, domainNamed, IdAllocator, NestedDomain, SmmuDomain, SvaProcess, type Vsmmu } from "./domain.js";
import { masterNamed, type Master } from "./master.js";
import { exitMm, mmuNotifierRegister } from "./mm.js";
import { svaSetDevPasid } from "./sva.js";
import { allocNestedDomains, guestInvalidate, vsmmuCacheInvalidate, type VsmmuInvalidateResult } from "./vsmmu.js";

export abstract class ArmSmmuDriver<P, D extends SmmuDomain> {
  abstract readonly plugin: string;
  abstract readonly variant: string;
  /** The shared attach paths with this driver's hooks. */
  protected abstract readonly env: AttachEnv<P>;
  protected readonly ids = new IdAllocator();
  protected readonly domains = new Map<string, D | NestedDomain | SvaProcess>();
  protected readonly vsmmus = new Map<string, Vsmmu>();

  constructor(
    readonly ctx: DriverContext,
    protected readonly masters: ReadonlyMap<string, Master>,
  ) {}

  /** This driver's struct arm_smmu_domain for a paging domain, or for an SVA domain of `table`'s process. */
  protected abstract newDomain(name: string, spec: DomainSpec, table?: SvaProcess["table"]): D;

  /**
   * arm_smmu_domain_finalise() binding `d` to `smmu`, plus the ids the
   * driver allocates then (s2_cfg.vmid; none with the follow-up series).
   * Modelling choice: it runs within one step (the kernel does it at
   * allocation), so no attach can see it half done.
   */
  protected finalise(d: D, smmu: SmmuNode): void {
    d.smmu = smmu;
  }

  /** vsmmu->vmid for a vSMMU on `smmu` over `parent` (arm_vsmmu_init() accepted it). */
  protected abstract vsmmuVmid(parent: D, smmu: SmmuNode): number;

  /** The ASID an SVA domain of `proc` takes at arm_smmu_sva_domain_alloc() (0: none, the tags live in the array). */
  protected abstract svaAsid(proc: SvaProcess): number;

  /** arm_smmu_sva_domain_free(): what the driver does before the notifier is put. */
  protected abstract svaDomainFree(d: D): Steps;

  /** arm_smmu_mm_arch_invalidate_secondary_tlbs() of one SVA domain, for [start, end). */
  protected abstract svaInvalidate(d: D, start: bigint, end: bigint): Steps;

  /** arm_smmu_mm_release() of one SVA domain. */
  protected abstract svaRelease(d: D): Steps;

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

  /**
   * The topology's domains in declaration order (`asidOf` numbers what the
   * driver allocates then), its vSMMUs, and their nested domains.
   */
  protected allocDomains(topology: Topology, asidOf: (spec: DomainSpec) => number): void {
    const { memory } = this.ctx;
    this.ids.pin(topology.domains);
    for (const spec of topology.domains) {
      if (spec.stage === "nested") continue;
      const asid = asidOf(spec);
      if (spec.stage === "sva") {
        this.domains.set(spec.name, new SvaProcess(spec.name, spec, memory, asid || undefined));
        continue;
      }
      const d = this.newDomain(spec.name, spec);
      d.asid = asid;
      this.domains.set(spec.name, d);
    }
    for (const v of topology.vsmmus ?? []) this.vsmmus.set(v.name, this.vsmmuInit(v.name, v.parent, this.ctx.platform.smmu(v.smmu)));
    for (const d of allocNestedDomains(topology, this.vsmmus, memory)) this.domains.set(d.name, d);
  }

  /**
   * arm_vsmmu_init(): a vSMMU on `smmu` over the nest parent `parentName`.
   * The VMM allocated the parent for a device behind this SMMU if nothing
   * bound it before (arm_smmu_domain_alloc_paging_flags()); a parent of
   * another SMMU is refused (-EINVAL) with the one-SMMU test, or with the
   * follow-up series unless arm_smmu_domain_can_share().
   */
  private vsmmuInit(name: string, parentName: string, smmu: SmmuNode): Vsmmu {
    const parent = this.domains.get(parentName);
    if (!(parent instanceof SmmuDomain) || parent.stage !== "S2" || !parent.nestParent) {
      throw new Error(`vSMMU ${name}: parent "${parentName}" is not a nest-parent S2 domain`);
    }
    const d = parent as D;
    if (!d.smmu) this.finalise(d, smmu);
    let refused: string | undefined;
    if (this.env.attachTest === "smmu") {
      if (d.smmu !== smmu) refused = `s2_parent->smmu != smmu (${name}: its S2 parent ${d.name} is on ${d.smmu!.name}, not ${smmu.name})`;
    } else {
      const why = canShare(d, smmu);
      if (why) refused = `!arm_smmu_domain_can_share(s2_parent, smmu): ${why}`;
    }
    if (refused) return { name, smmu: smmu.name, s2Parent: d, vmid: 0, refused };
    return { name, smmu: smmu.name, s2Parent: d, vmid: this.vsmmuVmid(d, smmu) };
  }

  /** A paging or SVA domain of this driver named `name`. */
  protected smmuDomain(name: string): D {
    const d = this.domains.get(name);
    if (!(d instanceof SmmuDomain)) throw new Error(`domain "${name}" is not a paging or SVA domain`);
    return d;
  }

  /** The SVA process named `name`. */
  protected process(name: string): SvaProcess {
    const p = this.domains.get(name);
    if (!(p instanceof SvaProcess)) throw new Error(`domain "${name}" is not an SVA process`);
    return p;
  }

  /** A paging domain, bound to `master`'s SMMU if nothing bound it yet. */
  private boundFor(d: D, master: Master): D {
    if (!d.smmu) this.finalise(d, master.smmu);
    return d;
  }

  /** ->attach_dev(): the static domain's, arm_smmu_attach_dev_nested(), or arm_smmu_attach_dev(). */
  *attachDev(device: string, target: string): Steps<number> {
    const master = this.master(device);
    if (target === "blocked" || target === "identity") return yield* attachDevStatic(this.env, master, target);
    const d = domainNamed(this.domains, target);
    if (d instanceof NestedDomain) return yield* attachDevNested(this.env, master, d);
    /* __iommu_attach_device(): arm_smmu_sva_domain_ops has no attach_dev */
    if (d instanceof SvaProcess || d.type === "sva") return this.ctx.errno("__iommu_attach_device", ENODEV, "domain->ops->attach_dev == NULL (an SVA domain)");
    return yield* attachDev(this.env, master, this.boundFor(d, master));
  }

  /**
   * ->set_dev_pasid(): arm_smmu_sva_set_dev_pasid() of an SVA domain the
   * core allocated, or arm_smmu_s1_set_dev_pasid(). A nested domain has no
   * ->set_dev_pasid() (-EOPNOTSUPP from the core's
   * iommu_attach_device_pasid()), and a process is attached only through the
   * core's iommu_sva_bind_device().
   */
  *setDevPasid(device: string, domain: string, pasid: number): Steps<number> {
    const master = this.master(device);
    const d = domainNamed(this.domains, domain);
    if (d instanceof NestedDomain) return this.ctx.errno("iommu_attach_device_pasid", EOPNOTSUPP, "!domain->ops->set_dev_pasid (a nested domain)");
    if (d instanceof SvaProcess) throw new Error(`"${domain}" is an SVA process: bind it through the iommu core`);
    if (d.type === "sva") return yield* svaSetDevPasid(this.env, master, d, pasid, () => this.mmuNotifierRelease(this.process(d.spec.name)));
    return yield* s1SetDevPasid(this.env, master, this.boundFor(d, master), pasid);
  }

  /** arm_smmu_blocking_set_dev_pasid(); for a bind's PASID inside iommu_sva_unbind_device(), which frees the domain after. */
  *removeDevPasid(device: string, pasid: number): Steps {
    yield* blockingSetDevPasid(this.env, this.master(device), pasid);
  }

  /**
   * arm_smmu_sva_domain_alloc(): an SVA domain of the process `mm` for
   * `device`, bound to its SMMU, with its ASID (unless the tags live in the
   * array) and its mmu notifier on the mm (mmu_notifier_register() BUGs on
   * an mm with no users). Its name is the process's and the SMMU's:
   * "proc@smmu0". -EOPNOTSUPP without ARM_SMMU_FEAT_SVA.
   */
  domainAllocSva(device: string, mm: string): string | number {
    const master = this.master(device);
    const proc = this.process(mm);
    if (!master.smmu.features.has("sva")) return this.ctx.errno("arm_smmu_sva_domain_alloc", EOPNOTSUPP, "!(master->smmu->features & ARM_SMMU_FEAT_SVA)");
    const d = this.newDomain(this.svaDomainName(proc, master.smmu), proc.spec, proc.table);
    d.smmu = master.smmu;
    d.asid = this.svaAsid(proc);
    mmuNotifierRegister(proc.mm);
    proc.notifiers.unshift(d);
    this.domains.set(d.name, d);
    return d.name;
  }

  /** "proc@smmu0", or "proc@smmu0#2" while another SVA domain of the process on that SMMU lives. */
  private svaDomainName(proc: SvaProcess, smmu: SmmuNode): string {
    const base = `${proc.name}@${smmu.name}`;
    let name = base;
    for (let n = 2; this.domains.has(name); n++) name = `${base}#${n}`;
    return name;
  }

  /** iommu_domain_free() of an SVA domain: arm_smmu_sva_domain_free(), then mmu_notifier_put() takes its notifier off the mm. */
  *domainFree(domain: string): Steps {
    const d = this.smmuDomain(domain);
    if (d.type !== "sva") throw new Error(`"${domain}" is not an SVA domain: the iommu core frees only those`);
    yield* this.svaDomainFree(d);
    const proc = this.process(d.spec.name);
    proc.notifiers.splice(proc.notifiers.indexOf(d), 1);
    this.domains.delete(domain);
  }

  /** The mm's notifiers, newest first, while hooked: arm_smmu_mm_arch_invalidate_secondary_tlbs() of each of its SVA domains. */
  *mmInvalidate(domain: string, start: bigint, end: bigint): Steps {
    const proc = this.process(domain);
    /* exit_mmap() unhooked the mm's notifiers: nothing calls them any more */
    if (proc.mm.released) return;
    for (const d of [...proc.notifiers]) yield* this.svaInvalidate(d as D, start, end);
  }

  /** The process exits (exit_mm()): at the mm's last mmput(), its notifiers' release. */
  *mmRelease(domain: string): Steps {
    const proc = this.process(domain);
    yield* exitMm(proc.mm, () => this.mmuNotifierRelease(proc));
  }

  /** mmu_notifier_release() from exit_mmap(): the mm's notifiers, newest first, arm_smmu_mm_release() of each SVA domain. */
  private *mmuNotifierRelease(proc: SvaProcess): Steps {
    for (const d of [...proc.notifiers]) yield* this.svaRelease(d as D);
  }

  /** The guest's vSMMU commands after it changed its stage 1, through arm_vsmmu_cache_invalidate(); a refused vSMMU has no guest queue. */
  *guestInvalidate(domain: string, iova: number, size: number): Steps {
    const d = this.domains.get(domain);
    if (!(d instanceof NestedDomain)) throw new Error(`domain "${domain}" is not a nested domain`);
    if (d.vsmmu.refused) return;
    yield* guestInvalidate(this.ctx, [...this.masters.values()], d, iova, size);
  }

  /**
   * IOMMU_HWPT_INVALIDATE on the vSMMU: arm_vsmmu_cache_invalidate() with
   * the guest's commands. A vSMMU arm_vsmmu_init() refused does not exist
   * (IOMMU_VIOMMU_ALLOC failed): iommufd finds no such object, -ENOENT with
   * entry_num 0, nothing sent.
   */
  *vsmmuInvalidate(vsmmu: string, cmds: readonly Cmd[]): Steps<VsmmuInvalidateResult> {
    const v = this.vsmmus.get(vsmmu);
    if (!v) throw new Error(`no vSMMU named "${vsmmu}"`);
    if (v.refused) return { ret: this.ctx.errno("iommufd_viommu_find", ENOENT, `no such vIOMMU: arm_vsmmu_init() refused it (${v.refused})`, true), entryNum: 0 };
    return yield* vsmmuCacheInvalidate(this.ctx, v, [...this.masters.values()], cmds);
  }
}
