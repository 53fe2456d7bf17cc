/**
 * System memory as the SMMU sees it: tables the driver allocates (stream
 * tables, CD tables, page tables) live at physical addresses, and the
 * hardware reaches them only through the addresses written into STEs and CDs.
 */
export class Memory {
  private next = 0x8000_0000n;
  private readonly objects = new Map<bigint, object>();

  /** Place `obj` at a fresh, page-aligned physical address. */
  alloc(obj: object, bytes = 4096): bigint {
    const pa = this.next;
    this.next += (BigInt(bytes) + 0xfffn) & ~0xfffn;
    this.objects.set(pa, obj);
    return pa;
  }

  /** The object at `pa`, if `pa` holds one of type `ctor`. */
  deref<T extends object>(pa: bigint, ctor: abstract new (...args: never[]) => T): T | undefined {
    const obj = this.objects.get(pa);
    return obj instanceof ctor ? obj : undefined;
  }

  free(pa: bigint): void {
    this.objects.delete(pa);
  }
}
