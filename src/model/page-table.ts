/**
 * A domain's I/O page table as io-pgtable-arm keeps it: a radix tree of
 * tables in physical memory (the pgd, then granule-sized tables), with the
 * levels arm_lpae_alloc_pgtable() computes for a 48-bit input address space
 * and leaves of the sizes arm_lpae_restrict_pgsizes() allows. Mapping and
 * unmapping follow iommu_pgsize(), __arm_lpae_map() and __arm_lpae_unmap(),
 * and visit only the populated part of a range.
 */
import { ExpectedError } from "./expected-error.js";
import { born, exec, site, type Explored, type Steps } from "./step.js";
import { hex } from "./hex.js";

export interface Leaf {
  iova: number;
  size: number;
  pa: number;
  writable: boolean;
}

/** io-pgtable refused a request; `errno` names what iommu_map() / iommu_unmap() returns for it. */
export class PageTableError extends ExpectedError {
  constructor(
    message: string,
    readonly errno: "EINVAL" | "EEXIST" = "EINVAL",
  ) {
    super(message);
    this.name = "PageTableError";
  }
}

/** A map would hold more page-table entries than the emulator allows a scenario (a bound on its memory, not a kernel limit). */
export class PteLimitError extends Error {
  constructor(
    /** Leaves the map would write. */
    readonly needed: number,
    /** Leaves it may write: the limit less what the scenario holds. */
    readonly room: number,
  ) {
    super(`needs ${needed} page-table entries, more than the ${room} left under the limit`);
    this.name = "PteLimitError";
  }
}

/** The page sizes of a granule: 4K -> 4K|2M|1G, 16K -> 16K|32M, 64K -> 64K|512M (arm_lpae_restrict_pgsizes(), OAS 48). */
export function pgsizeBitmapFor(pageSize: number): number {
  switch (pageSize) {
    case 0x1000:
      return 0x1000 | 0x20_0000 | 0x4000_0000;
    case 0x4000:
      return 0x4000 | 0x200_0000;
    case 0x1_0000:
      return 0x1_0000 | 0x2000_0000;
    default:
      throw new PageTableError(`unsupported page size ${hex(pageSize)} (4K, 16K or 64K)`);
  }
}

