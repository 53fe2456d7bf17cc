/**
 * The SMMU's walk caches, as a TCU keeps them (IHI0070 allows caching any
 * valid table descriptor a walk read): per translation regime (the TLB's
 * tags) and level, the table entry for a region (that level's block size)
 * and the next-level table's address it gives. A walk starts from the
 * deepest entry covering its address instead of the table base. A TLBI
 * removes the entries it covers, unless it is leaf-only (LEAF=1): that is
 * why io-pgtable flushes a table's range with leaf = false before freeing it.
 */
import type { Cmd } from "../../src/index.js";
import { overlaps, tagCode, tagKey, tagText, type TlbiScope, type TlbTag, tlbiScope } from "./iotlb.js";

export interface WalkEntry extends TlbTag {
  /** The level of the table holding the entry. */
  level: number;
  /** The region the entry covers: [base, base + size). */
  base: number;
  size: number;
  /** The next-level table's physical address. */
  next: bigint;
}

export class WalkCache {
  /** By tag (tagCode()), then region size (one per level), then base. */
  private readonly sets = new Map<number, Map<number, Map<number, WalkEntry>>>();

  /** `onLookup` hears every lookup, with its tag as text (tagText), and whether an entry covered the address. */
  constructor(private readonly onLookup?: (tag: string, addr: number, hit: boolean) => void) {}

  /** Each tag's text (tagText()) by its code, made once: every lookup reports it. */
  private readonly texts = new Map<number, string>();

  private text(tag: TlbTag): string {
    const code = tagCode(tag);
    let text = this.texts.get(code);
    if (text === undefined) this.texts.set(code, (text = tagText(tag)));
    return text;
  }

  get size(): number {
    let n = 0;
    for (const bySize of this.sets.values()) for (const set of bySize.values()) n += set.size;
    return n;
  }

  /** Every entry, by tag, then deepest level last, then address. */
  entries(): WalkEntry[] {
    const all: WalkEntry[] = [];
    for (const bySize of this.sets.values()) for (const set of bySize.values()) all.push(...set.values());
    return all.sort((a, b) => tagKey(a).localeCompare(tagKey(b)) || a.level - b.level || a.base - b.base);
  }

  /** The deepest entry under `tag` covering `addr`. */
  lookup(tag: TlbTag, addr: number): WalkEntry | undefined {
    const e = this.deepest(tag, addr);
    if (this.onLookup) this.onLookup(this.text(tag), addr, e !== undefined);
    return e;
  }

  private deepest(tag: TlbTag, addr: number): WalkEntry | undefined {
    const bySize = this.sets.get(tagCode(tag));
    if (!bySize) return undefined;
    let best: WalkEntry | undefined;
    for (const [size, set] of bySize) {
      if (best && best.size <= size) continue;
      best = set.get(addr - (addr % size)) ?? best;
    }
    return best;
  }

  /** Keep the table entry at `level` for [base, base + size), pointing at `next`. */
  fill(tag: TlbTag, level: number, base: number, size: number, next: bigint): void {
    const key = tagCode(tag);
    let bySize = this.sets.get(key);
    if (!bySize) this.sets.set(key, (bySize = new Map()));
    let set = bySize.get(size);
    if (!set) bySize.set(size, (set = new Map()));
    set.set(base, { stage: tag.stage, asid: tag.asid, vmid: tag.vmid, level, base, size, next });
  }

  /** Execute one TLBI_* command (whose scope the caller may have made already); returns how many entries it removed (none for a leaf-only one). */
  invalidate(cmd: Cmd, scope: TlbiScope | null = tlbiScope(cmd)): number {
    if (!scope || scope.leafOnly) return 0;
    let n = 0;
    for (const [key, bySize] of this.sets) {
      for (const [size, set] of bySize) {
        for (const [base, e] of set) {
          if (!scope.match(e) || (scope.span && !overlaps(e.base, e.size, scope.span))) continue;
          set.delete(base);
          n++;
        }
        if (set.size === 0) bySize.delete(size);
      }
      if (bySize.size === 0) this.sets.delete(key);
    }
    return n;
  }
}
