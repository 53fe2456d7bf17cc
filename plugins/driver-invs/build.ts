/**
 * arm_smmu_master_build_invs(): fill the master's scratch array with what
 * one attachment (master, domain, ATS state, ssid, IOTLB tag) contributes to
 * a domain's invalidation array. Built in sorted order; never allocates.
 */
import { CMDQ_OP, ffs } from "../../src/index.js";
import { IOMMU_NO_PASID, type SmmuDomain } from "../arm-smmu-v3/index.js";
import type { InvsContext } from "./context.js";
import type { InvsMaster } from "./domain.js";
import { ATS, ATS_FULL, S1_ASID, S2_VMID, S2_VMID_S1_CLEAR, S2_VMID_VSMMU, type Invs, type InvType } from "./invs.js";
import type { IotlbTag } from "./tags.js";

/** arm_smmu_master_build_inv(): append one entry with its opcodes; false if the scratch is full. */
function buildInv(ctx: InvsContext, master: InvsMaster, type: InvType, id: number, ssid: number, pgsize: number): boolean {
  const b = master.buildInvs;
  if (b.numInvs >= b.maxInvs) {
    ctx.warn("arm_smmu_master_build_inv", "WARN_ON(build_invs->num_invs >= build_invs->max_invs)");
    return false;
  }
  const e2h = master.smmu.features.has("e2h");
  let sizeOpcode: number;
  let nsizeOpcode: number;
  switch (type) {
    case S1_ASID:
      /* For S1 page tables the driver always uses VMID=0 */
      sizeOpcode = e2h ? CMDQ_OP.TLBI_EL2_VA : CMDQ_OP.TLBI_NH_VA;
      nsizeOpcode = e2h ? CMDQ_OP.TLBI_EL2_ASID : CMDQ_OP.TLBI_NH_ASID;
      break;
    case S2_VMID:
    case S2_VMID_VSMMU:
      sizeOpcode = CMDQ_OP.TLBI_S2_IPA;
      nsizeOpcode = CMDQ_OP.TLBI_S12_VMALL;
      break;
    case S2_VMID_S1_CLEAR:
      sizeOpcode = nsizeOpcode = CMDQ_OP.TLBI_NH_ALL;
      break;
    default:
      sizeOpcode = nsizeOpcode = CMDQ_OP.ATC_INV;
      break;
  }
  b.set(b.numInvs, { smmu: master.smmu.index, type, id, ssid, pgsize, sizeOpcode, nsizeOpcode, users: 0 });
  b.numInvs++;
  return true;
}

/**
 * arm_smmu_master_build_invs(): the scratch array, or null if it
 * overflowed. The tag entry (S1_ASID, S2_VMID or S2_VMID_VSMMU) comes
 * first; a nest parent adds S2_VMID_S1_CLEAR (with the follow-up series:
 * the vSMMU tag does, v4 patch 06) and ATS_FULL for its ATS entries.
 */
export function buildInvs(ctx: InvsContext, master: InvsMaster, atsEnabled: boolean, ssid: number, domain: SmmuDomain, tag: IotlbTag): Invs | null {
  const nesting = domain.nestParent;
  master.buildInvs.numInvs = 0;

  /* Range-based invalidation requires the leaf pgsize for calculation */
  const pgsize = master.smmu.features.has("range_inv") ? ffs(domain.pgsizeBitmap) : 0;

  if (!buildInv(ctx, master, tag.type, tag.id, IOMMU_NO_PASID, pgsize)) return null;

  /* All the nested S1 ASIDs have to be flushed when S2 parent changes */
  const s1Clear = ctx.variant.vsmmuVmid === "own" ? tag.type === S2_VMID_VSMMU : nesting;
  if (s1Clear && !buildInv(ctx, master, S2_VMID_S1_CLEAR, tag.id, IOMMU_NO_PASID, 0)) return null;

  for (let i = 0; atsEnabled && i < master.streams.length; i++) {
    /* An S2 used as a nesting parent changed: no option but to flush the whole ATC (v4 as posted keeps nest_parent here; its review asked for the tag type) */
    if (!buildInv(ctx, master, nesting ? ATS_FULL : ATS, master.streams[i]!, ssid, 0)) return null;
  }
  return master.buildInvs;
}
