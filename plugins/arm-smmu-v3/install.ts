/**
 * Writing STEs and CDs: the target entries for a master and domain, and the
 * stepped installers around arm_smmu_write_entry() with their CFGI + CMD_SYNC
 * syncs (arm_smmu_write_ste, arm_smmu_install_ste_for_dev,
 * arm_smmu_write_cd_entry, arm_smmu_sync_cd, arm_smmu_alloc_cd_ptr).
 */
import { CdTable, CMDQ_OP, CTXDESC_CD_0_V, CTXDESC_SPLIT, ffs, fieldGet, fieldTest, type Qwords, site, type SmmuNode, type Steps, STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_S1_TRANS, STRTAB_STE_0_S1FMT_64K_L2, STRTAB_STE_0_S1FMT_LINEAR, STRTAB_STE_1_EATS, STRTAB_STE_1_EATS_TRANS, writeLock, writeUnlock } from "../../src/index.js";
import { batchAdd, batchInit, batchSubmit, CmdqBatch, issueCmd } from "./cmdq.js";
import type { DriverContext } from "./context.js";
import type { SmmuDomain } from "./domain.js";
import { type EntryWriterOps, getCdUsed, getSteUpdateSafe, getSteUsed, writeEntry } from "./entry-writer.js";
import type { Master } from "./master.js";
import { IOMMU_NO_PASID } from "./range.js";
import { makeCdtableSte, makeSvaCd, type S1Tcr, type S2Vtcr, type SteSmmuFeatures } from "./ste.js";

/** CTXDESC_L2_ENTRIES */
const CTXDESC_L2_ENTRIES = 1 << CTXDESC_SPLIT;
/** A representative MAIR for io-pgtable-arm stage-1 tables. */
export const IO_PGTABLE_MAIR = 0x0000_0000_0004_ff44n;

/** TCR/VTCR.TG0 encoding of a granule: 4K 0, 64K 1, 16K 2. */
function tg0(pageSize: number): number {
  return pageSize === 0x1_0000 ? 1 : pageSize === 0x4000 ? 2 : 0;
}

/** The smmu->features bits the make functions read. */
export function steFeatures(master: Master): SteSmmuFeatures {
  return { e2h: master.smmu.features.has("e2h"), attrTypesOvr: master.smmu.features.has("attr_types_ovr"), stalls: false };
}

/** io-pgtable-arm's stage-1 TCR for a 48-bit table: WBWA, inner shareable. */
export function s1Tcr(domain: { pgsizeBitmap: number }): S1Tcr {
  return { tsz: 16, tg: tg0(1 << ffs(domain.pgsizeBitmap)), irgn: 1, orgn: 1, sh: 3, ips: 5 };
}

/** io-pgtable-arm's VTCR for a 48-bit stage-2 table starting at level 0. */
export function s2Vtcr(domain: { pgsizeBitmap: number }): S2Vtcr {
  return { tsz: 16, sl: 2, irgn: 1, orgn: 1, sh: 3, tg: tg0(1 << ffs(domain.pgsizeBitmap)), ps: 5 };
}

/** arm_smmu_make_cdtable_ste() for this master's CD table. */
export function cdtableSte(master: Master, atsEnabled: boolean, s1dss: bigint): Qwords {
  const cd = master.cdTable!;
  return makeCdtableSte(
    {
      cdtabDma: master.cdTablePa,
      s1fmt: cd.twoLevel ? STRTAB_STE_0_S1FMT_64K_L2 : STRTAB_STE_0_S1FMT_LINEAR,
      s1cdmax: cd.s1cdmax,
      stallEnabled: master.stallEnabled,
    },
    steFeatures(master),
    atsEnabled,
    s1dss,
  );
}

/** The writer ops of both entries' updates, as methods: no closures made per entry written. */
abstract class EntryWriter implements EntryWriterOps {
  readonly noDmaWmb: boolean;
  constructor(protected readonly ctx: DriverContext) {
    this.noDmaWmb = ctx.mutations.has("no-dma-wmb");
  }
  abstract getUsed(ent: readonly bigint[], used: Qwords): void;
  abstract sync(): Steps<unknown>;
  warn(fn: string, cond: string): void {
    this.ctx.warn(fn, cond);
  }
}

