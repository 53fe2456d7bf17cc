/**
 * driver-invs: the arm-smmu-v3 driver with the RCU-protected invalidation
 * array, as merged in mainline (Linux v7.1) or as posted in v9 (the seed).
 */
import { definePlugin, type DriverSpec, EINVAL, EOPNOTSUPP, type Gather, type InvsAlgebra, type InvsSnapshot, type IommuDriver, isErr, type PluginContext, type Steps, type Topology } from "../../src/index.js";
import { ArmSmmuDriver, attachDev, type AttachEnv, boundAtPasid, exitMm, type Master, mmuNotifierRegister, probeMasters, s1SetDevPasid, type SmmuDomain, svaSetDevPasid, U64, writeReleasedSvaCds } from "../arm-smmu-v3/index.js";
import { algebra, snapshotOf } from "./algebra.js";
import { InvsContext } from "./context.js";
import { InvsDomain, InvsMaster } from "./domain.js";
import { invsAttachHooks, type InvsAttachState } from "./hooks.js";
import { domainInv, domainInvRange } from "./inv-range.js";
import { S1_ASID, S2_VMID } from "./invs.js";
import { VARIANTS, type DriverVariant } from "./variant.js";

/** PAGE_SIZE of the kernel: the granule SVA invalidations use. */
const PAGE_SIZE = 0x1000;

/**
 * arm_smmu_sva_domain_alloc() for the mm of `domain`: -EOPNOTSUPP without
 * ARM_SMMU_FEAT_SVA, else its mmu notifier goes on the mm
 * (mmu_notifier_register(), which BUGs on an mm with no users). 0 or -errno.
 * Modelling choice: the domain allocated is `domain` again, its ASID and
 * array kept (the model keeps one SVA domain per process, see svaBindDevice).
 */
function svaDomainAlloc(master: Master, domain: SmmuDomain): number {
  if (!master.smmu.features.has("sva")) return -EOPNOTSUPP;
  mmuNotifierRegister(domain.mm!);
  return 0;
}

/** arm_smmu_mm_release(): fault every CD using the mm (under devices_lock, newest first), then arm_smmu_domain_inv(). */
function* mmRelease(ctx: InvsContext, domain: InvsDomain): Steps {
  yield* writeReleasedSvaCds(ctx, domain);
  yield* domainInv(ctx, domain);
}

export class InvsDriver extends ArmSmmuDriver<InvsAttachState, InvsDomain> implements IommuDriver {
  readonly plugin = "driver-invs";
  declare readonly ctx: InvsContext;
  protected readonly env: AttachEnv<InvsAttachState>;
  readonly invsAlgebra: InvsAlgebra;

  constructor(pctx: PluginContext<DriverSpec>, variant: DriverVariant) {
    const options = { parallelSyncs: pctx.spec.options?.parallel_syncs === true };
    const ctx = new InvsContext(pctx, pctx.platform, pctx.memory, pctx.clock, variant, options);
    /* arm_smmu_probe_device() for every endpoint: masters, with sorted streams */
    super(ctx, probeMasters(ctx.platform, pctx.topology, (dev, smmu) => new InvsMaster(dev, smmu)));
    const vmidOf = (domain: SmmuDomain, master: Master): number => this.vmidOn(domain, master.smmu.name);
    this.env = { ctx, vmidOf, hooks: invsAttachHooks(ctx, vmidOf) };
    this.invsAlgebra = algebra(ctx);
    this.allocDomains(pctx.topology);
  }

  get variant(): string {
    return this.ctx.variant.name;
  }

  /** Domains in declaration order: ASIDs from the global space; vSMMUs and their nested domains. */
  private allocDomains(topology: Topology): void {
    const { memory } = this.ctx;
    for (const spec of topology.domains) {
      if (spec.stage === "nested") continue;
      const d = new InvsDomain(spec.name, spec, memory);
      if (d.stage !== "S2") d.asid = this.ids.asid(spec.asid);
      this.domains.set(spec.name, d);
    }
    for (const v of topology.vsmmus ?? []) {
      const parent = this.domains.get(v.parent);
      if (!(parent instanceof InvsDomain) || parent.stage !== "S2" || !parent.nestParent) {
        throw new Error(`vSMMU ${v.name}: parent "${v.parent}" is not a nest-parent S2 domain`);
      }
      /* arm_vsmmu_init(): vsmmu->vmid = s2_parent->s2_cfg.vmid */
      this.vsmmus.set(v.name, { name: v.name, smmu: v.smmu, s2Parent: parent, vmid: this.vmidOn(parent, v.smmu) });
    }
    this.allocNestedDomains(topology);
  }

