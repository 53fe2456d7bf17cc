/**
 * How an SMMUv3 translates one transaction: STE (through the configuration
 * cache) -> CD -> TLB -> table walk, per IHI0070 chapter 3. Events are named
 * as the architecture (and the driver's event_str[]) names them.
 */
import { CdTable, exec, hex, type Leaf, type Memory, PageTable, pteLocation, PtTable, type Pte, type Qwords, runSteps, site, type Steps, type TranslateRequest, type TranslateResult, type Translation } from "../../src/index.js";
import { decodeCd, decodeSte } from "./decode.js";
import type { Iotlb, TlbTag } from "./iotlb.js";
import type { WalkCache, WalkEntry } from "./walk-cache.js";

/** The SMMU state translation reads. */
export interface TranslationUnit {
  readonly memory: Memory;
  readonly iotlb: Iotlb;
  /** null when the SMMU keeps no walk cache. */
  readonly walkCache: WalkCache | null;
  /** A walk for `req` started from the walk-cache entry `e`. */
  walkCached(e: WalkEntry, req: TranslateRequest): void;
  /** A walk of one stage for `req` ended, having read `reads` table entries; `ok` false when it faulted. */
  walked(req: TranslateRequest, stage: 1 | 2, reads: number, ok: boolean): void;
  /** The STE as the SMMU sees it: its cached copy, or a fresh fetch. */
  fetchSte(sid: number): Qwords;
  /** The CD at `ssid` of the table at `cdtab`, through the cache; undefined if unreachable. */
  fetchCd(sid: number, cdtab: bigint, ssid: number): Qwords | undefined;
  /** The TLB and walk cache as one shared location, for a schedule explorer. */
  readonly tlbLocation: string;
  /**
   * Invalidations (TLBI_*, CFGI_*) executed so far. A translation that one
   * overtook (it ran between the translation's STE fetch and its fill) does
   * not fill the TLB or the walk cache: the architecture completes an
   * invalidation, and the CMD_SYNC after it, only once no translation in
   * flight can still insert what it invalidates. Only a schedule explorer
   * interleaves them.
   */
  readonly generation: number;
}


type Walk = { ok: true; leaf: Leaf; table: bigint } | { ok: false; result: TranslateResult };

function fault(event: string, detail: string): TranslateResult {
  return { kind: "fault", event, detail };
}

/**
 * One stage of walk for `addr` under `tag`: from the deepest walk-cache
 * entry covering it, else from the table at `ttb`, reading each table from
 * memory as it is (a freed one still holds what it held); every table entry
 * read goes into the walk cache.
 */
function* walk(unit: TranslationUnit, generation: number, req: TranslateRequest, tag: TlbTag, ttb: bigint, addr: number, write: boolean, stage: 1 | 2): Steps<Walk> {
  const reads = { n: 0 };
  const w = yield* walkTables(unit, generation, req, tag, ttb, addr, write, `stage ${stage}`, reads);
  unit.walked(req, stage, reads.n, w.ok);
  return w;
}

/** walk(), counting in `reads` the table entries it read. */
function* walkTables(unit: TranslationUnit, generation: number, req: TranslateRequest, tag: TlbTag, ttb: bigint, addr: number, write: boolean, stage: string, reads: { n: number }): Steps<Walk> {
  let table: PtTable | undefined = unit.memory.deref(ttb, PageTable);
  if (!table) return { ok: false, result: fault("F_WALK_EABT", `${stage} table at ${hex(ttb)} is not a page table`) };
  const e = exec();
  e?.touch(unit.tlbLocation, "read");
  const cached = unit.walkCache?.lookup(tag, addr);
  if (cached) {
    unit.walkCached(cached, req);
    table = unit.memory.read(cached.next, PtTable);
    if (!table) return { ok: false, result: fault("F_WALK_EABT", `${stage} walk-cache entry points at ${hex(cached.next)}, which holds no table`) };
  }
  for (;;) {
    const here: PtTable = table;
    const { layout, level } = here;
    const idx = layout.index(addr, level);
    yield S_WALK;
    reads.n++;
    /* a table walk's read: under an explorer, a CPU's pending PTE store may not have reached it */
    const pte: Pte | undefined = e ? e.load(pteLocation(e, here, idx), here.ptes.get(idx)) : here.ptes.get(idx);
    if (!pte) return { ok: false, result: fault("F_TRANSLATION", `${stage} ${hex(addr)} is not mapped`) };
    if (pte.kind === "leaf") {
      if (write && !pte.leaf.writable) return { ok: false, result: fault("F_PERMISSION", `${stage} ${hex(addr)} is read-only`) };
      return { ok: true, leaf: pte.leaf, table: ttb };
    }
    const size = layout.blockSize(level);
    if (unit.walkCache) e?.touch(unit.tlbLocation, "write");
    /* nor does a translation an invalidation overtook fill the walk cache */
    if (unit.generation === generation) unit.walkCache?.fill(tag, level, addr - (addr % size), size, pte.pa);
    table = unit.memory.read(pte.pa, PtTable);
    if (!table) return { ok: false, result: fault("F_WALK_EABT", `${stage} table entry points at ${hex(pte.pa)}, which holds no table`) };
  }
}

