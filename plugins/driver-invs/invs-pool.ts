/**
 * The memory of invalidation arrays: freed arrays' buffers are kept, by
 * power-of-two size class, for the next array of that class, as kmalloc's
 * caches hand freed objects out again. A fresh ArrayBuffer costs V8 more than
 * the merge or purge that fills it (about 4 us for the 20 KiB of a
 * 1024-entry array), and its memory is cold; a reused one is warm.
 *
 * Only memory that was freed comes back here: kfree(), or kfree_rcu() once
 * its grace period is over (src/core/rcu.ts marks the array freed only then),
 * so a buffer handed out again is never one an RCU reader may still see.
 */

/** The smallest class: 16 words (64 bytes). */
const MIN_CLASS = 4;
/** Beyond this many pooled bytes a freed buffer is left to the garbage collector. */
const MAX_POOLED_BYTES = 64 << 20;

/**
 * free[c]: freed buffers of 4 * 2^c bytes, the most recently freed (the
 * warmest) last. Every list exists from the start and has held a buffer, so
 * that all have the same elements kind: alloc and free then see one map
 * whatever the class, instead of deoptimising at each class's first use.
 */
const free: ArrayBuffer[][] = Array.from({ length: 32 }, () => {
  const list = [new ArrayBuffer(0)];
  list.pop();
  return list;
});
let pooledBytes = 0;

/** log2 of the buffer size in words for an array of `len` words. */
function sizeClass(len: number): number {
  return len <= 1 << MIN_CLASS ? MIN_CLASS : 32 - Math.clz32(len - 1);
}

/** `len` zeroed words (kzalloc), in a freed buffer of the size class when there is one. */
export function allocWords(len: number): Int32Array {
  const c = sizeClass(len);
  const buf = free[c]!.pop();
  if (buf === undefined) return new Int32Array(new ArrayBuffer(4 * 2 ** c), 0, len);
  pooledBytes -= buf.byteLength;
  const words = new Int32Array(buf, 0, len);
  words.fill(0);
  return words;
}

/** kfree() of words from allocWords(): the caller must never touch them again. */
export function freeWords(words: Int32Array): void {
  const buf = words.buffer as ArrayBuffer;
  if (pooledBytes + buf.byteLength > MAX_POOLED_BYTES) return;
  pooledBytes += buf.byteLength;
  free[sizeClass(buf.byteLength >> 2)]!.push(buf);
}