  /** An S2 domain's VMID on `smmu`, allocated from that SMMU's VMID space on first use. */
  private vmidOn(domain: SmmuDomain, smmu: string): number {
    let vmid = domain.vmids.get(smmu);
    if (vmid === undefined) {
      vmid = this.ids.vmid(smmu, domain.spec.vmid);
      domain.vmids.set(smmu, vmid);
    }
    return vmid;
  }

  private paging(name: string): InvsDomain {
    const d = this.domain(name);
    if (!(d instanceof InvsDomain)) throw new Error(`domain "${name}" is not a paging or SVA domain`);
    return d;
  }

  protected *attachDevPaging(master: Master, d: InvsDomain): Steps<number> {
    if (d.type === "sva") return -EINVAL;
    return yield* attachDev(this.env, master, d);
  }

  protected *setDevPasidOf(master: Master, d: InvsDomain, pasid: number): Steps<number> {
    if (d.type === "sva") return yield* this.svaBindDevice(master, d, pasid);
    if (d.stage !== "S1") return -EINVAL;
    return yield* s1SetDevPasid(this.env, master, d, pasid);
  }

  /**
   * iommu_sva_bind_device()'s search and allocation, under the iommu core's
   * iommu_sva_lock (IommuCore holds it around this call). The mm's SVA domain
   * is on its sva_domains list while a PASID has it: the device is tried on
   * it (arm_smmu_sva_set_dev_pasid()); if it refuses, or the list is empty,
   * the core allocates a domain (arm_smmu_sva_domain_alloc()) and attaches
   * that. Modelling choice: one SVA domain per process, used on every SMMU
   * (see attachDev), so what is allocated is `d` again; and when a live mm's
   * domain refuses, its error is the bind's (the kernel would allocate a new
   * domain and try again). A dead mm's refusal (-EINVAL) goes on to the
   * allocation, which BUGs in mmu_notifier_register().
   */
  private *svaBindDevice(master: Master, d: InvsDomain, pasid: number): Steps<number> {
    const release = (): Steps => mmRelease(this.ctx, d);
    if (boundAtPasid(this.masters.values(), d)) {
      const ret = yield* svaSetDevPasid(this.env, master, d, pasid, release);
      if (ret === 0 || d.mm!.users > 0) return ret;
    }
    const ret = svaDomainAlloc(master, d);
    if (ret) return ret;
    return yield* svaSetDevPasid(this.env, master, d, pasid, release);
  }

  /** arm_smmu_sva_domain_free(): the last unbind's arm_smmu_domain_inv(). */
  protected *svaDomainFree(d: SmmuDomain): Steps {
    yield* domainInv(this.ctx, this.paging(d.name));
  }

  /** arm_smmu_iotlb_sync() */
  *iotlbSync(domain: string, gather: Gather): Steps {
    if (!gather.pgsize) return;
    const d = this.paging(domain);
    yield* domainInvRange(this.ctx, d, BigInt(gather.start), BigInt(gather.end - gather.start + 1), gather.pgsize, true);
  }

  /** arm_smmu_tlb_inv_walk(): the range a freed table covered, not leaf-only. */
  *tlbFlushWalk(domain: string, iova: number, size: number, granule: number): Steps {
    yield* domainInvRange(this.ctx, this.paging(domain), BigInt(iova), BigInt(size), granule, false);
  }

  /**
   * iommu_flush_iotlb_all() -> arm_smmu_flush_iotlb_all() -> arm_smmu_tlb_inv_context().
   * An SVA domain's ops (arm_smmu_sva_domain_ops) have no flush_iotlb_all,
   * so the core calls nothing for one.
   */
  *flushIotlbAll(domain: string): Steps {
    const d = this.paging(domain);
    if (d.type === "sva") return;
    yield* domainInv(this.ctx, d);
  }

