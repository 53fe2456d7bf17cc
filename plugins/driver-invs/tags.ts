/**
 * IOTLB tags: the ASID or VMID an attach's CD or STE carries and its
 * entries are built with. Mainline keeps one in the domain (cd.asid,
 * s2_cfg.vmid; a vSMMU uses its parent's). The follow-up series ("Share
 * domain across SMMU/vSMMU instances", v4, not merged) keeps one per SMMU
 * per domain in the domain's array: an attach finds the live entry of its
 * type and SMMU and reuses its id, or allocates one; the detach of its last
 * user flushes it and frees the id.
 * arm_smmu_find_iotlb_tag(), arm_smmu_alloc_iotlb_tag(), arm_smmu_iotlb_tag_free().
 */
import { type CmdqEnt, ENOENT, ENOSPC, isErr, type SmmuNode, type Steps } from "../../src/index.js";
import { type IdAllocator, type IommuDomain, issueCmd } from "../arm-smmu-v3/index.js";
import type { InvsContext } from "./context.js";
import { invsDomainOf, type InvsDomain } from "./domain.js";
import { S1_ASID, S2_VMID, S2_VMID_VSMMU, type InvType } from "./invs.js";

/** struct arm_smmu_inv as a tag: type S1_ASID, S2_VMID or S2_VMID_VSMMU, on one SMMU (its index). */
export interface IotlbTag {
  type: InvType;
  smmu: number;
  id: number;
  /** The entry's users when found in the array; 0 for a tag just allocated. */
  users: number;
  /** The entry's nsize_opcode when found; 0 for a tag just allocated (v4 sets none there). */
  nsizeOpcode: number;
}

/**
 * The tag type of an attach to `domain` (arm_smmu_find_iotlb_tag()'s switch):
 * S1_ASID for S1 and SVA, S2_VMID for S2; a nested domain's with the
 * follow-up series is S2_VMID_VSMMU (v4 patch 06).
 */
function tagType(ctx: InvsContext, domain: IommuDomain, smmuDomain: InvsDomain): InvType {
  if (smmuDomain.stage !== "S2") return S1_ASID;
  return domain.type === "nested" && ctx.variant.vsmmuVmid === "own" ? S2_VMID_VSMMU : S2_VMID;
}

/** Mainline: the domain's own tag, cd.asid or s2_cfg.vmid (vsmmu->vmid is the parent's s2_cfg.vmid). */
export function domainTag(domain: IommuDomain, smmu: SmmuNode): IotlbTag {
  const smmuDomain = invsDomainOf(domain)!;
  const s2 = smmuDomain.stage === "S2";
  const id = domain.type === "nested" ? domain.vsmmu.vmid : s2 ? smmuDomain.vmid : smmuDomain.asid;
  return { type: s2 ? S2_VMID : S1_ASID, smmu: smmu.index, id, users: 0, nsizeOpcode: 0 };
}

/**
 * arm_smmu_find_iotlb_tag(): a copy of the first live entry of the tag's
 * type on `smmu` in `domain`'s current array (under arm_smmu_asid_lock), or
 * null (-ENOENT). For S2_VMID_VSMMU this finds any vSMMU's VMID on that
 * SMMU, not this domain's vSMMU's: v4 as posted (the review asked that the
 * vSMMU's VMID be taken directly).
 */
export function findIotlbTag(ctx: InvsContext, domain: IommuDomain, smmu: SmmuNode): IotlbTag | null {
  const smmuDomain = invsDomainOf(domain)!;
  const type = tagType(ctx, domain, smmuDomain);
  const invs = smmuDomain.invs.protected_();
  if (isErr(invs)) return null;
  for (let i = 0; i !== invs.numInvs; i++) {
    if (invs.type(i) === type && invs.smmu(i) === smmu.index && invs.users(i)) {
      return { type, smmu: smmu.index, id: invs.id(i), users: invs.users(i), nsizeOpcode: invs.nsizeOpcode(i) };
    }
  }
  return null;
}

/**
 * arm_smmu_alloc_iotlb_tag(): the tag found in the array, or a new one with
 * users 0: the vSMMU's VMID for S2_VMID_VSMMU, an ASID from the global
 * space (arm_smmu_asid_xa), a VMID from `smmu`'s space. Modelling choice: a
 * pinned `asid:` is the ASID a domain holding no S1_ASID tag takes, a
 * pinned `vmid:` its VMID on every SMMU.
 */
