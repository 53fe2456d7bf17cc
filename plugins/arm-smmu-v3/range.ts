/**
 * How an invalidation range becomes commands, in 64-bit arithmetic
 * (unsigned long / size_t), as mainline's helpers do it:
 * arm_smmu_inv_size_too_big(), arm_smmu_cmdq_batch_add_range() and
 * arm_smmu_atc_inv_to_cmd(). The seed calls the last two without showing
 * them; their behaviour here is mainline's.
 */
import { ATC_INV_SIZE_ALL, CMDQ_OP, type CmdqEnt, type SmmuNode, type Steps } from "../../src/index.js";
import { batchAdd, type CmdqBatch } from "./cmdq.js";
import type { DriverContext } from "./context.js";

/** U64_MAX, the mask of u64 arithmetic. */
export const U64 = (1n << 64n) - 1n;
/** SIZE_MAX (size_t is 64 bits): what an SVA whole-mm flush passes as the size. */
export const SIZE_MAX = 2n ** 64n - 1n;
/** IOMMU_NO_PASID */
export const IOMMU_NO_PASID = 0;
/** CMDQ_TLBI_RANGE_NUM_MAX */
const CMDQ_TLBI_RANGE_NUM_MAX = 31n;

/** ilog2() */
function ilog2(x: number): number {
  return 31 - Math.clz32(x);
}

/** __ffs() of a 64-bit value (undefined for 0, as in the kernel). */
function ffs64(x: bigint): bigint {
  let n = 0n;
  while ((x & 1n) === 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

/** fls_long(): the 1-based index of the highest set bit, 0 for 0. */
function fls64(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** arm_smmu_inv_size_too_big(): replace per-granule TLBIs by one ASID/VMID-wide command? */
export function invSizeTooBig(smmu: SmmuNode, size: bigint, granule: number): boolean {
  /* 0 size means invalidate all */
  if (size === 0n || size === SIZE_MAX) return true;
  if (smmu.features.has("range_inv")) return false;
  /* MAX_TLBI_OPS: beyond this many per-granule TLBIs, a soft lockup threatens */
  const maxTlbiOps = 1n << BigInt(ilog2(granule) - 3);
  return size >= maxTlbiOps * BigInt(granule);
}

/**
 * arm_smmu_cmdq_batch_add_range(): with RANGE_INV, commands of num x 2^scale
 * pages (TG from the leaf page size, TTL from the granule for leaf
 * invalidations); without, one command per granule.
 */
export function* batchAddRange(
  ctx: DriverContext,
  smmu: SmmuNode,
  cmds: CmdqBatch,
  ent: CmdqEnt,
  iova: bigint,
  size: bigint,
  granule: number,
  pgsize: number,
): Steps {
  const tlbi = (ent.tlbi ??= {});
  const end = (iova + size) & U64;
  const rangeInv = smmu.features.has("range_inv");
  const tg = BigInt(pgsize);
  let numPages = 0n;
  let invRange = BigInt(granule);

  if (size === 0n) {
    ctx.warn("arm_smmu_cmdq_batch_add_range", "WARN_ON_ONCE(!size)");
    return;
  }

  if (rangeInv) {
    numPages = size >> tg;
    /* Convert page size of 12,14,16 (log2) to 1,2,3 */
    tlbi.tg = (pgsize - 10) / 2;
    /*
     * Leaf invalidations say at which level the granule is (TTL); non-leaf
     * ones leave TTL 0, and avoid num and scale both being 0.
     */
    if (tlbi.leaf) tlbi.ttl = 4 - Math.trunc((ilog2(granule) - 3) / (pgsize - 3));
    else if ((numPages & CMDQ_TLBI_RANGE_NUM_MAX) === 1n) numPages++;
  }

  while (iova < end) {
    if (rangeInv) {
      if (numPages === 0n) {
        /* __ffs(0) is undefined in the kernel: a size that is not a page multiple */
        ctx.warn("arm_smmu_cmdq_batch_add_range", "range not a multiple of the page size");
        return;
      }
      /* The range in pages is 5 bits worth of the aligned size remaining */
      const scale = ffs64(numPages);
      tlbi.scale = Number(scale);
      const num = (numPages >> scale) & CMDQ_TLBI_RANGE_NUM_MAX;
      tlbi.num = Number(num) - 1;
      invRange = num << (scale + tg);
      numPages -= num << scale;
    }
    tlbi.addr = iova;
    yield* batchAdd(ctx, smmu, cmds, ent);
    iova += invRange;
  }
}

/**
 * arm_smmu_atc_inv_to_cmd(): one ATC_INV covering [iova, iova + size) in
 * 4 KiB units, rounded out to a naturally aligned power of two; size 0 is
 * the whole ATC. ssid 0 sends no PASID, which also hits PASID-tagged entries.
 */
export function atcInvToCmd(ssid: number, iova: bigint, size: bigint): CmdqEnt {
  const ent: CmdqEnt = {
    opcode: CMDQ_OP.ATC_INV,
    substreamValid: ssid !== IOMMU_NO_PASID,
    atc: { ssid },
  };
  if (size === 0n) {
    ent.atc!.size = ATC_INV_SIZE_ALL;
    return ent;
  }
  let pageStart = iova >> 12n;
  const pageEnd = ((iova + size - 1n) & U64) >> 12n;
  /* The smallest power of two covering the range: fls(start ^ end) */
  const log2Span = fls64(pageStart ^ pageEnd);
  pageStart &= ~((1n << BigInt(log2Span)) - 1n);
  ent.atc!.addr = pageStart << 12n;
  ent.atc!.size = log2Span;
  return ent;
}