  /** arm_smmu_mm_arch_invalidate_secondary_tlbs(), while the mm's notifier is hooked. */
  *mmInvalidate(domain: string, start: bigint, end: bigint): Steps {
    const d = this.paging(domain);
    /* exit_mmap() unhooked the mm's notifiers: nothing calls this one any more */
    if (d.mm?.released) return;
    const size = (end - start) & U64;
    yield* domainInvRange(this.ctx, d, start, size, PAGE_SIZE, false);
  }

  /** The process exits (exit_mm()): at the mm's last mmput(), arm_smmu_mm_release(). */
  *mmRelease(domain: string): Steps {
    const d = this.paging(domain);
    if (!d.mm) throw new Error(`domain "${domain}" is not an SVA domain`);
    yield* exitMm(d.mm, () => mmRelease(this.ctx, d));
  }

  invs(domain: string): InvsSnapshot | null {
    const d = this.domains.get(domain);
    if (!(d instanceof InvsDomain)) return null;
    const invs = d.invs.protected_();
    if (isErr(invs)) return { entries: [], trashes: 0, hasAts: false, error: invs.toString() };
    return snapshotOf(this.ctx, invs);
  }

  /** The ASIDs and VMIDs live entries cover; only the domains whose array changed are looked at again. */
  liveTags(): ReadonlySet<string> {
    for (const name of this.ctx.changedInvs) {
      for (const t of this.tagsByDomain.get(name) ?? []) {
        const n = this.tagCount.get(t)! - 1;
        this.tagCount.set(t, n);
        if (n === 0) {
          this.live.delete(t);
          this.uncovered.add(t);
        }
      }
      const tags = this.domainTags(name);
      this.tagsByDomain.set(name, tags);
      for (const t of tags) {
        const n = (this.tagCount.get(t) ?? 0) + 1;
        this.tagCount.set(t, n);
        if (n === 1) {
          this.live.add(t);
          this.uncovered.delete(t);
        }
      }
    }
    this.ctx.changedInvs.clear();
    return this.live;
  }

  /** Tags that left `live` since uncoveredTags() last looked (some may be back: the oracle checks). */
  private readonly uncovered = new Set<string>();

  uncoveredTags(visit: (tag: string) => void): void {
    for (const t of this.uncovered) visit(t);
    this.uncovered.clear();
  }

  private readonly tagsByDomain = new Map<string, string[]>();
  /** How many domains' live entries cover each tag; `live` holds those with a count above 0. */
  private readonly tagCount = new Map<string, number>();
  private readonly live = new Set<string>();

  private domainTags(name: string): string[] {
    const d = this.domains.get(name);
    const invs = d instanceof InvsDomain ? d.invs.protected_() : null;
    if (!invs || isErr(invs)) return [];
    const tags = new Set<string>();
    for (let i = 0; i < invs.numInvs; i++) {
      if (invs.users(i) === 0) continue;
      const smmu = this.ctx.smmuName(invs.smmu(i));
      if (invs.type(i) === S1_ASID) tags.add(`${smmu} asid ${invs.id(i)}`);
      else if (invs.type(i) === S2_VMID) tags.add(`${smmu} vmid ${invs.id(i)}`);
    }
    return [...tags];
  }
}

export default definePlugin({
  kind: "driver",
  name: "driver-invs",
  version: "0.1.0",
  apiVersions: [1],
  variants: ["mainline", "v9"],
  description: "arm-smmu-v3 with the RCU-protected invalidation array (mainline v7.1, or v9 as posted)",
  schema: {
    description: "The driver node: which version of arm-smmu-v3's invalidation array to model.",
    type: "object",
    properties: {
      variant: {
        description: '"mainline" (v7.1, the default) or "v9" (the series as posted).',
        enum: ["mainline", "v9"],
      },
      options: {
        description: "Behaviour beyond the kernel's, to measure what it would change.",
        type: "object",
        properties: {
          parallel_syncs: {
            description:
              "arm_smmu_domain_inv_range() issues every SMMU's batch and CMD_SYNC before waiting on any (waiting only for an earlier sync on the same SMMU); false by default, as the kernel waits for each.",
            type: "boolean",
          },
        },
      },
    },
  },
  setup(ctx) {
    const name = ctx.spec.variant ?? "mainline";
    const variant = VARIANTS[name as keyof typeof VARIANTS];
    if (!variant) throw new Error(`driver-invs has no variant "${name}" (mainline, v9)`);
    return new InvsDriver(ctx, variant);
  },
});