// arm_smmu_ste_writer_ops: arm_smmu_ste_writer_sync_entry() issues CFGI_STE with CMD_SYNC
class SteWriter extends EntryWriter {
  constructor(
    ctx: DriverContext,
    private readonly smmu: SmmuNode,
    private readonly sid: number,
  ) {
    super(ctx);
  }
  getUsed(ent: readonly bigint[], used: Qwords): void {
    getSteUsed(ent, used);
  }
  getUpdateSafe(cur: readonly bigint[], target: readonly bigint[], safe: Qwords): void {
    getSteUpdateSafe(cur, target, safe);
  }
  sync(): Steps<number> {
    return issueCmd(this.ctx, this.smmu, { opcode: CMDQ_OP.CFGI_STE, cfgi: { sid: this.sid, leaf: true } }, true);
  }
}

// arm_smmu_cd_writer_ops: arm_smmu_cd_writer_sync_entry() is arm_smmu_sync_cd()
class CdWriter extends EntryWriter {
  constructor(
    ctx: DriverContext,
    private readonly master: Master,
    private readonly ssid: number,
  ) {
    super(ctx);
  }
  getUsed(ent: readonly bigint[], used: Qwords): void {
    getCdUsed(ent, used);
  }
  sync(): Steps {
    return syncCd(this.ctx, this.master, this.ssid, true);
  }
}

/** arm_smmu_write_ste(): the entry update with CFGI_STE + CMD_SYNC per step, then PREFETCH_CFG. */
function* writeSte(ctx: DriverContext, master: Master, sid: number, target: Qwords): Steps {
  const smmu = master.smmu;
  yield* writeEntry(new SteWriter(ctx, smmu, sid), smmu.strtab.ste(sid), target);
  /* It's likely that we'll want to use the new STE soon */
  if (!smmu.options.has("skip_prefetch")) {
    yield* issueCmd(ctx, smmu, { opcode: CMDQ_OP.PREFETCH_CFG, prefetch: { sid } }, false);
  }
}

/** arm_smmu_install_ste_for_dev(): `target` into the STE of every distinct StreamID. */
export function* installSteForDev(ctx: DriverContext, master: Master, target: Qwords): Steps {
  master.inSte = fieldGet(target[0]!, STRTAB_STE_0_CFG) === STRTAB_STE_0_CFG_S1_TRANS;
  master.steAtsEnabled = fieldGet(target[1]!, STRTAB_STE_1_EATS) === STRTAB_STE_1_EATS_TRANS;
  const streams = master.streams;
  for (let i = 0; i < streams.length; i++) {
    const sid = streams[i]!;
    /* Bridged PCI devices may end up with duplicated IDs */
    if (streams.indexOf(sid) < i) continue;
    yield* writeSte(ctx, master, sid, target);
  }
}

/** arm_smmu_sync_cd(): CFGI_CD for every stream, one batch, then CMD_SYNC. */
function* syncCd(ctx: DriverContext, master: Master, ssid: number, leaf: boolean): Steps {
  const cmds = new CmdqBatch();
  batchInit(cmds);
  for (const sid of master.streams) {
    yield* batchAdd(ctx, master.smmu, cmds, { opcode: CMDQ_OP.CFGI_CD, cfgi: { sid, ssid, leaf } });
  }
  yield* batchSubmit(ctx, master.smmu, cmds);
}

const S_L1_DESC = site("arm_smmu_write_cd_l1_desc", "WRITE_ONCE(dst->l2ptr)");

/**
 * arm_smmu_alloc_cd_ptr(): the CD slot for `ssid`, allocating the CD table
 * (linear, or 2-level when the SMMU has it and the master needs more than one
 * table's worth) and a second-level table on first use; null on ENOMEM.
 */
