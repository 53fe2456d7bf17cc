/**
 * The io-pgtable-arm model (src/model/page-table.ts) and the core's unmap
 * loop around it: levels and sizes as arm_lpae_alloc_pgtable() and
 * arm_lpae_restrict_pgsizes() give them, iommu_pgsize(), tables in memory
 * and freed, and what __arm_lpae_unmap() does with a partial block or an
 * empty entry, derived from the kernel source in each comment.
 */
import { describe, expect, test } from "vitest";
import { KernelBugError } from "../../src/core/rcu.js";
import { Memory } from "../../src/core/memory.js";
import { iommuPgsize, LpaeLayout, PageTable, pgsizeBitmapFor, PtTable, WARN_PARTIAL } from "../../src/model/page-table.js";
import type { Topology } from "../../src/model/topology.js";
import type { Simulator } from "../../src/index.js";
import { nhAsid, nhVa, SYNC } from "../helpers/cmds.js";
import { during, sim } from "../helpers/sim.js";

const G = 2 ** 30;
const WARN_NO_PTE = { fn: "__arm_lpae_unmap", cond: "WARN_ON(!(data->iop.cfg.quirks & IO_PGTABLE_QUIRK_NO_WARN))" };

const TOPO: Topology = {
  smmus: [{ name: "smmu0", features: [] }],
  devices: [{ name: "dev0", smmu: "smmu0", sids: [0x10] }],
  domains: [{ name: "d1", stage: "s1" }],
};

/** A simulator with dev0 on d1, and the WARNs it prints. */
function attached(): { s: Simulator; warns: { fn: string; cond: string }[] } {
  const s = sim(TOPO);
  const warns: { fn: string; cond: string }[] = [];
  s.bus.on("driver:warn", "test", (w) => warns.push(w));
  s.attach("dev0", "d1");
  return { s, warns };
}

describe("levels and sizes for a 48-bit input address space", () => {
  /* levels = DIV_ROUND_UP(48 - pg_shift, pg_shift - 3), start = 4 - levels, pgd_bits = the rest */
  test.each([
    ["4K", 0x1000, "s1", 0, 9, [2 ** 39, G, 2 ** 21, 2 ** 12]],
    ["16K", 0x4000, "s1", 0, 1, [2 ** 47, 2 ** 36, 2 ** 25, 2 ** 14]],
    /* arm_lpae_concat_mandatory(): 16K, start level 0, ias 48: a level-1 pgd of 2 + 11 bits */
    ["16K", 0x4000, "s2", 1, 12, [2 ** 47, 2 ** 36, 2 ** 25, 2 ** 14]],
    ["64K", 0x1_0000, "s1", 1, 6, [2 ** 55, 2 ** 42, 2 ** 29, 2 ** 16]],
    ["4K", 0x1000, "s2", 0, 9, [2 ** 39, G, 2 ** 21, 2 ** 12]],
  ] as const)("%s %s: start level %i, %i pgd index bits, block sizes per level", (_, page, stage, start, pgdBits, blocks) => {
    const l = new LpaeLayout(pgsizeBitmapFor(page), stage);
    expect([l.startLevel, l.pgdBits, l.granule]).toEqual([start, pgdBits, page]);
    expect([0, 1, 2, 3].map((lvl) => l.blockSize(lvl))).toEqual(blocks);
  });

  test("the page sizes of each granule (arm_lpae_restrict_pgsizes, OAS 48)", () => {
    expect([0x1000, 0x4000, 0x1_0000].map(pgsizeBitmapFor)).toEqual([0x1000 | 0x20_0000 | 0x4000_0000, 0x4000 | 0x200_0000, 0x1_0000 | 0x2000_0000]);
  });

  test("ARM_LPAE_LVL_IDX and arm_lpae_max_entries: a 2-entry 16K pgd, a 4096-entry concatenated one", () => {
    const s1 = new LpaeLayout(pgsizeBitmapFor(0x4000), "s1");
    const s2 = new LpaeLayout(pgsizeBitmapFor(0x4000), "s2");
    expect([s1.index(2 ** 47, 0), s1.index(2 ** 47 - 1, 1), s2.index(2 ** 47 + 2 ** 36, 1)]).toEqual([1, 2047, 2049]);
    /* a run of entries stops at the end of its table page, concatenated or not */
    expect([s2.maxEntries(2047), s2.maxEntries(2048), s1.maxEntries(5)]).toEqual([1, 2048, 2043]);
  });
});

