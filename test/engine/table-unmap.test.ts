/**
 * Unmaps that clear whole tables, as io-pgtable-arm does them, under both
 * drivers: exact command streams, each derived in its comment from
 *
 * - iommu_pgsize(): the largest page size alignment and size allow, counted
 *   up to the next bigger size's boundary;
 * - __arm_lpae_unmap() at the chunk's level: a table entry is cleared, then
 *   io_pgtable_tlb_flush_walk(iova, block size, granule) (the driver's
 *   arm_smmu_tlb_inv_walk(): mainline arm_smmu_domain_inv_range(..., leaf =
 *   false), v7.0 arm_smmu_tlb_inv_range_domain(..., false)), then the table
 *   is freed; every cleared entry is io_pgtable_tlb_add_page()'d at the
 *   level's block size, so iommu_iotlb_sync() invalidates the range as
 *   leaves of that size (arm_smmu_iotlb_sync(), leaf = true);
 * - the range rules: without RANGE_INV mainline issues the whole ASID once
 *   size >= (1 << (ilog2(granule) - 3)) * granule, else one TLBI per
 *   granule, and v7.0 always one per granule; with RANGE_INV, TG =
 *   (log2(smallest page) - 10) / 2, NUM/SCALE for size >> log2(smallest
 *   page) pages, TTL = 4 - (log2(granule) - 3) / (log2(smallest page) - 3)
 *   for a leaf and 0 otherwise; ATC_INV spans the smallest naturally
 *   aligned power of two of 4K pages holding the range; each driver sends
 *   the TLBIs, CMD_SYNC, then the ATC_INVs, CMD_SYNC.
 */
import { describe, expect, test } from "vitest";
import type { Simulator } from "../../src/index.js";
import type { Cmd } from "../../src/model/commands.js";
import type { SmmuFeature, Topology } from "../../src/model/topology.js";
import { atcInv, nhAsid, nhVa, SYNC } from "../helpers/cmds.js";
import { sim } from "../helpers/sim.js";

const DRIVERS = ["driver-invs", "driver-legacy"] as const;
type Driver = (typeof DRIVERS)[number];

const topology = (driver: Driver, features: SmmuFeature[], pageSize: number): Topology => ({
  smmus: [{ name: "smmu0", features: ["ats", ...features] }],
  devices: [{ name: "dev0", smmu: "smmu0", sids: [0x10], ats: true }],
  domains: [{ name: "d1", stage: "s1", pageSize }],
  driver: { plugin: driver },
});

/** A physical address aligned to `granule` and to nothing bigger, so a map there takes pages of `granule`. */
const pagesOnly = (granule: number): number => 0x10_0000_0000 + granule;

/** What happened during `op`, in order: each command, and each table free as "free N tables". */
function log(s: Simulator, op: () => void): (Cmd | string)[] {
  const out: (Cmd | string)[] = [];
  s.bus.on("cmd:queued", "test", (e) => out.push(e.cmd));
  s.bus.on("pgtable:free", "test", (e) => out.push(`free ${e.freed.length} tables`));
  op();
  return out;
}

/** Map `size` at `iova` in pages of `granule`, then unmap it at once; what the unmap did. */
function unmapPages(driver: Driver, features: SmmuFeature[], granule: number, iova: number, size: number): (Cmd | string)[] {
  const s = sim(topology(driver, features, granule));
  s.attach("dev0", "d1");
  s.map("d1", iova, size, { pa: pagesOnly(granule) });
  expect(s.driver.domain("d1").pgtable.entries()).toHaveLength(size / granule);
  const out = log(s, () => s.unmap("d1", iova, size));
  expect(s.driver.domain("d1").pgtable.entries()).toEqual([]);
  expect(s.violations).toEqual([]);
  return out;
}

/** One non-leaf TLBI_NH_VA per `granule` over `n` granules from `from` (v7.0's walk flush without RANGE_INV). */
const walkPerGranule = (from: number, n: number, granule: number): Cmd[] =>
  Array.from({ length: n }, (_, i) => nhVa(1, BigInt(from + i * granule), { leaf: false }));

/** The walk flush of one table covering [iova, iova + size) of `granule` pages, without RANGE_INV, then its ATC_INV of `atcSize`. */
function walkFlush(driver: Driver, iova: number, size: number, granule: number, atcSize: number): Cmd[] {
  /* mainline: size / granule = 1 << (ilog2(granule) - 3) TLBIs is exactly too big; v7.0 has no such rule */
  const tlbis = driver === "driver-invs" ? [nhAsid(1)] : walkPerGranule(iova, size / granule, granule);
  return [...tlbis, SYNC, atcInv(0x10, { addr: BigInt(iova), size: atcSize }), SYNC];
}

