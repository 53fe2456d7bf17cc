/**
 * The SMMU's TLB: translations tagged by ASID and VMID (or EL2), and the
 * TLBI_* commands that remove them (whose scope the walk cache shares).
 * A TLBI's TTL hint is not used: it removes what it covers at any level.
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

export function tagKey(tag: TlbTag): string {
  return `${tag.stage}/${tag.asid}/${tag.vmid}`;
}

/**
 * A tag as one number, the caches' Map key: no string built per lookup.
 * ASID and VMID are 16-bit fields (-1 for none), so each fits in 17 bits.
 */
export function tagCode(tag: TlbTag): number {
  const stage = tag.stage === "s1" ? 0 : tag.stage === "s2" ? 1 : 2;
  return ((tag.asid + 1) * 0x2_0000 + (tag.vmid + 1)) * 4 + stage;
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

/**
 * What a TLBI_* command removes: entries whose tag `match`es and, for the
 * by-address ones, that meet `span`. `leafOnly` is a by-address command's
 * LEAF=1: it may leave cached table entries (walk caches) alone. One object
 * per command, its test a switch on the opcode rather than a closure.
 */
export class TlbiScope {
  constructor(
    private readonly cmd: TlbiCmd,
    readonly span: [number, number] | null,
    readonly leafOnly: boolean,
  ) {}

  match(e: TlbTag): boolean {
    const cmd = this.cmd;
    switch (cmd.op) {
      case "TLBI_NH_ALL":
      case "TLBI_NH_VAA":
        /* TLBI_NH_VAA: every ASID of the VMID */
        return e.stage !== "s2" && e.vmid === cmd.vmid;
      case "TLBI_NH_ASID":
      case "TLBI_NH_VA":
        return e.stage !== "s2" && e.vmid === cmd.vmid && e.asid === cmd.asid;
      case "TLBI_EL2_ALL":
        return e.vmid === -1;
      case "TLBI_EL2_ASID":
      case "TLBI_EL2_VA":
        return e.vmid === -1 && e.asid === cmd.asid;
      case "TLBI_S2_IPA":
        /* stage-2-only entries; combined stage 1+2 entries need TLBI_NH_ALL or S12_VMALL */
        return e.stage === "s2" && e.vmid === cmd.vmid;
      case "TLBI_S12_VMALL":
        return e.vmid === cmd.vmid;
      case "TLBI_NSNH_ALL":
        return e.vmid !== -1;
    }
  }
}

/** The TLBI_* commands. */
type TlbiCmd = Extract<
  Cmd,
  { op: "TLBI_NH_ALL" | "TLBI_NH_ASID" | "TLBI_NH_VA" | "TLBI_NH_VAA" | "TLBI_EL2_ALL" | "TLBI_EL2_ASID" | "TLBI_EL2_VA" | "TLBI_S2_IPA" | "TLBI_S12_VMALL" | "TLBI_NSNH_ALL" }
>;

/** The scope of a TLBI_* command, or null for any other command. */
export function tlbiScope(cmd: Cmd): TlbiScope | null {
  switch (cmd.op) {
    case "TLBI_NH_ALL":
    case "TLBI_NH_ASID":
    case "TLBI_EL2_ALL":
    case "TLBI_EL2_ASID":
    case "TLBI_S12_VMALL":
    case "TLBI_NSNH_ALL":
      return new TlbiScope(cmd, null, false);
    case "TLBI_NH_VA":
    case "TLBI_NH_VAA":
    case "TLBI_EL2_VA":
    case "TLBI_S2_IPA":
      return new TlbiScope(cmd, tlbiSpan(cmd), cmd.leaf);
    default:
      return null;
  }
}

export class Iotlb {
  /** By tag (tagCode()), then base. */
  private readonly sets = new Map<number, Map<number, TlbEntry>>();
  /** Each tag's text (tagText()) by its code, made once: fills and lookups report it. */
  private readonly texts = new Map<number, string>();

  private text(code: number, tag: TlbTag): string {
    let text = this.texts.get(code);
    if (text === undefined) this.texts.set(code, (text = tagText(tag)));
    return text;
  }
  /** Each tag's cover tag (coverTag()) by its code, made once. */
  private readonly coverTexts = new Map<number, string>();
  /** Entries per cover tag, kept as entries come and go. */
  private readonly covers = new Map<string, number>();

  /** `onFill` hears every translation the TLB takes, `onLookup` every lookup and whether it hit, each with its tag as text (tagText). */
  constructor(
    private readonly onFill?: (tag: string, t: Translation) => void,
    private readonly onLookup?: (tag: string, addr: number, hit: boolean) => void,
  ) {}

  /** The tags ("asid 1", "vmid 2") some entry is held under. */
  coverTags(): string[] {
    return [...this.covers.keys()];
  }

  private count(tag: TlbTag, delta: number): void {
    const code = tagCode(tag);
    let key = this.coverTexts.get(code);
    if (key === undefined) this.coverTexts.set(code, (key = coverTag(tag)));
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
    const e = this.find(tag, addr);
    if (this.onLookup) this.onLookup(this.text(tagCode(tag), tag), addr, e !== undefined);
    return e;
  }

  private find(tag: TlbTag, addr: number): TlbEntry | undefined {
    const set = this.sets.get(tagCode(tag));
    if (!set) return undefined;
    for (const e of set.values()) {
      if (addr >= e.t.base && addr < e.t.base + e.t.size) return e;
    }
    return undefined;
  }

  fill(tag: TlbTag, t: Translation): TlbEntry {
    const key = tagCode(tag);
    let set = this.sets.get(key);
    if (!set) this.sets.set(key, (set = new Map()));
    const e: TlbEntry = { stage: tag.stage, asid: tag.asid, vmid: tag.vmid, t };
    if (!set.has(t.base)) this.count(tag, 1);
    set.set(t.base, e);
    if (this.onFill) this.onFill(this.text(key, tag), t);
    return e;
  }

  /** Execute one TLBI_* command (whose scope the caller may have made already); returns how many entries it removed. */
  invalidate(cmd: Cmd, scope: TlbiScope | null = tlbiScope(cmd)): number {
    if (!scope) return 0;
    const span = scope.span;
    let n = 0;
    for (const [key, set] of this.sets) {
      for (const [base, e] of set) {
        if (scope.match(e) && (!span || overlaps(e.t.base, e.t.size, span))) {
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

/** Whether [base, base + size) meets `span`. For S2-only entries the base is an IPA, so the same test covers S2_IPA. */
export function overlaps(base: number, size: number, [lo, hi]: readonly [number, number]): boolean {
  return base < hi && lo < base + size;
}
