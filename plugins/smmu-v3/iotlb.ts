/**
 * The SMMU's TLB: translations tagged by ASID and VMID (or EL2), and the
 * TLBI_* commands that remove them. Only leaf translations are cached; the
 * walk cache is not modelled.
 */
import type { Cmd, Translation } from "../../src/index.js";

/** What a cached translation was made under. */
export interface TlbTag {
  /** -1 for stage-2-only translations */
  asid: number;
  /** -1 for EL2 (E2H) translations */
  vmid: number;
  /** s1: stage 1 only; s2: stage 2 only; nested: stage 1 over stage 2 */
  stage: "s1" | "s2" | "nested";
}

export interface TlbEntry extends TlbTag {
  t: Translation;
}

function tagKey(tag: TlbTag): string {
  return `${tag.stage}/${tag.asid}/${tag.vmid}`;
}

/** A tag as `cache:fill` names it: "s1 asid 1 vmid 0", "s1 el2 asid 1" (E2H), "s2 vmid 2", "nested asid 1 vmid 2". */
export function tagText(tag: TlbTag): string {
  if (tag.stage === "s2") return `s2 vmid ${tag.vmid}`;
  return tag.vmid === -1 ? `${tag.stage} el2 asid ${tag.asid}` : `${tag.stage} asid ${tag.asid} vmid ${tag.vmid}`;
}

/** The tag an invalidation array has to cover for this entry: "asid 1" (stage 1 only) or "vmid 2". */
function coverTag(tag: TlbTag): string {
  return tag.stage === "s1" ? `asid ${tag.asid}` : `vmid ${tag.vmid}`;
}

/** The byte range a range-capable TLBI covers, or the single address of a non-range one. */
function tlbiSpan(cmd: { addr: bigint; tg: number; num: number; scale: number }): [number, number] {
  const start = Number(cmd.addr);
  if (cmd.tg === 0) return [start, start + 1];
  const granule = 2 ** (cmd.tg * 2 + 10);
  return [start, start + (cmd.num + 1) * 2 ** cmd.scale * granule];
}

export class Iotlb {
  private readonly sets = new Map<string, Map<number, TlbEntry>>();
  /** Entries per cover tag, kept as entries come and go. */
  private readonly covers = new Map<string, number>();

  /** `onFill` hears every translation the TLB takes, with its tag as text (tagText). */
  constructor(private readonly onFill?: (tag: string, t: Translation) => void) {}

  /** The tags ("asid 1", "vmid 2") some entry is held under. */
  coverTags(): string[] {
    return [...this.covers.keys()];
  }

  private count(tag: TlbTag, delta: number): void {
    const key = coverTag(tag);
    const n = (this.covers.get(key) ?? 0) + delta;
    if (n === 0) this.covers.delete(key);
    else this.covers.set(key, n);
  }

  get size(): number {
    let n = 0;
    for (const set of this.sets.values()) n += set.size;
    return n;
  }

  entries(): TlbEntry[] {
    const all: TlbEntry[] = [];
    for (const set of this.sets.values()) all.push(...set.values());
    return all.sort((a, b) => tagKey(a).localeCompare(tagKey(b)) || a.t.base - b.t.base);
  }

  lookup(tag: TlbTag, addr: number): TlbEntry | undefined {
    const set = this.sets.get(tagKey(tag));
    if (!set) return undefined;
    for (const e of set.values()) {
      if (addr >= e.t.base && addr < e.t.base + e.t.size) return e;
    }
    return undefined;
  }

  fill(tag: TlbTag, t: Translation): TlbEntry {
    const key = tagKey(tag);
    let set = this.sets.get(key);
    if (!set) this.sets.set(key, (set = new Map()));
    const e: TlbEntry = { ...tag, t };
    if (!set.has(t.base)) this.count(tag, 1);
    set.set(t.base, e);
    this.onFill?.(tagText(tag), t);
    return e;
  }

  /** Execute one TLBI_* command; returns how many entries it removed. */
  invalidate(cmd: Cmd): number {
    switch (cmd.op) {
      case "TLBI_NH_ALL":
        return this.drop((e) => e.stage !== "s2" && e.vmid === cmd.vmid);
      case "TLBI_NH_ASID":
        return this.drop((e) => e.stage !== "s2" && e.vmid === cmd.vmid && e.asid === cmd.asid);
      case "TLBI_NH_VA": {
        const [lo, hi] = tlbiSpan(cmd);
        return this.drop((e) => e.stage !== "s2" && e.vmid === cmd.vmid && e.asid === cmd.asid && overlaps(e, lo, hi));
      }
      case "TLBI_NH_VAA": {
        /* every ASID of the VMID */
        const [lo, hi] = tlbiSpan(cmd);
        return this.drop((e) => e.stage !== "s2" && e.vmid === cmd.vmid && overlaps(e, lo, hi));
      }
      case "TLBI_EL2_ALL":
        return this.drop((e) => e.vmid === -1);
      case "TLBI_EL2_ASID":
        return this.drop((e) => e.vmid === -1 && e.asid === cmd.asid);
      case "TLBI_EL2_VA": {
        const [lo, hi] = tlbiSpan(cmd);
        return this.drop((e) => e.vmid === -1 && e.asid === cmd.asid && overlaps(e, lo, hi));
      }
      case "TLBI_S2_IPA": {
        /* stage-2-only entries; combined stage 1+2 entries need TLBI_NH_ALL or S12_VMALL */
        const [lo, hi] = tlbiSpan(cmd);
        return this.drop((e) => e.stage === "s2" && e.vmid === cmd.vmid && overlaps(e, lo, hi));
      }
      case "TLBI_S12_VMALL":
        return this.drop((e) => e.vmid === cmd.vmid);
      case "TLBI_NSNH_ALL":
        return this.drop((e) => e.vmid !== -1);
      default:
        return 0;
    }
  }

  private drop(match: (e: TlbEntry) => boolean): number {
    let n = 0;
    for (const [key, set] of this.sets) {
      for (const [base, e] of set) {
        if (match(e)) {
          set.delete(base);
          this.count(e, -1);
          n++;
        }
      }
      if (set.size === 0) this.sets.delete(key);
    }
    return n;
  }
}

/** For S2-only entries `t.base` is an IPA, so the same test covers S2_IPA. */
function overlaps(e: TlbEntry, lo: number, hi: number): boolean {
  return e.t.base < hi && lo < e.t.base + e.t.size;
}