/** The translation of the leaf `leaf` that contains `addr`. */
function fromLeaf(leaf: Leaf, table: bigint): Translation {
  return { base: leaf.iova, size: leaf.size, pa: leaf.pa, writable: leaf.writable, backing: [{ table, addr: leaf.iova, pa: leaf.pa }] };
}

/** Stage 1 translation over stage 2: the region both leaves cover around `iova`. */
function combine(s1: Leaf, t1: bigint, s2: Leaf, t2: bigint, iova: number): Translation {
  const size = Math.min(s1.size, s2.size);
  const base = iova - (iova % size);
  const ipa = s1.pa + (base - s1.iova);
  return {
    base,
    size,
    pa: s2.pa + (ipa - s2.iova),
    writable: s1.writable && s2.writable,
    backing: [
      { table: t1, addr: s1.iova, pa: s1.pa },
      { table: t2, addr: s2.iova, pa: s2.pa },
    ],
  };
}

function* lookupOrWalk(
  unit: TranslationUnit,
  generation: number,
  tag: TlbTag,
  iova: number,
  write: boolean,
  walkAll: () => Steps<Translation | TranslateResult>,
): Steps<TranslateResult> {
  yield S_TLB;
  const e = exec();
  e?.touch(unit.tlbLocation, "read");
  const hit = unit.iotlb.lookup(tag, iova);
  if (hit) {
    if (write && !hit.t.writable) return fault("F_PERMISSION", `${hex(iova)} is read-only`);
    return { kind: "ok", t: hit.t, via: "iotlb" };
  }
  const t = yield* walkAll();
  if ("kind" in t) return t;
  yield S_FILL;
  exec()?.touch(unit.tlbLocation, "write");
  /* an invalidation overtook the translation: its result is used, not kept */
  if (unit.generation === generation) unit.iotlb.fill(tag, t);
  return { kind: "ok", t, via: "walk" };
}

/** Translate one transaction (or ATS Translation Request) on StreamID `req.sid`. */
export function translate(unit: TranslationUnit, req: TranslateRequest): TranslateResult {
  return runSteps(translateSteps(unit, req));
}

const S_STE = site("smmu", "fetch STE");
const S_CD = site("smmu", "fetch CD");
const S_TLB = site("smmu", "TLB lookup");
const S_WALK = site("smmu", "table walk: read a table entry");
const S_FILL = site("smmu", "TLB fill");

/**
 * translate() as the steps a schedule explorer interleaves with the CPUs
 * and the command queue: the STE fetch, the CD fetch, the TLB lookup, each
 * table-walk read and the TLB fill.
 */
