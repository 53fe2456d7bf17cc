/**
 * vsmmu: a guest-owned virtual SMMU on a physical one (iommufd's vIOMMU),
 * with the guest's stage 1 nested over a nest-parent S2. It models the guest
 * side: what the guest's driver queues on its vSMMU after changing a stage 1.
 *
 * The guest driver is modelled minimally, not run: one TLBI_NH_VA per 4 KiB
 * page of the range with the guest's ASID (VMID 0, as a guest has no VMID),
 * then one ATC_INV over the range for each device with ATS on, by the
 * virtual StreamID of its vDEVICE. The host driver rewrites and issues these
 * (arm_vsmmu_cache_invalidate()); a scenario can also send a guest's
 * commands itself (`vsmmu NAME invalidate { ... }`).
 */
import { type Cmd, definePlugin, type VsmmuNode } from "../../src/index.js";

/** The span of an ATC_INV covering [iova, iova + size), as arm_smmu_atc_inv_to_cmd() rounds it. */
function atcSpan(iova: number, size: number): { addr: bigint; size: number } {
  let start = BigInt(iova) >> 12n;
  const end = BigInt(iova + size - 1) >> 12n;
  const log2 = (start ^ end) === 0n ? 0 : (start ^ end).toString(2).length;
  start &= ~((1n << BigInt(log2)) - 1n);
  return { addr: start << 12n, size: log2 };
}

export default definePlugin({
  kind: "vsmmu",
  name: "vsmmu",
  version: "0.1.0",
  apiVersions: [1],
  description: "A guest-owned vSMMU: nested stage-1 domains over a nest-parent S2, guest invalidations",
  schema: {
    type: "object",
    properties: { smmu: { type: "string" }, parent: { type: "string" } },
    required: ["smmu", "parent"],
  },
  setup(ctx): VsmmuNode {
    return {
      kind: "vsmmu",
      name: ctx.node,
      smmu: ctx.spec.smmu,
      parent: ctx.spec.parent,
      guestInvalidation(asid, iova, size, atsSids) {
        const cmds: Cmd[] = [];
        for (let a = iova; a < iova + size; a += 0x1000) {
          cmds.push({ op: "TLBI_NH_VA", asid, vmid: 0, num: 0, scale: 0, leaf: true, ttl: 0, tg: 0, addr: BigInt(a) });
        }
        const span = atcSpan(iova, size);
        for (const sid of atsSids) cmds.push({ op: "ATC_INV", sid, ssid: 0, ssv: false, global: false, ...span });
        return cmds;
      },
    };
  },
});
