/**
 * arm_vsmmu_cache_invalidate(): a guest's vSMMU commands, rewritten for the
 * physical queue (arm_vsmmu_convert_user_cmd(): the vSMMU's VMID into
 * stage-1 TLBIs; vStreamIDs, equal to the physical ones here, for ATC_INV
 * and CFGI) and issued in chunks of CMDQ_BATCH_ENTRIES, each with CMD_SYNC.
 */
import { EIO } from "../../src/core/errno.js";
import type { Steps } from "../../src/core/steps.js";
import type { Cmd } from "../../src/model/commands.js";
import { CMDQ_BATCH_ENTRIES, issueCmdlist } from "./cmdq.js";
import type { DriverContext } from "./context.js";
import type { Vsmmu } from "./domain.js";

/** arm_vsmmu_convert_user_cmd(); null for a command a guest may not issue (-EIO). */
function convert(vsmmu: Vsmmu, cmd: Cmd): Cmd | null {
  switch (cmd.op) {
    case "TLBI_NH_VA":
    case "TLBI_NH_ASID":
    case "TLBI_NH_ALL":
      return { ...cmd, vmid: vsmmu.vmid };
    case "ATC_INV":
    case "CFGI_STE":
    case "CFGI_CD":
    case "CFGI_CD_ALL":
      return cmd;
    default:
      return null;
  }
}

export function* vsmmuCacheInvalidate(ctx: DriverContext, vsmmu: Vsmmu, guest: readonly Cmd[]): Steps<number> {
  const smmu = ctx.platform.smmu(vsmmu.smmu);
  const cmds: Cmd[] = [];
  for (const g of guest) {
    const c = convert(vsmmu, g);
    if (!c) {
      ctx.warn("arm_vsmmu_cache_invalidate", `${vsmmu.name}: guest command ${g.op} rejected (-EIO)`);
      return -EIO;
    }
    cmds.push(c);
  }
  for (let i = 0; i < cmds.length; i += CMDQ_BATCH_ENTRIES) {
    const ret = yield* issueCmdlist(ctx, smmu, cmds.slice(i, i + CMDQ_BATCH_ENTRIES), true);
    if (ret) return ret;
  }
  return 0;
}
