/**
 * System memory as the SMMU sees it: tables the driver allocates (stream
 * tables, CD tables, page tables) live at physical addresses, and the
 * hardware reaches them only through the addresses written into STEs, CDs
 * and table entries. This model never hands an address out again, and
 * freed memory keeps what it held for a while: a reader that still has a
 * freed address (a walk cache) reads the old contents, and whoever checks
 * can tell it was freed.
 *
 * "For a while" is a quarantine, as KASAN's (mm/kasan/quarantine.c) holds
 * freed objects before they are reused: the last `quarantine` objects freed
 * keep their contents; an older one reads as nothing (its memory gone to
 * another use), though it is still known to be freed. Without it a run that
 * frees tables for ever (maps and unmaps of whole tables) would keep every
 * one, about 2 KB each. Modelled, not from the kernel.
 */

import { BoundedMap } from "./bounded-map.js";

/** Freed objects whose contents are kept: far more than any scenario of the tests or examples frees. */
export const QUARANTINE = 16_384;

/** Where allocation starts, and the granule addresses are counted in. */
const BASE = 0x8000_0000n;
const PAGE_SHIFT = 12n;

export class Memory {
  private next = BASE;
  private readonly objects = new Map<bigint, object>();
  /** Freed objects still in quarantine. */
  private readonly freedObjects: BoundedMap<bigint, object>;
  /** One bit per page ever allocated: set once its allocation is freed (a bit, whatever became of the contents). */
  private freedPages = new Uint8Array(64);

  constructor(readonly quarantine = QUARANTINE) {
    this.freedObjects = new BoundedMap(quarantine);
  }

  /** Place `obj` at a fresh, page-aligned physical address. */
  alloc(obj: object, bytes = 4096): bigint {
    const pa = this.next;
    this.next += (BigInt(bytes) + 0xfffn) & ~0xfffn;
    this.objects.set(pa, obj);
    return pa;
  }

  /** The object at `pa`, if `pa` holds one of type `ctor` and it is allocated. */
  deref<T extends object>(pa: bigint, ctor: abstract new (...args: never[]) => T): T | undefined {
    const obj = this.objects.get(pa);
    return obj instanceof ctor ? obj : undefined;
  }

  /** What the memory at `pa` holds for a reader that does not know what is allocated (the SMMU): live, or left behind by a free still in quarantine. */
  read<T extends object>(pa: bigint, ctor: abstract new (...args: never[]) => T): T | undefined {
    const obj = this.objects.get(pa) ?? this.freedObjects.get(pa);
    return obj instanceof ctor ? obj : undefined;
  }

  /** Whether `pa` is where an allocation started, and it has been freed. */
  isFreed(pa: bigint): boolean {
    if ((pa & 0xfffn) !== 0n) return false;
    const page = this.page(pa);
    return page >= 0 && page < this.freedPages.length * 8 && (this.freedPages[page >> 3]! & (1 << (page & 7))) !== 0;
  }

  free(pa: bigint): void {
    const obj = this.objects.get(pa);
    if (!obj) return;
    this.objects.delete(pa);
    this.freedObjects.set(pa, obj);
    const page = this.page(pa);
    if (page >> 3 >= this.freedPages.length) {
      const grown = new Uint8Array(Math.max(this.freedPages.length * 2, (page >> 3) + 1));
      grown.set(this.freedPages);
      this.freedPages = grown;
    }
    this.freedPages[page >> 3]! |= 1 << (page & 7);
  }

  /** The index of the page at `pa` among those allocated from BASE, or -1 below it. */
  private page(pa: bigint): number {
    return pa < BASE ? -1 : Number((pa - BASE) >> PAGE_SHIFT);
  }
}
