/**
 * driver-invs: the arm-smmu-v3 driver with the RCU-protected invalidation
 * array, as merged in mainline (Linux v7.1), as posted in v9 (the seed), or
 * mainline with the follow-up series sharing domains across SMMU/vSMMU
 * instances, as posted in v4 (`share`); ./variant.ts says how they differ.
 */
import { definePlugin, type DomainSpec, type DriverSpec, type Gather, type InvsAlgebra, type InvsSnapshot, type IommuDriver, isErr, type PluginContext, type SmmuNode, type Steps } from "../../src/index.js";
import { ArmSmmuDriver, type AttachEnv, type Master, probeMasters, SvaProcess, U64, writeReleasedSvaCds } from "../arm-smmu-v3/index.js";
import { algebra, snapshotOf } from "./algebra.js";
import { InvsContext } from "./context.js";
import { InvsDomain, InvsMaster } from "./domain.js";
import { invsAttachHooks, type InvsAttachState } from "./hooks.js";
import { domainInv, domainInvRange } from "./inv-range.js";
import { S1_ASID, S2_VMID, S2_VMID_VSMMU } from "./invs.js";
import { findIotlbTag } from "./tags.js";
import { VARIANT_NAMES, VARIANTS, type DriverVariant } from "./variant.js";

/** PAGE_SIZE of the kernel: the granule SVA invalidations use. */
const PAGE_SIZE = 0x1000;

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
    this.env = { ctx, hooks: invsAttachHooks(ctx, this.ids), attachTest: variant.attachTest };
    this.invsAlgebra = algebra(ctx);
    /* Declaration order: ASIDs from the global space, unless the tags live in the arrays (allocated at attach) */
    const domainIds = variant.iotlbTag === "domain";
    this.allocDomains(pctx.topology, (spec) => (domainIds && spec.stage !== "s2" ? this.ids.asid(spec.asid) : 0));
  }

  get variant(): string {
    return this.ctx.variant.name;
  }

  protected newDomain(name: string, spec: DomainSpec, table?: SvaProcess["table"]): InvsDomain {
    return new InvsDomain(name, spec, this.ctx.memory, table);
  }

  /** arm_smmu_domain_finalise(): an S2 domain's VMID from its SMMU's space (arm_smmu_domain_finalise_s2()), unless the tags live in the arrays. */
  protected override finalise(d: InvsDomain, smmu: SmmuNode): void {
    super.finalise(d, smmu);
    if (d.stage === "S2" && this.ctx.variant.iotlbTag === "domain") d.vmid = this.ids.vmid(smmu.name, d.spec.vmid);
  }

  /** vsmmu->vmid: s2_parent->s2_cfg.vmid, or with the follow-up series one of its own from its SMMU (arm_vsmmu_init(), v4 patch 08). */
  protected vsmmuVmid(parent: InvsDomain, smmu: SmmuNode): number {
    return this.ctx.variant.vsmmuVmid === "own" ? this.ids.vmid(smmu.name) : parent.vmid;
  }

  /** arm_smmu_sva_domain_alloc()'s ASID: the process's reserved one first; none with the follow-up series (v4 patch 09). */
  protected svaAsid(proc: SvaProcess): number {
    if (this.ctx.variant.iotlbTag === "invs") return 0;
    const asid = proc.reservedAsid ?? this.ids.asid();
    proc.reservedAsid = undefined;
    return asid;
  }

  /**
   * arm_smmu_sva_domain_free(): arm_smmu_domain_inv() (its array is empty by
   * the last unbind, so nothing is sent; v4 as posted keeps the call, which
   * its review asked to drop), and mainline's xa_erase() of the ASID.
   */
  protected *svaDomainFree(d: InvsDomain): Steps {
    yield* domainInv(this.ctx, d);
    if (this.ctx.variant.iotlbTag === "domain") this.ids.freeAsid(d.asid);
  }

  /** arm_smmu_mm_arch_invalidate_secondary_tlbs() */
  protected *svaInvalidate(d: InvsDomain, start: bigint, end: bigint): Steps {
    const size = (end - start) & U64;
    yield* domainInvRange(this.ctx, d, start, size, PAGE_SIZE, false);
  }

  /**
   * arm_smmu_mm_release(): fault every CD using the mm (under devices_lock,
   * newest first), then arm_smmu_domain_inv(). Each CD keeps its ASID: the
   * domain's, or with the follow-up series the tag found for the master's
   * SMMU (v4 patch 05; none found is a WARN and the CD is left).
   */
  protected *svaRelease(d: InvsDomain): Steps {
    yield* writeReleasedSvaCds(this.ctx, d, (master: Master) => {
      if (this.ctx.variant.iotlbTag === "domain") return d.asid;
      const tag = findIotlbTag(this.ctx, d, master.smmu);
      if (!tag) this.ctx.warn("arm_smmu_mm_release", "WARN_ON(arm_smmu_find_iotlb_tag())");
      return tag?.id ?? null;
    });
    yield* domainInv(this.ctx, d);
  }

  /** arm_smmu_iotlb_sync() */
  *iotlbSync(domain: string, gather: Gather): Steps {
    if (!gather.pgsize) return;
    const d = this.smmuDomain(domain);
    yield* domainInvRange(this.ctx, d, BigInt(gather.start), BigInt(gather.end - gather.start + 1), gather.pgsize, true);
  }

  /** arm_smmu_tlb_inv_walk(): the range a freed table covered, not leaf-only. */
  *tlbFlushWalk(domain: string, iova: number, size: number, granule: number): Steps {
    yield* domainInvRange(this.ctx, this.smmuDomain(domain), BigInt(iova), BigInt(size), granule, false);
  }

  /**
   * iommu_flush_iotlb_all() -> arm_smmu_flush_iotlb_all() -> arm_smmu_tlb_inv_context().
   * An SVA domain's ops (arm_smmu_sva_domain_ops) have no flush_iotlb_all,
   * so the core calls nothing for one.
   */
  *flushIotlbAll(domain: string): Steps {
    const d = this.domains.get(domain);
    if (!(d instanceof InvsDomain) || d.type === "sva") return;
    yield* domainInv(this.ctx, d);
  }

  /** A domain's array; a process has none of its own (the iommu core lists its SVA domains'), so it shows empty. */
  invs(domain: string): InvsSnapshot | null {
    const d = this.domains.get(domain);
    if (d instanceof SvaProcess) return { entries: [], trashes: 0, hasAts: false };
    if (!(d instanceof InvsDomain)) return null;
    const invs = d.invs.protected_();
    if (isErr(invs)) return { entries: [], trashes: 0, hasAts: false, error: invs.toString() };
    return snapshotOf(this.ctx, invs);
  }

  invsEntries(domain: string): number | null {
    const d = this.domains.get(domain);
    if (d instanceof SvaProcess) return 0;
    if (!(d instanceof InvsDomain)) return null;
    const invs = d.invs.protected_();
    return isErr(invs) ? null : invs.numInvs;
  }

  /**
   * The ASIDs and VMIDs live entries cover; only the domains whose array
   * changed are looked at again, and one whose tags are what they were
   * changes nothing.
   */
  liveTags(): ReadonlySet<string> {
    for (const name of this.ctx.changedInvs) {
      const before = this.tagsByDomain.get(name) ?? NO_TAGS;
      const tags = this.domainTags(name);
      if (sameTags(before, tags)) continue;
      for (const t of before) {
        const n = this.tagCount.get(t)! - 1;
        this.tagCount.set(t, n);
        if (n === 0) {
          const text = this.tagText(t);
          this.live.delete(text);
          this.uncovered.add(text);
        }
      }
      this.tagsByDomain.set(name, tags);
      for (const t of tags) {
        const n = (this.tagCount.get(t) ?? 0) + 1;
        this.tagCount.set(t, n);
        if (n === 1) {
          const text = this.tagText(t);
          this.live.add(text);
          this.uncovered.delete(text);
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

  /** Each domain's tags at the last look, as tag codes (tagCode()), in array order. */
  private readonly tagsByDomain = new Map<string, readonly number[]>();
  /** How many domains' live entries cover each tag code; `live` holds the text of those with a count above 0. */
  private readonly tagCount = new Map<number, number>();
  private readonly live = new Set<string>();
  /** The text of each tag code seen: "smmu0 asid 1", made once. */
  private readonly tagTexts = new Map<number, string>();

  private tagText(code: number): string {
    let text = this.tagTexts.get(code);
    if (text === undefined) {
      const id = code % TAG_ID_SPAN;
      const kind = Math.floor(code / TAG_ID_SPAN) % 2;
      const smmu = Math.floor(code / (2 * TAG_ID_SPAN));
      text = `${this.ctx.smmuName(smmu)} ${kind === TAG_VMID ? "vmid" : "asid"} ${id}`;
      this.tagTexts.set(code, text);
    }
    return text;
  }

  /** The tag codes of a domain's live S1_ASID, S2_VMID and S2_VMID_VSMMU entries, each once, in array order. */
  private domainTags(name: string): readonly number[] {
    const d = this.domains.get(name);
    const invs = d instanceof InvsDomain ? d.invs.protected_() : null;
    if (!invs || isErr(invs)) return NO_TAGS;
    let tags: number[] | undefined;
    for (let i = 0; i < invs.numInvs; i++) {
      if (invs.users(i) === 0) continue;
      const type = invs.type(i);
      const kind = type === S1_ASID ? TAG_ASID : type === S2_VMID || type === S2_VMID_VSMMU ? TAG_VMID : -1;
      if (kind === -1) continue;
      const code = tagCode(invs.smmu(i), kind, invs.id(i));
      if (!tags) tags = [code];
      /* the array is sorted, so a repeated tag is most often the last one taken */
      else if (tags[tags.length - 1] !== code && !tags.includes(code)) tags.push(code);
    }
    return tags ?? NO_TAGS;
  }
}

const NO_TAGS: readonly number[] = Object.freeze([]);
const TAG_ASID = 0;
const TAG_VMID = 1;
/** Ids are below 2^31 (an entry's id word): a code is exact for SMMU indexes below 2^21. */
const TAG_ID_SPAN = 2 ** 31;

/** An IOTLB tag as one number: the SMMU's index, ASID or VMID, the id. */
function tagCode(smmu: number, kind: number, id: number): number {
  return (smmu * 2 + kind) * TAG_ID_SPAN + id;
}

function sameTags(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export default definePlugin({
  kind: "driver",
  name: "driver-invs",
  version: "0.1.0",
  apiVersions: [1],
  variants: VARIANT_NAMES,
  description: "arm-smmu-v3 with the RCU-protected invalidation array (mainline v7.1, v9 as posted, or mainline with the domain-sharing series v4)",
  schema: {
    description: "The driver node: which version of arm-smmu-v3's invalidation array to model.",
    type: "object",
    properties: {
      variant: {
        description: '"mainline" (v7.1, the default: one SMMU per domain), "v9" (the series as posted) or "share" (mainline with "Share domain across SMMU/vSMMU instances" v4: a domain spans SMMUs, one IOTLB tag per SMMU in its array).',
        enum: VARIANT_NAMES,
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
    const name = ctx.spec.variant ?? VARIANT_NAMES[0]!;
    const variant = VARIANTS.get(name);
    if (!variant) throw new Error(`driver-invs has no variant "${name}" (${VARIANT_NAMES.join(", ")})`);
    return new InvsDriver(ctx, variant);
  },
});
