/**
 * A domain's I/O page table, as io-pgtable-arm keeps it: leaf entries of the
 * sizes the domain supports (pages and blocks). `map` picks the largest size
 * that alignment allows, as iommu_pgsize() does; unmapping takes whole leaves away.
 */
export interface Leaf {
  iova: number;
  size: number;
  pa: number;
  writable: boolean;
}

/** io-pgtable refused a request; `errno` names what iommu_map() / iommu_unmap() returns for it. */
export class PageTableError extends Error {
  constructor(
    message: string,
    readonly errno: "EINVAL" | "EEXIST" = "EINVAL",
  ) {
    super(message);
    this.name = "PageTableError";
  }
}

/** The page sizes of a granule: 4K -> 4K|2M|1G, 16K -> 16K|32M, 64K -> 64K|512M. */
export function pgsizeBitmapFor(pageSize: number): number {
  switch (pageSize) {
    case 0x1000:
      return 0x1000 | 0x20_0000 | 0x4000_0000;
    case 0x4000:
      return 0x4000 | 0x200_0000;
    case 0x1_0000:
      return 0x1_0000 | 0x2000_0000;
    default:
      throw new PageTableError(`unsupported page size 0x${pageSize.toString(16)} (4K, 16K or 64K)`);
  }
}

/** __ffs(): log2 of the lowest set bit. */
export function ffs(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Largest IOVA a table translates (48-bit input address space). */
export const IOVA_LIMIT = 2 ** 48;

const hex = (v: number): string => `0x${v.toString(16)}`;

export class PageTable {
  private readonly leaves = new Map<number, Leaf>();
  /** Page sizes, largest first. */
  private readonly sizes: number[];

  constructor(readonly pgsizeBitmap: number) {
    this.sizes = [];
    for (let b = 30; b >= 0; b--) if (pgsizeBitmap & (1 << b)) this.sizes.push(1 << b);
    if (pgsizeBitmap >= 2 ** 31) throw new PageTableError("page sizes above 1 GiB are not modelled");
  }

  /** The smallest page size (the granule). */
  get granule(): number {
    return this.sizes[this.sizes.length - 1]!;
  }

  /** The leaf translating `addr`, if any. */
  lookup(addr: number): Leaf | undefined {
    for (const size of this.sizes) {
      const leaf = this.leaves.get(addr - (addr % size));
      if (leaf && leaf.size === size) return leaf;
    }
    return undefined;
  }

  /** Map [iova, iova + size) to [pa, pa + size), largest pages first. */
  map(iova: number, size: number, pa: number, writable: boolean): Leaf[] {
    this.checkRange(iova, size, "map");
    if (pa % this.granule !== 0) throw new PageTableError(`map: physical address ${hex(pa)} is not aligned to the ${hex(this.granule)} granule`);
    for (let a = iova; a < iova + size; a += this.granule) {
      const hit = this.lookup(a);
      /* arm_lpae_init_pte(): "We require an unmap first", a WARN_ON and -EEXIST */
      if (hit) throw new PageTableError(`map: ${hex(a)} is already mapped (leaf ${hex(hit.iova)} size ${hex(hit.size)})`, "EEXIST");
    }
    const made: Leaf[] = [];
    let off = 0;
    while (off < size) {
      const a = iova + off;
      const left = size - off;
      const pgsize = this.sizes.find((s) => s <= left && a % s === 0 && (pa + off) % s === 0)!;
      const leaf = { iova: a, size: pgsize, pa: pa + off, writable };
      this.leaves.set(a, leaf);
      made.push(leaf);
      off += pgsize;
    }
    return made;
  }

  /** The leaves covering [iova, iova + size), in address order; a leaf sticking out is an error. */
  leavesIn(iova: number, size: number): Leaf[] {
    this.checkRange(iova, size, "unmap");
    const found: Leaf[] = [];
    for (let a = iova; a < iova + size; ) {
      const leaf = this.lookup(a);
      if (!leaf) {
        a += this.granule;
        continue;
      }
      if (leaf.iova < iova || leaf.iova + leaf.size > iova + size) {
        throw new PageTableError(
          `unmap: [${hex(iova)}, ${hex(iova + size)}) splits the ${hex(leaf.size)} block at ${hex(leaf.iova)}`,
        );
      }
      found.push(leaf);
      a = leaf.iova + leaf.size;
    }
    return found;
  }

  /** Clear one leaf's PTE. */
  remove(leaf: Leaf): void {
    if (this.leaves.get(leaf.iova) === leaf) this.leaves.delete(leaf.iova);
  }

  /** Every leaf, in address order. */
  entries(): Leaf[] {
    return [...this.leaves.values()].sort((x, y) => x.iova - y.iova);
  }

  private checkRange(iova: number, size: number, what: string): void {
    const g = this.granule;
    if (!Number.isSafeInteger(iova) || !Number.isSafeInteger(size) || size <= 0) {
      throw new PageTableError(`${what}: bad range ${iova} size ${size}`);
    }
    if (iova % g !== 0 || size % g !== 0) {
      throw new PageTableError(`${what}: ${hex(iova)} size ${hex(size)} is not aligned to the ${hex(g)} granule`);
    }
    if (iova + size > IOVA_LIMIT) throw new PageTableError(`${what}: ${hex(iova)} size ${hex(size)} is beyond the 48-bit IOVA space`);
  }
}