describe.each(DRIVERS)("%s: 4K pages, a level-2 table entry at a time", (driver) => {
  test("2 MiB at 0x200000 without RANGE_INV: the walk flush, the table freed, then one leaf TLBI of the 2 MiB entry", () => {
    /*
     * iommu_pgsize(0x200000, 2M) = 2M x 1. L2 entry 1 is a table: cleared;
     * walk flush (0x200000, 2M, 4K), leaf = false: 512 granules; ATC_INV of
     * 512 pages at 0x200000 (size 9); the L3 table freed. Gathered: 2M at
     * 0x200000, so the sync is (0x200000, 2M, granule 2M, leaf): one TLBI
     * (TTL 0 without RANGE_INV), and the same ATC_INV.
     */
    expect(unmapPages(driver, [], 0x1000, 0x20_0000, 0x20_0000)).toEqual([
      ...walkFlush(driver, 0x20_0000, 0x20_0000, 0x1000, 9),
      "free 1 tables",
      nhVa(1, 0x20_0000n),
      SYNC,
      atcInv(0x10, { addr: 0x20_0000n, size: 9 }),
      SYNC,
    ]);
  });

  test("4 MiB at 0x200000 without RANGE_INV: two walk flushes, each before its table's free; one gather of two 2 MiB entries", () => {
    /*
     * iommu_pgsize(0x200000, 4M) = 2M x 2 (1G does not fit). L2 entries 1
     * and 2 are tables: each cleared, flushed and freed in turn. Both are
     * gathered at 2M: [0x200000, 0x5fffff], so the sync is two leaf TLBIs
     * of granule 2M; its ATC_INV covers 0x200000-0x5fffff, whose smallest
     * aligned power-of-two span is the 8M at 0 (size 11).
     */
    expect(unmapPages(driver, [], 0x1000, 0x20_0000, 0x40_0000)).toEqual([
      ...walkFlush(driver, 0x20_0000, 0x20_0000, 0x1000, 9),
      "free 1 tables",
      ...walkFlush(driver, 0x40_0000, 0x20_0000, 0x1000, 9),
      "free 1 tables",
      nhVa(1, 0x20_0000n),
      nhVa(1, 0x40_0000n),
      SYNC,
      atcInv(0x10, { addr: 0n, size: 11 }),
      SYNC,
    ]);
  });

  test("2 MiB with RANGE_INV: a range walk flush (512 pages, scale 9, TTL 0), then the 2 MiB leaf as a range with TTL 2", () => {
    /*
     * The walk flush: 0x200000 >> 12 = 512 pages: NUM 0 SCALE 9, TG 1, leaf
     * = false so TTL 0 (512 & 31 is not 1, no bump). The sync: granule 2M,
     * leaf: TTL 4 - (21 - 3) / (12 - 3) = 2, the same 512 pages. Both
     * drivers issue the same range commands.
     */
    expect(unmapPages(driver, ["range_inv"], 0x1000, 0x20_0000, 0x20_0000)).toEqual([
      nhVa(1, 0x20_0000n, { scale: 9, tg: 1, leaf: false }),
      SYNC,
      atcInv(0x10, { addr: 0x20_0000n, size: 9 }),
      SYNC,
      "free 1 tables",
      nhVa(1, 0x20_0000n, { scale: 9, tg: 1, ttl: 2 }),
      SYNC,
      atcInv(0x10, { addr: 0x20_0000n, size: 9 }),
      SYNC,
    ]);
  });

  test("4 MiB with RANGE_INV: two range walk flushes, then 1024 pages (scale 10) at TTL 2", () => {
    expect(unmapPages(driver, ["range_inv"], 0x1000, 0x20_0000, 0x40_0000)).toEqual([
      nhVa(1, 0x20_0000n, { scale: 9, tg: 1, leaf: false }),
      SYNC,
      atcInv(0x10, { addr: 0x20_0000n, size: 9 }),
      SYNC,
      "free 1 tables",
      nhVa(1, 0x40_0000n, { scale: 9, tg: 1, leaf: false }),
      SYNC,
      atcInv(0x10, { addr: 0x40_0000n, size: 9 }),
      SYNC,
      "free 1 tables",
      nhVa(1, 0x20_0000n, { scale: 10, tg: 1, ttl: 2 }),
      SYNC,
      atcInv(0x10, { addr: 0n, size: 11 }),
      SYNC,
    ]);
  });
});