describe("iommu_pgsize()", () => {
  const bitmap = pgsizeBitmapFor(0x1000);
  test.each([
    /* the largest size both alignment and size allow; counted only up to a bigger size's boundary when a whole bigger page fits after it */
    ["4K pages up to the 2M boundary, 2M pages fitting after it", 0x1000, 0x1000, 0x40_0000, { pgsize: 0x1000, count: 511 }],
    ["4K pages to the end when no 2M page fits after the boundary", 0x1000, 0x1000, 0x20_0000, { pgsize: 0x1000, count: 512 }],
    ["2M pages", 0x20_0000, 0x20_0000, 0x40_0000, { pgsize: 0x20_0000, count: 2 }],
    ["1G pages, the largest there is", 0, 0, 1024 * G, { pgsize: G, count: 1024 }],
    /* iova and paddr offset differently within 2M: never a bigger page, every 4K page at once */
    ["iova and paddr offset differently", 0x1000, 0x2000, 0x40_0000, { pgsize: 0x1000, count: 1024 }],
  ])("%s", (_, iova, paddr, size, want) => {
    expect(iommuPgsize(bitmap, iova, paddr, size)).toEqual(want);
  });
});

describe("the table in memory", () => {
  test("map takes the largest page that fits; tables are allocated in memory; lookup and entries read them", () => {
    const memory = new Memory();
    const pt = new PageTable(pgsizeBitmapFor(0x1000), memory);
    expect(memory.deref(pt.pa, PageTable)).toBe(pt);
    /* a 4K page up to the 2M boundary, a 2M block, a 4K page: iommu_pgsize() chunk by chunk */
    const ops = { flushWalk: function* () {}, addPage: null, cleared: () => {}, freed: () => {}, warn: () => {} };
    const made = [...runToEnd(pt.map(0x1f_f000, 0x20_2000, 0x1f_f000, true, ops))];
    expect(made).toEqual([
      { iova: 0x1f_f000, size: 0x1000, pa: 0x1f_f000, writable: true },
      { iova: 0x20_0000, size: 0x20_0000, pa: 0x20_0000, writable: true },
      { iova: 0x40_0000, size: 0x1000, pa: 0x40_0000, writable: true },
    ]);
    expect(pt.entries()).toEqual(made);
    expect(pt.lookup(0x3f_ffff)).toBe(made[1]);
    expect(pt.lookup(0x40_1000)).toBeUndefined();
    /* L0 entry 0 -> an L1 table -> an L2 table holding the block and two L3 tables */
    const l1 = memory.deref(tableEntry(pt, 0), PtTable)!;
    const l2 = memory.deref(tableEntry(l1, 0), PtTable)!;
    expect([l1.level, l2.level, [...l2.ptes.keys()].sort()]).toEqual([1, 2, [0, 1, 2]]);
  });

  test("a table-level unmap frees the tables: no longer allocated, but memory still holds what they held", () => {
    const { s } = attached();
    const pt = s.driver.domain("d1").pgtable;
    s.map("d1", 0x20_0000, 0x4000);
    const l3 = tableEntry(s.memory.deref(tableEntry(s.memory.deref(tableEntry(pt, 0), PtTable)!, 0), PtTable)!, 1);
    const freed: bigint[] = [];
    s.bus.on("pgtable:free", "test", (e) => freed.push(...e.freed));
    s.unmap("d1", 0x20_0000, 0x20_0000);
    expect(freed).toEqual([l3]);
    expect([s.memory.deref(l3, PtTable), s.memory.isFreed(l3), s.memory.read(l3, PtTable)?.ptes.size]).toEqual([undefined, true, 4]);
  });
});