export function allocIotlbTag(ctx: InvsContext, ids: IdAllocator, domain: IommuDomain, smmu: SmmuNode): IotlbTag | number {
  const found = findIotlbTag(ctx, domain, smmu);
  if (found) return found;
  const smmuDomain = invsDomainOf(domain)!;
  const type = tagType(ctx, domain, smmuDomain);
  let id: number;
  if (type === S2_VMID_VSMMU && domain.type === "nested") {
    /* Use the pre-allocated VMID from vSMMU */
    id = domain.vsmmu.vmid;
  } else if (type === S1_ASID) {
    const pinned = holdsTag(smmuDomain, S1_ASID) ? undefined : smmuDomain.spec.asid;
    if (pinned !== undefined && ids.asidInUse(pinned)) return pinnedInUse(ctx, "ASID", pinned);
    id = ids.asid(pinned);
  } else {
    const pinned = smmuDomain.spec.vmid;
    if (pinned !== undefined && ids.vmidInUse(smmu.name, pinned)) return pinnedInUse(ctx, `VMID on ${smmu.name}`, pinned);
    id = ids.vmid(smmu.name, pinned);
  }
  return { type, smmu: smmu.index, id, users: 0, nsizeOpcode: 0 };
}

/**
 * A pinned id still held: the -ENOSPC of an ida_alloc_range() / xa_alloc()
 * whose one-id range is taken. Modelling choice (the kernel pins none): it is
 * held when a tag an earlier failed attach allocated was not freed (v4 as
 * posted leaks it on two error returns), or by a concurrent attach.
 */
function pinnedInUse(ctx: InvsContext, what: string, id: number): number {
  return ctx.errno("arm_smmu_alloc_iotlb_tag", ENOSPC, `the pinned ${what} ${id} is still in use`);
}

/** Whether `domain`'s array holds a live tag of `type` on any SMMU. */
function holdsTag(domain: InvsDomain, type: InvType): boolean {
  const invs = domain.invs.protected_();
  if (isErr(invs)) return false;
  for (let i = 0; i !== invs.numInvs; i++) if (invs.type(i) === type && invs.users(i)) return true;
  return false;
}

/** The old domain's tag, or -ENOENT after arm_smmu_attach_prepare_invs()'s `if (WARN_ON(ret)) return ret;`. */
export function findOldIotlbTag(ctx: InvsContext, domain: IommuDomain, smmu: SmmuNode): IotlbTag | number {
  const tag = findIotlbTag(ctx, domain, smmu);
  if (tag) return tag;
  ctx.warn("arm_smmu_attach_prepare_invs", "WARN_ON(ret): arm_smmu_find_iotlb_tag(old_domain) = -ENOENT");
  return ctx.errno("arm_smmu_attach_prepare_invs", ENOENT, "arm_smmu_find_iotlb_tag(state->old_domain) found no live tag");
}

/**
 * arm_smmu_iotlb_tag_free(): the tag's nsize_opcode with its ASID or VMID,
 * with CMD_SYNC, on its SMMU; then the id goes back to its space, except a
 * vSMMU's VMID, which the vSMMU keeps. A tag just allocated has no opcode
 * (the err_unprepare_invs path): __arm_smmu_cmdq_issue_cmd() then warns
 * of an unknown opcode and issues nothing, as v4 reads.
 */
export function* iotlbTagFree(ctx: InvsContext, ids: IdAllocator, tag: IotlbTag): Steps {
  const ent: CmdqEnt = { opcode: tag.nsizeOpcode, tlbi: tag.type === S1_ASID ? { asid: tag.id } : { vmid: tag.id } };
  const smmu = ctx.smmuAt(tag.smmu);
  yield* issueCmd(ctx, smmu, ent, true);
  if (tag.type === S1_ASID) ids.freeAsid(tag.id);
  else if (tag.type === S2_VMID) ids.freeVmid(smmu.name, tag.id);
  /* Keep INV_TYPE_S2_VMID_VSMMU. vSMMU will free it */
}

