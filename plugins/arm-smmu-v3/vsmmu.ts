/**
 * arm_vsmmu_cache_invalidate(): a guest's vSMMU commands, rewritten for the
 * physical queue (arm_vsmmu_convert_user_cmd(): the vSMMU's VMID into
 * stage-1 TLBIs; vStreamIDs, equal to the physical ones here, for ATC_INV
 * and CFGI) and issued in chunks of CMDQ_BATCH_ENTRIES, each with CMD_SYNC.
 */
import { type Cmd, EIO, type Memory, type Steps, type Topology } from "../../src/index.js";
import { CMDQ_BATCH_ENTRIES, issueCmdlist } from "./cmdq.js";
import type { DriverContext } from "./context.js";
import { IdAllocator, NestedDomain, type Vsmmu } from "./domain.js";
import { IO_PGTABLE_MAIR, s1Tcr } from "./install.js";
import type { Master } from "./master.js";
import { makeS1Cd } from "./ste.js";

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

/**
 * The nested domains of the topology, each on its vSMMU with an ASID from
 * that guest's own space; the guest writes CD 0 of its table before it
 * installs the vSTE.
 */
export function allocNestedDomains(topology: Topology, vsmmus: ReadonlyMap<string, Vsmmu>, memory: Memory): NestedDomain[] {
  const out: NestedDomain[] = [];
  const guestAsids = new Map<string, IdAllocator>();
  for (const spec of topology.domains) {
    if (spec.stage !== "nested") continue;
    const vsmmu = vsmmus.get(spec.vsmmu ?? "");
    if (!vsmmu) throw new Error(`nested domain ${spec.name}: no vSMMU named "${spec.vsmmu ?? ""}"`);
    let guest = guestAsids.get(vsmmu.name);
    if (!guest) guestAsids.set(vsmmu.name, (guest = new IdAllocator()));
    const d = new NestedDomain(spec.name, spec, vsmmu, guest.asid(spec.asid), memory);
    d.cdTable.cd(0).splice(0, 8, ...makeS1Cd({ asid: d.asid, ttbr: d.pgtablePa, tcr: s1Tcr(d.pgtable), mair: IO_PGTABLE_MAIR }, false));
    out.push(d);
  }
  return out;
}

/** The guest's vSMMU commands after it changed [iova, iova + size) of its stage 1 `d`, through arm_vsmmu_cache_invalidate(). */
export function* guestInvalidate(ctx: DriverContext, masters: Iterable<Master>, d: NestedDomain, iova: number, size: number): Steps {
  const atsSids: number[] = [];
  for (const m of masters) if (m.domain === d && m.atsEnabled) atsSids.push(...m.streams);
  const guest = ctx.platform.vsmmu(d.vsmmu.name).guestInvalidation(d.asid, iova, size, atsSids);
  yield* vsmmuCacheInvalidate(ctx, d.vsmmu, guest);
}
