/**
 * An endpoint's Address Translation Cache: translations returned by ATS
 * Translation Requests, tagged by the StreamID (the requester) and PASID
 * they were requested with.
 */
import { ATC_INV_SIZE_ALL, formatTranslation, hex, type Translation } from "../../src/index.js";

export interface AtcEntry {
  sid: number;
  /** null: requested without a PASID */
  pasid: number | null;
  t: Translation;
}

/** An entry's tag as `cache:fill` names it: "sid 0x40", "sid 0x40 pasid 1". */
export function atcTag(sid: number, pasid: number | null): string {
  return `sid ${hex(sid)}${pasid === null ? "" : ` pasid ${pasid}`}`;
}

export class Atc {
  private readonly entries: AtcEntry[] = [];
  /**
   * Invalidate Requests handled so far. The answer to a Translation Request
   * that an invalidation overtook (one that arrived while it was outstanding)
   * is not kept: the PCIe ATS rules make an Invalidate Completion cover the
   * Translation Requests outstanding at the time. Only a schedule explorer
   * interleaves them.
   */
  generation = 0;

  /** `onFill` hears every translation the ATC takes, `onLookup` every lookup and whether it hit, each with its tag as text (atcTag). */
  constructor(
    private readonly onFill?: (tag: string, t: Translation) => void,
    private readonly onLookup?: (tag: string, addr: number, hit: boolean) => void,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  list(): readonly AtcEntry[] {
    return this.entries;
  }

  lookup(sid: number, pasid: number | null, addr: number): AtcEntry | undefined {
    const hit = this.entries.find((e) => e.sid === sid && e.pasid === pasid && addr >= e.t.base && addr < e.t.base + e.t.size);
    this.onLookup?.(atcTag(sid, pasid), addr, hit !== undefined);
    return hit;
  }

  fill(sid: number, pasid: number | null, t: Translation): void {
    const i = this.entries.findIndex((e) => e.sid === sid && e.pasid === pasid && e.t.base === t.base);
    const e = { sid, pasid, t };
    if (i >= 0) this.entries[i] = e;
    else this.entries.push(e);
    this.onFill?.(atcTag(sid, pasid), t);
  }

  /**
   * An ATC Invalidate Request: `size` is log2 of the span in 4 KiB pages
   * (ATC_INV_SIZE_ALL for everything). With a PASID (ssv) only that PASID's
   * entries go; without, every entry in the range goes, PASID-tagged or not.
   */
  invalidate(sid: number, ssv: boolean, ssid: number, addr: number, size: number): number {
    this.generation++;
    const all = size >= ATC_INV_SIZE_ALL;
    const lo = addr;
    const hi = addr + 0x1000 * 2 ** size;
    let n = 0;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.sid !== sid) continue;
      if (ssv && e.pasid !== ssid) continue;
      if (!all && !(e.t.base < hi && lo < e.t.base + e.t.size)) continue;
      this.entries.splice(i, 1);
      n++;
    }
    return n;
  }
}

/** What `show atc` prints: each entry by its tag (as `cache:fill` tags it), in StreamID, PASID and address order. */
export function atcLines(atc: Atc): string[] {
  const entries = [...atc.list()].sort((a, b) => a.sid - b.sid || (a.pasid ?? -1) - (b.pasid ?? -1) || a.t.base - b.t.base);
  return entries.length ? entries.map((e) => `${atcTag(e.sid, e.pasid)}: ${formatTranslation(e.t)}`) : ["empty"];
}