describe("a block mapped where an emptied table sits", () => {
  test("arm_lpae_init_pte() unmaps and frees the table first: a walk flush, no gather, so no leaf TLBI", () => {
    /*
     * Unmapping the page at 0x200000 clears its L3 entry and leaves the L3
     * table: io-pgtable frees a table only when it clears the entry above
     * it. Mapping a 2M block there: __arm_lpae_map() at L2, size == block,
     * arm_lpae_init_pte() meets a table entry: __arm_lpae_unmap(data, NULL,
     * 0x200000, 2M, 1, 2, ...) clears it, flushes the walk (2M of 4K: the
     * whole ASID, too big) and frees the table; with no gather nothing else.
     */
    const { s, warns } = attached();
    s.map("d1", 0x20_0000, 0x1000);
    s.unmap("d1", 0x20_0000, 0x1000);
    const freed: number[] = [];
    s.bus.on("pgtable:free", "test", (e) => freed.push(e.freed.length));
    expect(during(s, () => s.map("d1", 0x20_0000, 0x20_0000, { pa: 0x10_0020_0000 }))).toEqual({ smmu0: [nhAsid(1), SYNC] });
    expect(freed).toEqual([1]);
    expect(warns).toEqual([]);
    expect(s.driver.domain("d1").pgtable.entries()).toEqual([{ iova: 0x20_0000, size: 0x20_0000, pa: 0x10_0020_0000, writable: true }]);
  });

  test.each(["driver-invs", "driver-legacy"])("%s: in a process's table (SVA) the range is the mm's to flush: its mmu notifier", (driver) => {
    /*
     * The process's table freed under a block (a THP collapse) is flushed
     * for the range through the notifier, arch_invalidate_secondary_tlbs():
     * 2M of PAGE_SIZE, leaf = false, is too big (mainline's 1 << 9 pages,
     * v7.0's CMDQ_MAX_TLBI_OPS): the whole ASID.
     */
    const s = sim({
      smmus: [{ name: "smmu0", features: ["sva"] }],
      devices: [{ name: "dev0", smmu: "smmu0", sids: [0x10], pasidBits: 8 }],
      domains: [{ name: "proc", stage: "sva" }],
      driver: { plugin: driver },
    });
    expect(s.attachPasid("dev0", "proc", 1)).toBe(0);
    s.map("proc", 0x20_0000, 0x1000);
    s.unmap("proc", 0x20_0000, 0x1000);
    expect(during(s, () => s.map("proc", 0x20_0000, 0x20_0000, { pa: 0x10_0020_0000 }))).toEqual({ smmu0: [nhAsid(1), SYNC] });
    expect(s.timeline.invalidations.at(-1)?.kind).toBe("mm_invalidate");
  });
});

describe("what __arm_lpae_unmap() refuses", () => {
  test("a range smaller than a mapped block: WARN_ONCE, nothing unmapped, no command; the block still translates", () => {
    /*
     * iommu_pgsize(0x200000, 4K) = 4K x 1; at L2 the entry is a 2M block,
     * bigger than 4K: WARN_ONCE(true, "Unmap of a partial large IOPTE is
     * not allowed"), return 0; the core stops, the gather is empty, so
     * iommu_iotlb_sync() calls nothing.
     */
    const { s, warns } = attached();
    s.map("d1", 0x20_0000, 0x20_0000);
    expect(s.driver.domain("d1").pgtable.entries()).toEqual([{ iova: 0x20_0000, size: 0x20_0000, pa: 0x10_0000_0000, writable: true }]);
    expect(during(s, () => s.unmap("d1", 0x20_0000, 0x1000))).toEqual({ smmu0: [] });
    expect(warns).toEqual([{ fn: "__arm_lpae_unmap", cond: WARN_PARTIAL }]);
    expect(WARN_PARTIAL).toBe('WARN_ONCE(true, "Unmap of a partial large IOPTE is not allowed")');
    expect(s.driver.domain("d1").pgtable.entries()).toHaveLength(1);
    expect(s.dma("dev0", "read", 0x20_1000)).toMatchObject({ kind: "ok", via: "walk" });
    /* once: a second partial unmap is as silent as it is ineffective */
    expect(during(s, () => s.unmap("d1", 0x30_0000, 0x2000))).toEqual({ smmu0: [] });
    expect(warns).toHaveLength(1);
  });

  test("the core stops at the partial block: the page before it is unmapped and synced alone", () => {
    /*
     * iommu_pgsize(0x1ff000, 8K) = 4K x 2: L3 entry 511 is the table's last,
     * so one page; then iommu_pgsize(0x200000, 4K) = 4K x 1 meets the 2M
     * block: WARN, 0, break. The gather holds 0x1ff000 (4K): one TLBI.
     */
    const { s, warns } = attached();
    s.map("d1", 0x1f_f000, 0x20_1000, { pa: 0x1f_f000 });
    expect(during(s, () => s.unmap("d1", 0x1f_f000, 0x2000))).toEqual({ smmu0: [nhVa(1, 0x1f_f000n), SYNC] });
    expect(warns).toEqual([{ fn: "__arm_lpae_unmap", cond: WARN_PARTIAL }]);
    expect(s.driver.domain("d1").pgtable.entries().map((l) => l.iova)).toEqual([0x20_0000]);
  });

  test("an empty entry where the unmap starts: WARN_ON and -ENOENT; from 0 bytes the core's count wraps past the size and it stops", () => {
    /*
     * L3 entry 0x10 is empty: WARN_ON(!(quirks & IO_PGTABLE_QUIRK_NO_WARN)),
     * return -ENOENT from a size_t function. __iommu_unmap_domain_pgtbl():
     * unmapped += (size_t)-2 = SIZE_MAX - 1 >= size: the loop ends; nothing
     * was gathered, so no command.
     */
    const { s, warns } = attached();
    s.map("d1", 0x11000, 0x1000);
    expect(during(s, () => s.unmap("d1", 0x10000, 0x2000))).toEqual({ smmu0: [] });
    expect(warns).toEqual([WARN_NO_PTE]);
    expect(s.driver.domain("d1").pgtable.entries()).toHaveLength(1);
  });

  test("an empty entry after some progress: WARN_ON, then the core steps 2 bytes back and iommu_pgsize() BUGs", () => {
    /*
     * 4K x 2 from 0x10000: entry 0x10 unmapped, entry 0x11 empty: WARN_ON,
     * break, 4K returned. Next chunk at 0x11000: WARN_ON, -ENOENT: iova and
     * unmapped step back 2 bytes; iommu_pgsize(0x10ffe, ...) finds no page
     * size aligned to 2 bytes: BUG_ON(!pgsizes), before the iotlb_sync.
     */
    const { s, warns } = attached();
    s.map("d1", 0x10000, 0x1000);
    s.clearCommands();
    expect(() => s.unmap("d1", 0x10000, 0x2000)).toThrow(new KernelBugError("!pgsizes", "iommu_pgsize"));
    expect(warns).toEqual([WARN_NO_PTE, WARN_NO_PTE]);
    expect(s.commands("smmu0")).toEqual([]);
  });
});