export function* allocCdPtr(ctx: DriverContext, master: Master, ssid: number): Steps<Qwords | null> {
  if (!master.cdTable) {
    /* arm_smmu_alloc_cd_tables() */
    if (!ctx.kzalloc("cd_table")) return null;
    const twoLevel = master.smmu.features.has("cd2l") && 1 << master.ssidBits > CTXDESC_L2_ENTRIES;
    const table = new CdTable(master.ssidBits, twoLevel);
    master.cdTable = table;
    master.cdTablePa = ctx.memory.alloc(table);
  }
  const table = master.cdTable;
  const l1 = ssid >> CTXDESC_SPLIT;
  if (table.twoLevel && !table.l2.has(l1)) {
    if (!ctx.kzalloc("cd_table")) return null;
    yield S_L1_DESC;
    table.l2.add(l1);
    /* An invalid L1CD can be cached */
    yield* syncCd(ctx, master, ssid, false);
  }
  return table.cd(ssid);
}

/** arm_smmu_get_cd_ptr(): the CD slot, if its table exists. */
function getCdPtr(master: Master, ssid: number): Qwords | null {
  const table = master.cdTable;
  if (!table) return null;
  if (table.twoLevel && !table.l2.has(ssid >> CTXDESC_SPLIT)) return null;
  return table.cd(ssid);
}

/** arm_smmu_write_cd_entry() */
export function* writeCdEntry(ctx: DriverContext, master: Master, ssid: number, cdptr: Qwords, target: Qwords): Steps {
  const targetValid = fieldTest(target[0]!, CTXDESC_CD_0_V);
  const curValid = fieldTest(cdptr[0]!, CTXDESC_CD_0_V);
  if (ssid !== IOMMU_NO_PASID && curValid !== targetValid) master.usedSsids += curValid ? -1 : 1;
  yield* writeEntry(new CdWriter(ctx, master, ssid), cdptr, target);
}

/** arm_smmu_clear_cd() */
export function* clearCd(ctx: DriverContext, master: Master, ssid: number): Steps {
  if (!master.cdTable) return;
  const cdptr = getCdPtr(master, ssid);
  if (!cdptr) {
    ctx.warn("arm_smmu_clear_cd", "WARN_ON(!cdptr)");
    return;
  }
  yield* writeCdEntry(ctx, master, ssid, cdptr, [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
}

const S_RELEASE_LOCK = site("arm_smmu_mm_release", "spin_lock_irqsave(&smmu_domain->devices_lock)");

/**
 * The CD half of arm_smmu_mm_release(): DMA may still be running, so under
 * devices_lock each CD using the mm stays valid (no C_BAD_CD) but stops
 * translating (EPD0, the domain's ASID kept). list_for_each_entry() walks
 * smmu_domain->devices from its head, where list_add() put the newest
 * attachment: newest first. `asidOf` gives the ASID of the master's CD:
 * the domain's, or with the follow-up series the tag found in the array for
 * the master's SMMU (null: none found, a WARN the caller reported).
 */
export function* writeReleasedSvaCds(ctx: DriverContext, domain: SmmuDomain, asidOf: (master: Master) => number | null): Steps {
  yield* writeLock(domain.devicesLock, S_RELEASE_LOCK);
  try {
    const devices = domain.devices;
    for (let i = devices.length - 1; i >= 0; i--) {
      const md = devices[i]!;
      const cdptr = getCdPtr(md.master, md.ssid);
      if (!cdptr) {
        ctx.warn("arm_smmu_mm_release", "WARN_ON(!cdptr)");
        continue;
      }
      const asid = asidOf(md.master);
      if (asid === null) continue;
      yield* writeCdEntry(ctx, md.master, md.ssid, cdptr, makeSvaCd({ asid, ttb0: null, mair: IO_PGTABLE_MAIR }));
    }
  } finally {
    writeUnlock(domain.devicesLock);
  }
}

/** The S1 CD of a paging domain (arm_smmu_make_s1_cd) with `asid`: its table from here. */
export function s1CdParams(domain: SmmuDomain, asid: number): { asid: number; ttbr: bigint; tcr: S1Tcr; mair: bigint } {
  return { asid, ttbr: domain.pgtablePa, tcr: s1Tcr(domain), mair: IO_PGTABLE_MAIR };
}