/** __ffs(): log2 of the lowest set bit. */
export function ffs(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Largest IOVA a table translates (48-bit input address space). */
const IOVA_LIMIT = 2 ** 48;

/** ARM_LPAE_MAX_LEVELS */
const MAX_LEVELS = 4;

/** What __arm_lpae_unmap() returns for an empty entry where it starts: -ENOENT, from a size_t function. */
export const UNMAP_ENOENT = -2;


/** pageSizes()' answers: a bitmap is one of the few a domain's page table has, and map and unmap ask at every chunk. */
const PAGE_SIZES = new Map<number, readonly number[]>();

/** The page sizes of `bitmap`, smallest first. */
function pageSizes(bitmap: number): readonly number[] {
  let sizes = PAGE_SIZES.get(bitmap);
  if (sizes) return sizes;
  if (bitmap >= 2 ** 31) throw new PageTableError("page sizes above 1 GiB are not modelled");
  const out: number[] = [];
  for (let b = 0; b <= 30; b++) if (bitmap & (1 << b)) out.push(2 ** b);
  PAGE_SIZES.set(bitmap, (sizes = out));
  return sizes;
}

/**
 * iommu_pgsize(): the largest page size that `size` and the alignment of
 * `iova` and `paddr` allow, and how many such pages to take: only up to the
 * next bigger page size's boundary when a whole bigger page fits after it.
 * Callers keep iova, paddr and size aligned to the smallest page size.
 */
export function iommuPgsize(bitmap: number, iova: number, paddr: number, size: number): { pgsize: number; count: number } {
  const sizes = pageSizes(bitmap);
  /* the largest that fits, and the next bigger one */
  let k = -1;
  for (let i = 0; i < sizes.length; i++) {
    const s = sizes[i]!;
    if (s <= size && iova % s === 0 && paddr % s === 0) k = i;
  }
  if (k < 0) throw new Error(`iommu_pgsize: no page size fits ${hex(iova)} size ${hex(size)}`);
  const pgsize = sizes[k]!;
  const next = sizes[k + 1];
  let span = size;
  /* There's no point trying a bigger page size unless iova and paddr are similarly offset within it */
  if (next !== undefined && iova % next === paddr % next) {
    const offset = next - (iova % next);
    if (offset + next <= size) span = offset;
  }
  return { pgsize, count: Math.floor(span / pgsize) };
}

/**
 * The geometry of struct arm_lpae_io_pgtable for a 48-bit input address
 * space: bits per level, the start level and the pgd's index bits. The
 * output size is 48 bits (the STE's VTCR.PS and the CD's IPS say so), so
 * the only concatenated pgd is the stage-2 16K one arm_lpae_concat_mandatory()
 * asks for (a 48-bit IAS): it starts at level 1 with 16 tables' worth of entries.
 */
export class LpaeLayout {
  readonly pgShift: number;
  readonly bitsPerLevel: number;
  readonly startLevel: number;
  readonly pgdBits: number;
  /** ARM_LPAE_GRANULE() */
  readonly granule: number;
  /** ARM_LPAE_PTES_PER_TABLE() */
  readonly ptesPerTable: number;
  /* per level: blockSize() and the number of entries index() wraps at, worked out once (every map, unmap and walk asks) */
  private readonly blockSizes: number[] = [];
  private readonly entriesAt: number[] = [];

  constructor(pgsizeBitmap: number, stage: "s1" | "s2") {
    this.pgShift = ffs(pgsizeBitmap);
    this.bitsPerLevel = this.pgShift - 3;
    const vaBits = Math.log2(IOVA_LIMIT) - this.pgShift;
    const levels = Math.ceil(vaBits / this.bitsPerLevel);
    let startLevel = MAX_LEVELS - levels;
    let pgdBits = vaBits - this.bitsPerLevel * (levels - 1);
    if (stage === "s2" && this.pgShift === 14 && startLevel === 0) {
      pgdBits += this.bitsPerLevel;
      startLevel++;
    }
    this.startLevel = startLevel;
    this.pgdBits = pgdBits;
    this.granule = 2 ** this.pgShift;
    this.ptesPerTable = 2 ** this.bitsPerLevel;
    for (let level = 0; level < MAX_LEVELS; level++) {
      this.blockSizes.push(2 ** ((MAX_LEVELS - level) * this.bitsPerLevel + 3));
      this.entriesAt.push(2 ** (level === startLevel ? pgdBits : this.bitsPerLevel));
    }
  }

  /** ARM_LPAE_PGD_SIZE() */
  get pgdBytes(): number {
    return 8 * 2 ** this.pgdBits;
  }

  /** ARM_LPAE_BLOCK_SIZE(): what one entry at `level` maps. */
  blockSize(level: number): number {
    return this.blockSizes[level]!;
  }

  /** ARM_LPAE_LVL_IDX(): the index of `iova`'s entry in its table at `level`. */
  index(iova: number, level: number): number {
    return Math.floor(iova / this.blockSizes[level]!) % this.entriesAt[level]!;
  }

  /** arm_lpae_max_entries(): entries from index `i` to the end of its table page. */
  maxEntries(i: number): number {
    return this.ptesPerTable - (i % this.ptesPerTable);
  }
}

/** A non-zero page-table entry: a leaf (page or block), or the physical address of the next level's table. */
export type Pte = { readonly kind: "leaf"; readonly leaf: Leaf } | { readonly kind: "table"; readonly pa: bigint };

/**
 * One table of io-pgtable-arm (the pgd, or a granule-sized page) at `level`:
 * its non-zero entries by index. The SMMU's walker reads tables as they sit
 * in memory; the driver programs the granule and levels it assumes (TCR.TG0
 * and T0SZ, VTCR.SL0) to match `layout`.
 */
export class PtTable {
  readonly ptes = new Map<number, Pte>();

  constructor(
    readonly layout: LpaeLayout,
    readonly level: number,
  ) {
    born(this, "pt");
  }
}

/** Physical memory as io-pgtable allocates its tables in it (src/core/memory.ts's Memory). */
export interface TableMemory {
  alloc(obj: object, bytes?: number): bigint;
  free(pa: bigint): void;
  deref<T extends object>(pa: bigint, ctor: abstract new (...args: never[]) => T): T | undefined;
}

/**
 * What __arm_lpae_unmap() calls out to: the driver's iommu_flush_ops
 * (through io_pgtable_tlb_flush_walk() and io_pgtable_tlb_add_page()), and
 * what the emulator watches.
 */
export interface UnmapOps {
  /** ->tlb_flush_walk(): a table entry was cleared; its range is invalidated (and synced) before the table is freed. */
  flushWalk(iova: number, size: number, granule: number): Steps;
  /** ->tlb_add_page() into the unmap's gather; null without a gather (a table replaced by a map). */
  addPage: ((iova: number, size: number) => Steps) | null;
  /** These leaves left the table (their PTE, or a table entry above them, was cleared). */
  cleared(leaves: Leaf[]): void;
  /** These tables were freed. */
  freed(tables: bigint[]): void;
  /** A WARN in io-pgtable-arm (its condition or message as the kernel writes it). */
  warn(cond: string, once: boolean): void;
}

/** A leaf PTE and where it sits. */
interface LeafAt {
  table: PtTable;
  idx: number;
  leaf: Leaf;
}

const S_CLEAR_PTE = site("__arm_lpae_unmap", "clear PTE");

/** The PTE at `idx` of `table` as a shared location: the CPUs write it, the SMMUs' walks read it. */
export function pteLocation(e: Explored, table: PtTable, idx: number): string {
  return `${e.nameOf(table, "pt")}[${idx}]`;
}

/** __arm_lpae_clear_pte(): under a schedule explorer a store the SMMUs' walks may not see yet. */
function* clearPte(table: PtTable, idx: number): Steps {
  const e = exec();
  if (!e) {
    yield S_CLEAR_PTE;
    table.ptes.delete(idx);
    return;
  }
  const location = pteLocation(e, table, idx);
  yield e.storeStep(S_CLEAR_PTE, location);
  e.store(location, table.ptes.get(idx), undefined);
  table.ptes.delete(idx);
}

/** __arm_lpae_set_pte(), within the map's one step: under a schedule explorer a store too. */
function setPte(table: PtTable, idx: number, pte: Pte): void {
  const e = exec();
  if (e) e.store(pteLocation(e, table, idx), table.ptes.get(idx), pte);
  table.ptes.set(idx, pte);
}

/** __arm_lpae_unmap()'s WARN on an entry that is not there (IO_PGTABLE_QUIRK_NO_WARN is not set by arm-smmu-v3). */
const WARN_NO_PTE = "WARN_ON(!(data->iop.cfg.quirks & IO_PGTABLE_QUIRK_NO_WARN))";
/** __arm_lpae_unmap() on a block bigger than the request: no split. */
export const WARN_PARTIAL = 'WARN_ONCE(true, "Unmap of a partial large IOPTE is not allowed")';

/**
 * An io-pgtable-arm table: the pgd at `pa` (this object is what memory holds
 * there), its layout, and the tables below it in memory.
 */
export class PageTable extends PtTable {
  /** The pgd's physical address (TTB0 / S2TTB). */
  readonly pa: bigint;
  /** Page-table entries read so far by map, unmap and lookup: what they cost. */
  ptesRead = 0;

  constructor(
    readonly pgsizeBitmap: number,
    private readonly memory: TableMemory,
    stage: "s1" | "s2" = "s1",
  ) {
    pageSizes(pgsizeBitmap); // refuses sizes above 1G
    const layout = new LpaeLayout(pgsizeBitmap, stage);
    super(layout, layout.startLevel);
    /* __arm_lpae_alloc_pages(): at least 64 bytes */
    this.pa = memory.alloc(this, Math.max(layout.pgdBytes, 64));
  }

  /** The smallest page size (the granule). */
  get granule(): number {
    return this.layout.granule;
  }

  /** The leaf translating `addr`, if any (arm_lpae_iova_to_phys()). */
  lookup(addr: number): Leaf | undefined {
    if (!(addr >= 0 && addr < IOVA_LIMIT)) return undefined;
    let table: PtTable = this;
    for (;;) {
      const pte = this.read(table, this.layout.index(addr, table.level));
      if (!pte) return undefined;
      if (pte.kind === "leaf") return pte.leaf;
      table = this.tableAt(pte.pa);
    }
  }

  /** Every leaf, in address order. */
  entries(): Leaf[] {
    const out: Leaf[] = [];
    this.collect(this, out);
    return out;
  }

  /**
   * iommu_map()'s loop over iommu_pgsize() chunks, each __arm_lpae_map():
   * tables are allocated on the way down; an (empty) table where a block
   * goes is unmapped and freed first (arm_lpae_init_pte(), without a gather).
   * Mapping over a leaf is refused before anything changes (the kernel
   * WARNs, returns -EEXIST and unmaps what it mapped of the request).
   */
  *map(iova: number, size: number, pa: number, writable: boolean, ops: UnmapOps, room = Infinity): Steps<Leaf[]> {
    this.checkRange(iova, size, "map");
    if (pa % this.granule !== 0) throw new PageTableError(`map: physical address ${hex(pa)} is not aligned to the ${hex(this.granule)} granule`);
    /* counted before a table is touched: a map of a terabyte in 4K pages is refused, not attempted */
    const needed = this.leafCount(iova, size, pa);
    if (needed > room) throw new PteLimitError(needed, room);
    const hit = this.leavesIn(this, 0, iova, iova + size, true)[0]?.leaf;
    if (hit) {
      const a = Math.max(iova, hit.iova);
      throw new PageTableError(`map: ${hex(a)} is already mapped (leaf ${hex(hit.iova)} size ${hex(hit.size)})`, "EEXIST");
    }
    const made: Leaf[] = [];
    for (let off = 0; off < size; ) {
      const { pgsize, count } = iommuPgsize(this.pgsizeBitmap, iova + off, pa + off, size - off);
      off += yield* this.mapAt(this, iova + off, pa + off, pgsize, count, writable, made, ops);
    }
    return made;
  }

  /** __arm_lpae_map() at `table`'s level; returns the bytes mapped. */
  private *mapAt(table: PtTable, iova: number, pa: number, size: number, pgcount: number, writable: boolean, made: Leaf[], ops: UnmapOps): Steps<number> {
    const { layout } = this;
    const idx = layout.index(iova, table.level);
    if (size === layout.blockSize(table.level)) {
      const n = Math.min(pgcount, layout.maxEntries(idx));
      for (let i = 0; i < n; i++) {
        /* We need to unmap and free the old table before overwriting it with a block entry */
        if (this.read(table, idx + i)?.kind === "table") yield* this.unmapAt(table, iova + i * size, size, 1, { ...ops, addPage: null });
      }
      for (let i = 0; i < n; i++) {
        const leaf = { iova: iova + i * size, size, pa: pa + i * size, writable };
        setPte(table, idx + i, { kind: "leaf", leaf });
        made.push(leaf);
      }
      return n * size;
    }
    let pte = this.read(table, idx);
    if (!pte) {
      /* __arm_lpae_alloc_pages(), then arm_lpae_install_table() */
      const next = new PtTable(layout, table.level + 1);
      pte = { kind: "table", pa: this.memory.alloc(next, layout.granule) };
      setPte(table, idx, pte);
    }
    if (pte.kind === "leaf") throw new Error(`map: a leaf at ${hex(iova)} escaped the overlap check`);
    return yield* this.mapAt(this.tableAt(pte.pa), iova, pa, size, pgcount, writable, made, ops);
  }

  /**
   * arm_lpae_unmap_pages(): `pgcount` entries of size `pgsize` (a page size
   * iommu_pgsize() chose) from `iova`; the bytes unmapped, 0, or UNMAP_ENOENT.
   */
  *unmapPages(iova: number, pgsize: number, pgcount: number, ops: UnmapOps): Steps<number> {
    return yield* this.unmapAt(this, iova, pgsize, pgcount, ops);
  }

  /**
   * __arm_lpae_unmap(): at the level whose block size is `size`, each entry
   * from `iova` (up to `pgcount`, within this table, until an empty one) is
   * cleared: a table entry at once, its range flushed (walk) and the table
   * freed with everything below it; then every cleared entry, leaf or
   * table, goes into the gather at this level's block size. A leaf bigger
   * than `size` is not split: WARN_ONCE and nothing unmapped.
   */
  private *unmapAt(table: PtTable, iova: number, size: number, pgcount: number, ops: UnmapOps): Steps<number> {
    const { layout } = this;
    const idx = layout.index(iova, table.level);
    const pte = this.read(table, idx);
    if (!pte) {
      ops.warn(WARN_NO_PTE, false);
      return UNMAP_ENOENT;
    }
    if (size !== layout.blockSize(table.level)) {
      if (pte.kind === "leaf") {
        ops.warn(WARN_PARTIAL, true);
        return 0;
      }
      /* Keep on walkin' */
      return yield* this.unmapAt(this.tableAt(pte.pa), iova, size, pgcount, ops);
    }
    const n = Math.min(pgcount, layout.maxEntries(idx));
    const leaves: LeafAt[] = [];
    let i = 0;
    for (; i < n; i++) {
      const p = this.read(table, idx + i);
      if (!p) {
        ops.warn(WARN_NO_PTE, false);
        break;
      }
      if (p.kind === "leaf") {
        leaves.push({ table, idx: idx + i, leaf: p.leaf });
        continue;
      }
      const below: Leaf[] = [];
      this.collect(this.tableAt(p.pa), below);
      yield* clearPte(table, idx + i);
      ops.cleared(below);
      /* Also flush any partial walks */
      yield* ops.flushWalk(iova + i * size, size, layout.granule);
      ops.freed(this.freeTable(p.pa));
    }
    /* Clear the remaining entries */
    for (const { idx: j, leaf } of leaves) {
      yield* clearPte(table, j);
      ops.cleared([leaf]);
    }
    if (ops.addPage) for (let j = 0; j < i; j++) yield* ops.addPage(iova + j * size, size);
    return i * size;
  }

  /**
   * The leaves in [iova, iova + size), cleared one by one, tables kept:
   * what a process's munmap() or a guest's unmap does to its own table
   * here. A block sticking out of the range is an error, before anything changes.
   */
  *clearLeaves(iova: number, size: number, ops: Pick<UnmapOps, "cleared">): Steps<Leaf[]> {
    this.checkRange(iova, size, "unmap");
    const found = this.leavesIn(this, 0, iova, iova + size, false);
    for (const { leaf } of found) {
      if (leaf.iova < iova || leaf.iova + leaf.size > iova + size) {
        throw new PageTableError(`unmap: [${hex(iova)}, ${hex(iova + size)}) splits the ${hex(leaf.size)} block at ${hex(leaf.iova)}`);
      }
    }
    for (const { table, idx, leaf } of found) {
      yield* clearPte(table, idx);
      ops.cleared([leaf]);
    }
    return found.map((f) => f.leaf);
  }

  /** How many leaves a map of [iova, iova + size) to `pa` writes: iommu_pgsize()'s chunks, counted. */
  private leafCount(iova: number, size: number, pa: number): number {
    let n = 0;
    for (let off = 0; off < size; ) {
      const { pgsize, count } = iommuPgsize(this.pgsizeBitmap, iova + off, pa + off, size - off);
      n += count;
      off += pgsize * count;
    }
    return n;
  }

  /** Reject a range that is empty, not granule-aligned or beyond the 48-bit input space. */
  checkRange(iova: number, size: number, what: string): void {
    const g = this.granule;
    if (!Number.isSafeInteger(iova) || !Number.isSafeInteger(size) || iova < 0 || size <= 0) {
      throw new PageTableError(`${what}: bad range ${iova} size ${size}`);
    }
    if (iova % g !== 0 || size % g !== 0) {
      throw new PageTableError(`${what}: ${hex(iova)} size ${hex(size)} is not aligned to the ${hex(g)} granule`);
    }
    if (iova + size > IOVA_LIMIT) throw new PageTableError(`${what}: ${hex(iova)} size ${hex(size)} is beyond the 48-bit IOVA space`);
  }

  private read(table: PtTable, idx: number): Pte | undefined {
    this.ptesRead++;
    return table.ptes.get(idx);
  }

  /** iopte_deref(): the live table at `pa`. */
  private tableAt(pa: bigint): PtTable {
    const t = this.memory.deref(pa, PtTable);
    if (!t) throw new Error(`io-pgtable: no table at ${hex(pa)}`);
    return t;
  }

  /** The populated entries of `table`, in index order. */
  private populated(table: PtTable): [number, Pte][] {
    this.ptesRead += table.ptes.size;
    return [...table.ptes].sort((a, b) => a[0] - b[0]);
  }

  /** Every leaf under `table`, in address order, into `out`. */
  private collect(table: PtTable, out: Leaf[]): void {
    for (const [, pte] of this.populated(table)) {
      if (pte.kind === "leaf") out.push(pte.leaf);
      else this.collect(this.tableAt(pte.pa), out);
    }
  }

  /**
   * The leaf PTEs under `table` (which starts at `base`) overlapping
   * [lo, hi), in address order, with the table and index holding each
   * (only the first one if `first`).
   */
  private leavesIn(table: PtTable, base: number, lo: number, hi: number, first: boolean, out: LeafAt[] = []): LeafAt[] {
    const span = this.layout.blockSize(table.level);
    const from = Math.max(0, Math.floor((lo - base) / span));
    /* a table below the pgd has ptesPerTable entries: a range past its end reads none of them */
    const to = Math.min(table === this ? Infinity : this.layout.ptesPerTable, Math.ceil((hi - base) / span));
    /* the entries in range one by one, or the populated ones (sorted), whichever are fewer */
    const sorted = to - from <= table.ptes.size ? null : this.populated(table);
    const n = sorted ? sorted.length : to - from;
    for (let i = 0; i < n && !(first && out.length); i++) {
      const idx = sorted ? sorted[i]![0] : from + i;
      const pte = sorted ? sorted[i]![1] : this.read(table, idx);
      if (!pte || idx < from || idx >= to) continue;
      if (pte.kind === "leaf") out.push({ table, idx, leaf: pte.leaf });
      else this.leavesIn(this.tableAt(pte.pa), base + idx * span, lo, hi, first, out);
    }
    return out;
  }

  /** __arm_lpae_free_pgtable(): the table at `pa` and every table below it, freed; their addresses. */
  private freeTable(pa: bigint): bigint[] {
    const freed: bigint[] = [];
    for (const [, pte] of this.populated(this.tableAt(pa))) if (pte.kind === "table") freed.push(...this.freeTable(pte.pa));
    this.memory.free(pa);
    freed.push(pa);
    return freed;
  }
}
