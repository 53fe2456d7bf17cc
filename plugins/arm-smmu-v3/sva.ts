/** The SVA attach both drivers share (arm-smmu-v3-sva.c). */
import { EINVAL, EOPNOTSUPP, type Steps } from "../../src/index.js";
import { setPasid, type AttachEnv } from "./attach.js";
import type { SmmuDomain } from "./domain.js";
import { IO_PGTABLE_MAIR } from "./install.js";
import type { Master } from "./master.js";
import { mmgetNotZero, mmput } from "./mm.js";
import { makeSvaCd } from "./ste.js";

/**
 * arm_smmu_sva_set_dev_pasid(): -EOPNOTSUPP unless the master's SMMU has
 * ARM_SMMU_FEAT_SVA, -EINVAL once the mm has no users, else the CD of the
 * mm's page table with the attach's ASID at the PASID
 * (arm_smmu_set_pasid(), which refuses a domain of another SMMU), an mm
 * reference held across it so that the mm cannot be released meanwhile: if
 * the process exited during the attach, this mmput() is the last and runs
 * `release`, the mm's notifiers' release.
 */
export function* svaSetDevPasid<P>(env: AttachEnv<P>, master: Master, domain: SmmuDomain, pasid: number, release: () => Steps): Steps<number> {
  const { ctx } = env;
  if (!master.smmu.features.has("sva")) return ctx.errno("arm_smmu_sva_set_dev_pasid", EOPNOTSUPP, "!(master->smmu->features & ARM_SMMU_FEAT_SVA)");
  const mm = domain.mm!;
  /* Prevent arm_smmu_mm_release from being called while we are attaching */
  if (!(yield* mmgetNotZero(mm))) return ctx.errno("arm_smmu_sva_set_dev_pasid", EINVAL, "!mmget_not_zero(domain->mm)");
  const ret = yield* setPasid(env, master, domain, pasid, (asid) => makeSvaCd({ asid, ttb0: domain.pgtablePa, mair: IO_PGTABLE_MAIR }));
  yield* mmput(mm, release);
  return ret;
}