describe.each(DRIVERS)("%s: 16K and 64K granules", (driver) => {
  test.each([
    ["16K", 0x4000, 8, 2],
    ["64K", 0x1_0000, 10, 3],
  ])("64 pages of %s: leaves of one table, no walk flush; per page without RANGE_INV, one range with it", (_, granule, atcSize, tg) => {
    /*
     * iommu_pgsize(0x4000000, 64 pages) = one page x 64 (no bigger page
     * fits); L3 entries, all leaves: nothing freed. The sync: 64 pages of
     * granule, leaf; 64 is under 1 << (ilog2(granule) - 3) (2048 or 8192),
     * so one TLBI per page; with RANGE_INV 64 pages = SCALE 6, TG (14 or 16
     * - 10) / 2, TTL 4 - (log2 g - 3) / (log2 g - 3) = 3. ATC_INV: 64 x 16K
     * = 256 4K pages (size 8), 64 x 64K = 1024 (size 10).
     */
    const pages = Array.from({ length: 64 }, (_, i) => nhVa(1, BigInt(0x400_0000 + i * granule)));
    const atc = [atcInv(0x10, { addr: 0x400_0000n, size: atcSize }), SYNC];
    expect(unmapPages(driver, [], granule, 0x400_0000, 64 * granule)).toEqual([...pages, SYNC, ...atc]);
    expect(unmapPages(driver, ["range_inv"], granule, 0x400_0000, 64 * granule)).toEqual([nhVa(1, 0x400_0000n, { scale: 6, tg, ttl: 3 }), SYNC, ...atc]);
  });

  test("1 GiB of 16K pages: 32 x 32M level-2 table entries, each flushed and freed, gathered as one 1 GiB of 32M leaves", () => {
    /*
     * 16K has no 1G page: iommu_pgsize(0x40000000, 1G) = 32M x 32, one
     * unmap_pages() call; 32 L2 entries (of 2048 in the table), all tables.
     * Each: walk flush (32M, granule 16K) = 2048 pages, exactly too big for
     * mainline (1 << 11); ATC_INV of 32M = 8192 4K pages (size 13); free.
     * The sync: 1G of granule 32M, 32 TLBIs; ATC_INV of 1G (size 18).
     */
    const flushes = Array.from({ length: 32 }, (_, i) => [...walkFlush(driver, 0x4000_0000 + i * 0x200_0000, 0x200_0000, 0x4000, 13), "free 1 tables"]).flat();
    const leaves = Array.from({ length: 32 }, (_, i) => nhVa(1, BigInt(0x4000_0000 + i * 0x200_0000)));
    expect(unmapPages(driver, [], 0x4000, 0x4000_0000, 0x4000_0000)).toEqual([...flushes, ...leaves, SYNC, atcInv(0x10, { addr: 0x4000_0000n, size: 18 }), SYNC]);
  });

  test("1 GiB of 16K pages with RANGE_INV: 32 range walk flushes (2048 pages, scale 11), then 65536 pages at TTL 2", () => {
    /* TG 2; the sync's TTL: 4 - (25 - 3) / (14 - 3) = 2 */
    const flushes = Array.from({ length: 32 }, (_, i) => {
      const iova = 0x4000_0000 + i * 0x200_0000;
      return [nhVa(1, BigInt(iova), { scale: 11, tg: 2, leaf: false }), SYNC, atcInv(0x10, { addr: BigInt(iova), size: 13 }), SYNC, "free 1 tables"];
    }).flat();
    expect(unmapPages(driver, ["range_inv"], 0x4000, 0x4000_0000, 0x4000_0000)).toEqual([
      ...flushes,
      nhVa(1, 0x4000_0000n, { scale: 16, tg: 2, ttl: 2 }),
      SYNC,
      atcInv(0x10, { addr: 0x4000_0000n, size: 18 }),
      SYNC,
    ]);
  });

  test("1 GiB of 64K pages: 2 x 512M level-2 table entries (4T blocks need OAS > 48), then two 512M leaves", () => {
    /*
     * iommu_pgsize(0x40000000, 1G) = 512M x 2. Each walk flush: 512M of
     * granule 64K = 8192 pages, exactly too big for mainline (1 << 13);
     * ATC_INV of 512M (size 17). The sync: 1G of granule 512M, 2 TLBIs.
     */
    expect(unmapPages(driver, [], 0x1_0000, 0x4000_0000, 0x4000_0000)).toEqual([
      ...walkFlush(driver, 0x4000_0000, 0x2000_0000, 0x1_0000, 17),
      "free 1 tables",
      ...walkFlush(driver, 0x6000_0000, 0x2000_0000, 0x1_0000, 17),
      "free 1 tables",
      nhVa(1, 0x4000_0000n),
      nhVa(1, 0x6000_0000n),
      SYNC,
      atcInv(0x10, { addr: 0x4000_0000n, size: 18 }),
      SYNC,
    ]);
  });

  test("1 GiB of 64K pages with RANGE_INV: 8192 pages (scale 13) per walk flush, then 16384 (scale 14) at TTL 2", () => {
    /* TG 3; TTL 4 - (29 - 3) / (16 - 3) = 2 */
    expect(unmapPages(driver, ["range_inv"], 0x1_0000, 0x4000_0000, 0x4000_0000)).toEqual([
      nhVa(1, 0x4000_0000n, { scale: 13, tg: 3, leaf: false }),
      SYNC,
      atcInv(0x10, { addr: 0x4000_0000n, size: 17 }),
      SYNC,
      "free 1 tables",
      nhVa(1, 0x6000_0000n, { scale: 13, tg: 3, leaf: false }),
      SYNC,
      atcInv(0x10, { addr: 0x6000_0000n, size: 17 }),
      SYNC,
      "free 1 tables",
      nhVa(1, 0x4000_0000n, { scale: 14, tg: 3, ttl: 2 }),
      SYNC,
      atcInv(0x10, { addr: 0x4000_0000n, size: 18 }),
      SYNC,
    ]);
  });
});