export function* translateSteps(unit: TranslationUnit, req: TranslateRequest): Steps<TranslateResult> {
  yield S_STE;
  /* the invalidations so far, as a location the SMMU's invalidations write, so their order against this translation matters */
  exec()?.touch(`${unit.tlbLocation}.generation`, "read");
  const generation = unit.generation;
  const ste = decodeSte(unit.fetchSte(req.sid));
  const write = req.access === "write";
  if (!ste.valid) return fault("C_BAD_STE", `STE for sid ${hex(req.sid)} is not valid`);
  if (ste.cfg === "reserved") return fault("C_BAD_STE", `STE for sid ${hex(req.sid)} has a reserved Config`);
  if (ste.cfg === "abort") return { kind: "abort", detail: `STE for sid ${hex(req.sid)} aborts` };
  if (req.ats && ste.eats !== "trans") {
    return fault("F_BAD_ATS_TREQ", `ATS translation request on sid ${hex(req.sid)} with STE.EATS=${ste.eats}`);
  }
  if (ste.cfg === "bypass") {
    return { kind: "ok", t: { base: req.iova, size: 0x1000, pa: req.iova, writable: true, backing: [] }, via: "bypass" };
  }

  const s2 = ste.cfg === "s2" || ste.cfg === "nested";
  if (ste.cfg === "s2") {
    const tag: TlbTag = { stage: "s2", asid: -1, vmid: ste.s2vmid };
    return yield* lookupOrWalk(unit, generation, tag, req.iova, write, function* () {
      const w = yield* walk(unit, generation, req, tag, ste.s2ttb, req.iova, write, 2);
      return w.ok ? fromLeaf(w.leaf, w.table) : w.result;
    });
  }

  /* Stage 1: pick the CD */
  let ssid = req.ssid;
  if (ssid === null) {
    if (ste.s1dss === "terminate") return { kind: "abort", detail: `sid ${hex(req.sid)} without PASID: S1DSS terminate` };
    if (ste.s1dss === "bypass") {
      if (!s2) return { kind: "ok", t: { base: req.iova, size: 0x1000, pa: req.iova, writable: true, backing: [] }, via: "bypass" };
      const tag: TlbTag = { stage: "s2", asid: -1, vmid: ste.s2vmid };
      return yield* lookupOrWalk(unit, generation, tag, req.iova, write, function* () {
        const w = yield* walk(unit, generation, req, tag, ste.s2ttb, req.iova, write, 2);
        return w.ok ? fromLeaf(w.leaf, w.table) : w.result;
      });
    }
    if (ste.s1dss === "reserved") return fault("C_BAD_STE", `sid ${hex(req.sid)}: reserved S1DSS`);
    ssid = 0;
  }
  if (ssid >= 2 ** ste.s1cdmax) return fault("C_BAD_SUBSTREAMID", `ssid ${ssid} beyond S1CDMAX ${ste.s1cdmax}`);
  yield S_CD;
  const raw = unit.fetchCd(req.sid, ste.s1ctxptr, ssid);
  if (!raw) return fault("F_CD_FETCH", `no CD table holds ssid ${ssid} of sid ${hex(req.sid)}`);
  const cd = decodeCd(raw);
  if (!cd.valid) return fault("C_BAD_CD", `CD ${ssid} of sid ${hex(req.sid)} is not valid`);
  if (cd.epd0) return fault("F_TRANSLATION", `CD ${ssid} of sid ${hex(req.sid)} has EPD0 set`);

  const el2 = ste.strw === "el2";
  const tag: TlbTag = s2
    ? { stage: "nested", asid: cd.asid, vmid: ste.s2vmid }
    : { stage: "s1", asid: cd.asid, vmid: el2 ? -1 : ste.s2vmid };
  return yield* lookupOrWalk(unit, generation, tag, req.iova, write, function* () {
    const w1 = yield* walk(unit, generation, req, tag, cd.ttb0, req.iova, write, 1);
    if (!w1.ok) return w1.result;
    if (!s2) return fromLeaf(w1.leaf, w1.table);
    const ipa = w1.leaf.pa + (req.iova - w1.leaf.iova);
    const w2 = yield* walk(unit, generation, req, { stage: "s2", asid: -1, vmid: ste.s2vmid }, ste.s2ttb, ipa, write, 2);
    if (!w2.ok) return w2.result;
    return combine(w1.leaf, w1.table, w2.leaf, w2.table, req.iova);
  });
}

/** The CD table a stage-1 STE points at, if it is one. */
export function cdTableAt(memory: Memory, cdtab: bigint): CdTable | undefined {
  return memory.deref(cdtab, CdTable);
}
