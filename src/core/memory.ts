/**
 * System memory as the SMMU sees it: tables the driver allocates (stream
 * tables, CD tables, page tables) live at physical addresses, and the
 * hardware reaches them only through the addresses written into STEs, CDs
 * and table entries. Freed memory keeps what it held, and this model never
 * hands an address out again: a reader that still has a freed address (a
 * walk cache) reads the old contents, and whoever checks can tell it was freed.
 */
export class Memory {
  private next = 0x8000_0000n;
  private readonly objects = new Map<bigint, object>();
  private readonly freedObjects = new Map<bigint, object>();

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

  /** What the memory at `pa` holds for a reader that does not know what is allocated (the SMMU): live, or left behind by a free. */
  read<T extends object>(pa: bigint, ctor: abstract new (...args: never[]) => T): T | undefined {
    const obj = this.objects.get(pa) ?? this.freedObjects.get(pa);
    return obj instanceof ctor ? obj : undefined;
  }

  /** Whether `pa` was allocated and has been freed. */
  isFreed(pa: bigint): boolean {
    return this.freedObjects.has(pa);
  }

  free(pa: bigint): void {
    const obj = this.objects.get(pa);
    if (!obj) return;
    this.objects.delete(pa);
    this.freedObjects.set(pa, obj);
  }
}
