/**
 * src/model/page-table.ts: a domain's I/O page table as io-pgtable-arm keeps
 * it. map() splits a range as iommu_pgsize() does, the largest page size both
 * the IOVA and the PA are aligned to that fits what is left; unmap finds
 * whole leaves, and refuses to split a block.
 */
import { describe, expect, test } from "vitest";
import { ffs, IOVA_LIMIT, PageTable, PageTableError, pgsizeBitmapFor } from "../../src/model/page-table.js";

const hexLeaves = (leaves: Array<{ iova: number; size: number }>): string[] => leaves.map((l) => `0x${l.iova.toString(16)}+0x${l.size.toString(16)}`);

describe("granules", () => {
  test("a granule's page sizes: itself and its blocks (4K: 2M and 1G; 16K: 32M; 64K: 512M)", () => {
    expect([pgsizeBitmapFor(0x1000), pgsizeBitmapFor(0x4000), pgsizeBitmapFor(0x1_0000)]).toEqual([0x4020_1000, 0x200_4000, 0x2001_0000]);
    expect(() => pgsizeBitmapFor(0x2000)).toThrow(new PageTableError("unsupported page size 0x2000 (4K, 16K or 64K)"));
  });

  test("__ffs(): the lowest set bit", () => {
    expect([ffs(0x1000), ffs(0x3000), ffs(0x20_0000), ffs(1)]).toEqual([12, 12, 21, 0]);
  });

  test("the granule is the smallest size; sizes above 1 GiB are not modelled", () => {
    expect([new PageTable(pgsizeBitmapFor(0x1000)).granule, new PageTable(pgsizeBitmapFor(0x4000)).granule]).toEqual([0x1000, 0x4000]);
    expect(() => new PageTable(0x1000 + 2 ** 31)).toThrow("page sizes above 1 GiB are not modelled");
  });
});

describe("map", () => {
  test("the largest pages alignment allows: 4K up to the 2 MiB boundary, a block, then 4K", () => {
    const pt = new PageTable(pgsizeBitmapFor(0x1000));
    const made = pt.map(0x1f_e000, 0x20_4000, 0x801f_e000, true);
    expect(hexLeaves(made)).toEqual(["0x1fe000+0x1000", "0x1ff000+0x1000", "0x200000+0x200000", "0x400000+0x1000", "0x401000+0x1000"]);
    expect(made[2]).toEqual({ iova: 0x20_0000, size: 0x20_0000, pa: 0x8020_0000, writable: true });
    expect(pt.entries()).toEqual(made);
  });

  test("a PA not aligned like the IOVA: no block", () => {
    const pt = new PageTable(pgsizeBitmapFor(0x1000));
    const made = pt.map(0x20_0000, 0x20_0000, 0x8000_1000, false);
    expect(made).toHaveLength(512);
    expect(made.every((l) => l.size === 0x1000 && !l.writable)).toBe(true);
  });

  test("a 16K granule: 16K pages and 32M blocks", () => {
    const pt = new PageTable(pgsizeBitmapFor(0x4000));
    expect(hexLeaves(pt.map(0x1ff_c000, 0x200_8000, 0x1ff_c000, true))).toEqual(["0x1ffc000+0x4000", "0x2000000+0x2000000", "0x4000000+0x4000"]);
  });

  test("refused: a range already mapped (-EEXIST), unaligned, empty, or beyond 48 bits", () => {
    const pt = new PageTable(pgsizeBitmapFor(0x1000));
    pt.map(0x20_0000, 0x20_0000, 0x8020_0000, true);
    expect(() => pt.map(0x1f_f000, 0x3000, 0x1000, true)).toThrow("map: 0x200000 is already mapped (leaf 0x200000 size 0x200000): -EEXIST");
    expect(() => pt.map(0x1800, 0x1000, 0x1000, true)).toThrow("map: 0x1800 size 0x1000 is not aligned to the 0x1000 granule");
    expect(() => pt.map(0x1000, 0x1000, 0x1800, true)).toThrow("map: physical address 0x1800 is not aligned to the 0x1000 granule");
    expect(() => pt.map(0x1000, 0, 0x1000, true)).toThrow("map: bad range 4096 size 0");
    expect(() => pt.map(IOVA_LIMIT - 0x1000, 0x2000, 0, true)).toThrow("map: 0xfffffffff000 size 0x2000 is beyond the 48-bit IOVA space");
    /* nothing was mapped by a refused call */
    expect(hexLeaves(pt.entries())).toEqual(["0x200000+0x200000"]);
  });
});

describe("lookup and unmap", () => {
  function table(): PageTable {
    const pt = new PageTable(pgsizeBitmapFor(0x1000));
    pt.map(0x1f_e000, 0x20_4000, 0x801f_e000, true);
    return pt;
  }

  test("lookup: the leaf translating an address, of whatever size", () => {
    const pt = table();
    expect(pt.lookup(0x3f_ffff)).toEqual({ iova: 0x20_0000, size: 0x20_0000, pa: 0x8020_0000, writable: true });
    expect(pt.lookup(0x1f_e123)?.iova).toBe(0x1f_e000);
    expect(pt.lookup(0x40_2000)).toBeUndefined();
  });

  test("the leaves in a range, in order, skipping holes", () => {
    const pt = table();
    expect(hexLeaves(pt.leavesIn(0x1f_0000, 0x21_2000))).toEqual(["0x1fe000+0x1000", "0x1ff000+0x1000", "0x200000+0x200000", "0x400000+0x1000", "0x401000+0x1000"]);
    expect(pt.leavesIn(0x50_0000, 0x1000)).toEqual([]);
  });

  test("a range that would split a block is refused", () => {
    expect(() => table().leavesIn(0x20_0000, 0x1000)).toThrow("unmap: [0x200000, 0x201000) splits the 0x200000 block at 0x200000");
    expect(() => table().leavesIn(0x3f_f000, 0x2000)).toThrow("unmap: [0x3ff000, 0x401000) splits the 0x200000 block at 0x200000");
  });

  test("remove clears one leaf; a leaf that is no longer there is left alone", () => {
    const pt = table();
    const block = pt.lookup(0x20_0000)!;
    pt.remove(block);
    expect(pt.lookup(0x20_0000)).toBeUndefined();
    pt.map(0x20_0000, 0x1000, 0x9000_0000, true);
    pt.remove(block);
    expect(pt.lookup(0x20_0000)?.pa).toBe(0x9000_0000);
  });
});