describe("an unmap far bigger than what is mapped", () => {
  /** Pages and blocks spread over the first 1 TiB, and how many PTEs io-pgtable has read. */
  function sparse(): { s: Simulator; warns: { fn: string; cond: string }[]; reads: () => number } {
    const { s, warns } = attached();
    s.map("d1", 0x10000, 0x4000);
    s.map("d1", G, 0x20_0000);
    s.map("d1", 2 * G, 0x1000);
    s.map("d1", 3 * G, G);
    s.map("d1", 256 * G, 0x4000);
    s.map("d1", 1020 * G, 0x4000);
    const pt = s.driver.domain("d1").pgtable;
    const before = pt.ptesRead;
    return { s, warns, reads: () => pt.ptesRead - before };
  }

  test("`unmap d1 0 size 1024G` reads under 32 PTEs of a range of 2^28 pages: the level-1 entries up to the first hole go, then the kernel BUGs", () => {
    /*
     * iommu_pgsize(0, 1024G) = 1G x 1024; L0 entry 0, then L1 entries from
     * 0 (max 512): 0, 1, 2 are tables (each cleared, flushed: the whole
     * ASID, too big; freed), 3 a 1G block; 4 is empty: WARN_ON, break, 4G
     * returned. At 4G: L1 entry 4 empty, WARN_ON, -ENOENT, and the next
     * iommu_pgsize() BUGs: the task dies before iommu_iotlb_sync().
     */
    const { s, warns, reads } = sparse();
    s.clearCommands();
    expect(() => s.unmap("d1", 0, 1024 * G)).toThrow(new KernelBugError("!pgsizes", "iommu_pgsize"));
    expect(reads()).toBeLessThan(32);
    expect(s.commands("smmu0")).toEqual([nhAsid(1), SYNC, nhAsid(1), SYNC, nhAsid(1), SYNC]);
    expect(warns).toEqual([WARN_NO_PTE, WARN_NO_PTE]);
    expect(s.driver.domain("d1").pgtable.entries().map((l) => Math.floor(l.iova / G))).toEqual([256, 256, 256, 256, 1020, 1020, 1020, 1020]);
  });

  test("from a hole: WARN_ON, -ENOENT with nothing unmapped, no command, a handful of PTEs read", () => {
    /* iommu_pgsize(4G, 1020G) = 1G x 1020: L1 entry 4 is empty at once */
    const { s, warns, reads } = sparse();
    expect(during(s, () => s.unmap("d1", 4 * G, 1020 * G))).toEqual({ smmu0: [] });
    expect(reads()).toBeLessThan(8);
    expect(warns).toEqual([WARN_NO_PTE]);
    expect(s.driver.domain("d1").pgtable.entries()).toHaveLength(15);
  });
});

/** The next table's address in entry `idx` of `table`. */
function tableEntry(table: PtTable, idx: number): bigint {
  const pte = table.ptes.get(idx);
  if (pte?.kind !== "table") throw new Error(`entry ${idx} is not a table`);
  return pte.pa;
}

function runToEnd<T>(path: Generator<unknown, T, undefined>): T {
  for (;;) {
    const r = path.next();
    if (r.done) return r.value;
  }
}
