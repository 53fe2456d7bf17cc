/**
 * A map that keeps the last `capacity` keys set, each set once: setting one
 * more drops the oldest. Its keys wait in a ring, since a Map's oldest key
 * is slow to find once many before it were deleted (iteration skips them).
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  private readonly ring: K[] = [];
  private sets = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`a bounded map holds at least one key, not ${capacity}`);
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Set `key`, which must not have been set before. */
  set(key: K, value: V): void {
    const slot = this.sets++ % this.capacity;
    if (this.ring.length > slot) this.map.delete(this.ring[slot]!);
    this.ring[slot] = key;
    this.map.set(key, value);
  }
}