describe("the timeline", () => {
  test("a table-level unmap is two invalidations: the walk flush (tlb_flush_walk), then the iotlb_sync", () => {
    const s = sim(topology("driver-invs", [], 0x1000));
    s.attach("dev0", "d1");
    s.map("d1", 0x20_0000, 0x1000);
    const from = s.timeline.invalidations.length;
    s.unmap("d1", 0x20_0000, 0x20_0000);
    expect(s.timeline.invalidations.slice(from).map((i) => [i.kind, i.domain, Object.fromEntries(i.perSmmu)])).toEqual([
      ["tlb_flush_walk", "d1", { smmu0: { commands: 4, syncs: 2 } }],
      ["iotlb_sync", "d1", { smmu0: { commands: 4, syncs: 2 } }],
    ]);
  });
});

describe("driver-invs: 4K, a level-1 table entry", () => {
  test("1 GiB at 1 GiB holding one page: the L2 table and its L3 table freed after one walk flush; the 1 GiB leaf at TTL 1", () => {
    /*
     * iommu_pgsize(0x40000000, 1G) = 1G x 1: L1 entry 1 is a table. Walk
     * flush (1G, granule 4K): too big, the whole ASID; ATC_INV of 1G (size
     * 18); __arm_lpae_free_pgtable() frees the L2 table and the L3 table
     * under it. The sync: granule 1G: one TLBI, or with RANGE_INV 262144
     * pages (scale 18) at TTL 4 - (30 - 3) / (12 - 3) = 1.
     */
    const run = (features: SmmuFeature[]): (Cmd | string)[] => {
      const s = sim(topology("driver-invs", features, 0x1000));
      s.attach("dev0", "d1");
      s.map("d1", 0x4000_0000, 0x1000);
      return log(s, () => s.unmap("d1", 0x4000_0000, 0x4000_0000));
    };
    const atc = [atcInv(0x10, { addr: 0x4000_0000n, size: 18 }), SYNC];
    expect(run([])).toEqual([nhAsid(1), SYNC, ...atc, "free 2 tables", nhVa(1, 0x4000_0000n), SYNC, ...atc]);
    expect(run(["range_inv"])).toEqual([
      nhVa(1, 0x4000_0000n, { scale: 18, tg: 1, leaf: false }),
      SYNC,
      ...atc,
      "free 2 tables",
      nhVa(1, 0x4000_0000n, { scale: 18, tg: 1, ttl: 1 }),
      SYNC,
      ...atc,
    ]);
  });
});
