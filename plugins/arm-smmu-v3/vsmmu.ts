/**
 * arm_vsmmu_cache_invalidate(): a guest's vSMMU commands, rewritten for the
 * physical queue by arm_vsmmu_convert_user_cmd() and issued on the main
 * queue in chunks of CMDQ_BATCH_ENTRIES - 1, each with its CMD_SYNC
 * (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c, v7.1).
 *
 * vDEVICEs, which iommufd keeps and the VMM allocates, are modelled as: a
 * device whose RID is attached to a nested domain of the vSMMU has one,
 * with its first StreamID (master->streams[0]) as its virtual StreamID.
 */
import { type Cmd, EIO, type Memory, site, type Steps, type Topology } from "../../src/index.js";
import { CMDQ_BATCH_ENTRIES, issueCmdlist } from "./cmdq.js";
import type { DriverContext } from "./context.js";
import { IdAllocator, NestedDomain, type Vsmmu } from "./domain.js";
import { IO_PGTABLE_MAIR, s1Tcr } from "./install.js";
import type { Master } from "./master.js";
import { makeS1Cd } from "./ste.js";

const S_VSID = site("arm_vsmmu_vsid_to_sid", "xa_lock(&vsmmu->core.vdevs), look the vSID up");

/** What IOMMU_HWPT_INVALIDATE returns: 0 or -errno, and entry_num, the commands reported handled. */
export interface VsmmuInvalidateResult {
  ret: number;
  entryNum: number;
}

/** arm_vsmmu_vsid_to_sid(): the physical StreamID of the vDEVICE `vsid` names, or null (-EIO). */
function* vsidToSid(vsmmu: Vsmmu, masters: Iterable<Master>, vsid: number): Steps<number | null> {
  yield S_VSID;
  for (const m of masters) {
    /* iommufd only supports a PCI device with one SID: streams[0] */
    if (m.domain instanceof NestedDomain && m.domain.vsmmu === vsmmu && m.streams[0] === vsid) return m.streams[0];
  }
  return null;
}

/** arm_vsmmu_convert_user_cmd(): the command for the physical queue, or null for one a guest may not issue (-EIO). */
function* convertUserCmd(vsmmu: Vsmmu, masters: Iterable<Master>, cmd: Cmd): Steps<Cmd | null> {
  switch (cmd.op) {
    case "TLBI_NSNH_ALL":
      /* Convert to NH_ALL */
      return { op: "TLBI_NH_ALL", vmid: vsmmu.vmid };
    case "TLBI_NH_VA":
    case "TLBI_NH_VAA":
    case "TLBI_NH_ALL":
    case "TLBI_NH_ASID":
      return { ...cmd, vmid: vsmmu.vmid };
    case "ATC_INV":
    case "CFGI_CD":
    case "CFGI_CD_ALL": {
      const sid = yield* vsidToSid(vsmmu, masters, cmd.sid);
      return sid === null ? null : { ...cmd, sid };
    }
    default:
      return null;
  }
}

/**
 * arm_vsmmu_cache_invalidate(): each command converted in order; every 63
 * converted (and at the end) go out as one submission with CMD_SYNC, waited
 * for. A command that cannot be converted stops it with -EIO: the chunks
 * before it were issued, the converted ones of its own chunk are dropped,
 * and entry_num is its index all the same. A CMD_SYNC that times out stops
 * it with entry_num at the last command of that chunk (which was queued).
 */
export function* vsmmuCacheInvalidate(ctx: DriverContext, vsmmu: Vsmmu, masters: Iterable<Master>, guest: readonly Cmd[]): Steps<VsmmuInvalidateResult> {
  const smmu = ctx.platform.smmu(vsmmu.smmu);
  let chunk: Cmd[] = [];
  for (let cur = 0; cur < guest.length; ) {
    const cmd = yield* convertUserCmd(vsmmu, masters, guest[cur]!);
    if (!cmd) return { ret: -EIO, entryNum: cur };
    chunk.push(cmd);
    cur++;
    if (cur !== guest.length && chunk.length !== CMDQ_BATCH_ENTRIES - 1) continue;
    /* FIXME always uses the main cmdq rather than trying to group by type */
    const ret = yield* issueCmdlist(ctx, smmu, chunk, true);
    if (ret) return { ret, entryNum: cur - 1 };
    chunk = [];
  }
  return { ret: 0, entryNum: guest.length };
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

/**
 * The guest's vSMMU commands after it changed [iova, iova + size) of its
 * stage 1 `d`, through arm_vsmmu_cache_invalidate(): its ATC_INVs name each
 * device with ATS on by its vDEVICE's virtual StreamID. The result is the
 * guest's to see, not the host's unmap's.
 */
export function* guestInvalidate(ctx: DriverContext, masters: readonly Master[], d: NestedDomain, iova: number, size: number): Steps {
  const vsids: number[] = [];
  for (const m of masters) if (m.domain === d && m.atsEnabled) vsids.push(m.streams[0]!);
  const guest = ctx.platform.vsmmu(d.vsmmu.name).guestInvalidation(d.asid, iova, size, vsids);
  yield* vsmmuCacheInvalidate(ctx, d.vsmmu, masters, guest);
}
