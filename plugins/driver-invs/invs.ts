/**
 * struct arm_smmu_inv / struct arm_smmu_invs and the array algebra of the
 * series: arm_smmu_invs_merge(), arm_smmu_invs_unref(), arm_smmu_invs_purge().
 *
 * Layout: the flexible `inv[]` array is one Int32Array with six words per
 * entry, so that merge and purge copy numbers instead of allocating objects:
 *
 *   word 0  id                 (ASID, VMID or StreamID)
 *   word 1  smmu << 3 | type   (compared first: smmu, then type, as the kernel)
 *   word 2  ssid for ATS/ATS_FULL, log2(pgsize) otherwise (the kernel's union)
 *   word 3  size_opcode | nsize_opcode << 8
 *   word 4  users
 *   word 5  0
 *
 * Merge and purge copy an entry as three float64s through a Float64Array
 * over the same memory (about twice as fast as six int32s). That copy is
 * exact because no pair of words is a NaN, the one float64 value a copy may
 * change: the high word of each pair (words 1, 3 and 5) stays below 2^30, so
 * the exponent is never all ones. Word 1 is below 2^30 because smmu is below
 * 2^27 and type below 8; word 3 holds 16 bits; word 5 is 0.
 *
 * `smmu` is the SMMU instance's index on the platform; the kernel compares
 * the arm_smmu_device pointers, which gives the same grouping.
 */
import { born, ENOMEM, ErrPtr, exec, INV_TYPE_NAMES, type InvTypeName, runSteps, type RwLock, site, type Steps, UseAfterFreeError, writeLock, writeUnlock } from "../../src/index.js";
import { allocWords, freeWords } from "./invs-pool.js";
import { numInvsAt, usersAt, walkersAt } from "./shared.js";
import { MAINLINE, type DriverVariant } from "./variant.js";

/* enum arm_smmu_inv_type: the index of each name in INV_TYPE_NAMES (src/model/driver.ts) */
export const S1_ASID = 0;
export const S2_VMID = 1;
export const S2_VMID_VSMMU = 2;
export const S2_VMID_S1_CLEAR = 3;
export const ATS = 4;
export const ATS_FULL = 5;
export type InvType = 0 | 1 | 2 | 3 | 4 | 5;

/** arm_smmu_inv_is_ats() */
export function invIsAts(type: number): boolean {
  return type >= ATS;
}

const W = 6;
const ID = 0;
const KEY = 1;
const AUX = 2;
const OPS = 3;
const USERS = 4;
const PAD = 5;
/** Words per float64 */
const F = 2;
/** Float64s per entry */
const PAIRS = W / F;
/** The float64 holding (users, 0) */
const USERS_PAIR = USERS / F;
const TYPE_MASK = 7;
const MAX_SMMU = 1 << 27;

/** The fields of one entry, as a caller writes them. */
export interface InvInit {
  smmu?: number;
  type: InvType;
  id: number;
  ssid?: number;
  pgsize?: number;
  sizeOpcode?: number;
  nsizeOpcode?: number;
  users?: number;
}

/** A live view of inv[i]: reads go to the array, `users` can be written. */
export class InvView {
  constructor(
    private readonly invs: Invs,
    readonly index: number,
  ) {}
  get smmu(): number {
    return this.invs.smmu(this.index);
  }
  get type(): InvType {
    return this.invs.type(this.index);
  }
  get typeName(): InvTypeName {
    return INV_TYPE_NAMES[this.type];
  }
  get id(): number {
    return this.invs.id(this.index);
  }
  /** The ssid of an ATS/ATS_FULL entry; 0 for the other types. */
  get ssid(): number {
    return this.invs.ssid(this.index);
  }
  /** log2 of the leaf page size for TLBI entries on a RANGE_INV SMMU, else 0. */
  get pgsize(): number {
    return this.invs.pgsize(this.index);
  }
  get sizeOpcode(): number {
    return this.invs.sizeOpcode(this.index);
  }
  get nsizeOpcode(): number {
    return this.invs.nsizeOpcode(this.index);
  }
  get users(): number {
    return this.invs.users(this.index);
  }
  set users(v: number) {
    this.invs.setUsers(this.index, v);
  }
}

/** struct arm_smmu_invs */
export class Invs implements RwLock {
  numInvs: number;
  numTrashes = 0;
  hasAts = false;
  /** rwlock_t rwlock, fencing ATC invalidations against ATS being disabled. */
  readers = 0;
  writer = false;
  /**
   * Invalidation walks of this array between their load of num_invs and
   * their last CMD_SYNC, lock or no lock: none may be in flight while the
   * write side is held (the invs:trim notification reports them).
   */
  walkers = 0;
  private wordsOrNull: Int32Array | null;
  private pairsOrNull: Float64Array | null;

  constructor(readonly maxInvs: number) {
    born(this, "invs");
    this.numInvs = maxInvs;
    this.wordsOrNull = allocWords(maxInvs * W);
    this.pairsOrNull = new Float64Array(this.wordsOrNull.buffer, 0, (maxInvs * W) / F);
  }

  /** The raw entries, six words each (see the file comment); gone once the array is freed. */
  get words(): Int32Array {
    if (this.wordsOrNull === null) throw new UseAfterFreeError("the invalidation array", "a read of its entries");
    return this.wordsOrNull;
  }

  /** The same memory as float64s, for copying entries (see the file comment). */
  get pairs(): Float64Array {
    if (this.pairsOrNull === null) throw new UseAfterFreeError("the invalidation array", "a read of its entries");
    return this.pairsOrNull;
  }

  /**
   * Set when the memory is freed (kfree, or kfree_rcu after the grace
   * period): its buffer goes back to the pool for the next array, so this
   * array can no longer reach it.
   */
  get freed(): boolean {
    return this.wordsOrNull === null;
  }
  set freed(freed: boolean) {
    if (!freed || this.wordsOrNull === null) return;
    freeWords(this.wordsOrNull);
    this.wordsOrNull = null;
    this.pairsOrNull = null;
  }

  /** inv[0 .. max_invs): live views, including trash kept beyond num_invs. */
  get inv(): InvView[] {
    const out: InvView[] = [];
    for (let i = 0; i < this.maxInvs; i++) out.push(new InvView(this, i));
    return out;
  }

  at(i: number): InvView {
    return new InvView(this, i);
  }

  smmu(i: number): number {
    return this.words[i * W + KEY]! >>> 3;
  }
  type(i: number): InvType {
    return (this.words[i * W + KEY]! & TYPE_MASK) as InvType;
  }
  id(i: number): number {
    return this.words[i * W + ID]!;
  }
  ssid(i: number): number {
    return invIsAts(this.type(i)) ? this.words[i * W + AUX]! : 0;
  }
  pgsize(i: number): number {
    return invIsAts(this.type(i)) ? 0 : this.words[i * W + AUX]!;
  }
  sizeOpcode(i: number): number {
    return this.words[i * W + OPS]! & 0xff;
  }
  nsizeOpcode(i: number): number {
    return this.words[i * W + OPS]! >>> 8;
  }
  users(i: number): number {
    return this.words[i * W + USERS]!;
  }
  setUsers(i: number, users: number): void {
    this.words[i * W + USERS] = users;
  }

  /** Fill inv[i] from its fields. */
  set(i: number, e: InvInit): void {
    if (i < 0 || i >= this.maxInvs) throw new RangeError(`inv[${i}] is beyond max_invs ${this.maxInvs}`);
    const smmu = e.smmu ?? 0;
    if (!Number.isInteger(smmu) || smmu < 0 || smmu >= MAX_SMMU) throw new RangeError(`smmu index ${smmu} out of range`);
    if (!Number.isInteger(e.type) || e.type < 0 || e.type > TYPE_MASK) throw new RangeError(`type ${e.type} out of range (0..${TYPE_MASK})`);
    checkU31("id", e.id);
    const ats = invIsAts(e.type);
    const aux = ats ? (e.ssid ?? 0) : (e.pgsize ?? 0);
    checkU31(ats ? "ssid" : "pgsize", aux);
    const o = i * W;
    const w = this.words;
    w[o + KEY] = (smmu << 3) | e.type;
    w[o + ID] = e.id;
    w[o + AUX] = aux;
    w[o + OPS] = ((e.sizeOpcode ?? 0) & 0xff) | (((e.nsizeOpcode ?? 0) & 0xff) << 8);
    w[o + USERS] = e.users ?? 0;
    w[o + PAD] = 0;
  }
}

function checkU31(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new RangeError(`${what} ${v} out of range (0..0x7fffffff)`);
}

/** arm_smmu_invs_alloc(): max_invs = num_invs = n, all entries zero. */
export function invsAlloc(n: number): Invs {
  return new Invs(n);
}

/** kfree() of an array: its memory goes back to the pool (only for an array no reader can still see). */
export function invsFree(invs: Invs): void {
  invs.freed = true;
}

/** An array holding exactly `entries`, in the given order (for build arrays and tests). */
export function invsFrom(entries: readonly InvInit[]): Invs {
  const invs = invsAlloc(entries.length);
  entries.forEach((e, i) => invs.set(i, e));
  return invs;
}

/** Allocation and WARN hooks: the driver routes these to fault injection and its report. */
export interface InvsHooks {
  /** kzalloc of an array of n entries; null is an allocation failure. */
  alloc(n: number): Invs | null;
  /** A WARN_ON() that fired in `fn`. */
  warn(fn: string, cond: string): void;
  /**
   * arm_smmu_invs_unref() lowered num_invs of `invs` (under the write side
   * of its rwlock, in the kernel); `ats`: it took an ATS entry's last user,
   * the case the lock fences (the device's ATS goes off next).
   */
  trimmed?(invs: Invs, ats: boolean): void;
}

const DEFAULT_HOOKS: InvsHooks = Object.freeze({
  alloc: invsAlloc,
  warn: () => {},
});

/*
 * The loops below walk word offsets (entry index * W) rather than indexes,
 * which spares the multiplication in every access (a few percent in the bench).
 */

/** Word offset of the first live (users != 0) entry at or after offset p, or `end`: arm_smmu_invs_iter_next(). */
function nextLive(w: Int32Array, p: number, end: number): number {
  while (p < end && w[p + USERS] === 0) p += W;
  return p;
}

/** arm_smmu_inv_cmp() on the compared words (key, id, ssid) of two entries. */
function cmpWords(ka: number, ia: number, sa: number, kb: number, ib: number, sb: number, cmpSsid: boolean): number {
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (ia !== ib) return ia < ib ? -1 : 1;
  if (cmpSsid && (ka & TYPE_MASK) >= ATS && sa !== sb) return sa < sb ? -1 : 1;
  return 0;
}

/** arm_smmu_inv_cmp() on two entries. */
export function invCmp(l: Invs, i: number, r: Invs, j: number, variant: DriverVariant = MAINLINE): number {
  const a = l.words;
  const b = r.words;
  const p = i * W;
  const q = j * W;
  return cmpWords(a[p + KEY]!, a[p + ID]!, a[p + AUX]!, b[q + KEY]!, b[q + ID]!, b[q + AUX]!, variant.cmpSsid);
}

/** Copy the first `pairs` float64s of the entry at word offset s to the one at word offset d (see the file comment). */
function copyPairs(dst: Float64Array, d: number, src: Float64Array, s: number, pairs: 2 | 3): void {
  const i = d >> 1;
  const j = s >> 1;
  dst[i] = src[j]!;
  dst[i + 1] = src[j + 1]!;
  if (pairs === 3) dst[i + 2] = src[j + 2]!;
}

/**
 * invsMerge()'s scratch array, kept from call to call; null while a merge
 * holds it (so that a hook merging from inside a merge takes its own).
 */
let mergeScratch: Invs | null = null;

/** A scratch array of at least n entries, grown by doubling. */
function takeMergeScratch(n: number): Invs {
  const s = mergeScratch;
  mergeScratch = null;
  if (s !== null && s.maxInvs >= n) return s;
  if (s !== null) s.freed = true;
  return new Invs(Math.max(n, 2 * (s?.maxInvs ?? 0)));
}

/**
 * arm_smmu_invs_merge(): a new array holding the live entries of `invs` and
 * the entries of `toMerge`, equal entries merged with users + 1, new entries
 * with users 1. Trash in `invs` is dropped. ERR_PTR(-ENOMEM) when the
 * allocation fails.
 *
 * Modelling choice: the kernel walks both arrays twice, once to count the
 * new entries and once, after allocating, to fill them in. Here one walk
 * fills a scratch array, then the allocation and a copy follow: the same
 * array, the same hook calls in the same order (alloc, then the WARN), and
 * the copy is cheaper than the counting walk.
 */
export function invsMerge(
  invs: Invs,
  toMerge: Invs,
  variant: DriverVariant = MAINLINE,
  hooks: InvsHooks = DEFAULT_HOOKS,
): Invs | ErrPtr {
  const a = invs.words;
  const fa = invs.pairs;
  const aEnd = invs.numInvs * W;
  const b = toMerge.words;
  const fb = toMerge.pairs;
  const bEnd = toMerge.numInvs * W;
  const cmpSsid = variant.cmpSsid;

  const scratch = takeMergeScratch(invs.numInvs + toMerge.numInvs);
  const o = scratch.words;
  const fo = scratch.pairs;
  let hasAts = false;
  let unsorted = false;
  /* the compared words (key, id, ssid) of the current entries of invs and to_merge, and of the previous new entry */
  let aKey = 0;
  let aId = 0;
  let aAux = 0;
  let bKey = 0;
  let bId = 0;
  let bAux = 0;
  let pKey = 0;
  let pId = 0;
  let pAux = 0;
  let p = nextLive(a, 0, aEnd);
  let q = 0;
  if (p < aEnd) {
    aKey = a[p + KEY]!;
    aId = a[p + ID]!;
    aAux = a[p + AUX]!;
  }
  if (q < bEnd) {
    bKey = b[q + KEY]!;
    bId = b[q + ID]!;
    bAux = b[q + AUX]!;
  }
  let d = 0;
  for (; p < aEnd || q < bEnd; d += W) {
    /* arm_smmu_invs_for_each_cmp(): -1 take from invs, 1 from to_merge, 0 both */
    const c = p >= aEnd ? 1 : q >= bEnd ? -1 : cmpWords(aKey, aId, aAux, bKey, bId, bAux, cmpSsid);
    let key: number;
    let id: number;
    let aux: number;
    if (c <= 0) {
      /* from invs; an equal entry of to_merge adds a user */
      key = aKey;
      id = aId;
      aux = aAux;
      copyPairs(fo, d, fa, p, 3);
      if (c === 0) o[d + USERS] = a[p + USERS]! + 1;
      p = nextLive(a, p + W, aEnd);
      if (p < aEnd) {
        aKey = a[p + KEY]!;
        aId = a[p + ID]!;
        aAux = a[p + AUX]!;
      }
    } else {
      /* new from to_merge */
      key = bKey;
      id = bId;
      aux = bAux;
      copyPairs(fo, d, fb, q, 2);
      o[d + USERS] = 1;
      o[d + PAD] = 0;
    }
    if (c >= 0) {
      q += W;
      if (q < bEnd) {
        bKey = b[q + KEY]!;
        bId = b[q + ID]!;
        bAux = b[q + AUX]!;
      }
    }
    /* Check that the new array is sorted; this also validates to_merge */
    if (d !== 0 && cmpWords(pKey, pId, pAux, key, id, aux, cmpSsid) === 1) unsorted = true;
    if ((key & TYPE_MASK) >= ATS) hasAts = true;
    pKey = key;
    pId = id;
    pAux = aux;
  }

  const out = hooks.alloc(d / W);
  if (out) out.words.set(o.subarray(0, d));
  mergeScratch = scratch;
  if (!out) return new ErrPtr(ENOMEM);
  out.hasAts = hasAts;
  if (unsorted) hooks.warn("arm_smmu_invs_merge", "WARN_ON_ONCE(arm_smmu_inv_cmp(new - 1, new) == 1)");
  return out;
}

const S_UNREF_USERS = site("arm_smmu_invs_unref", "WRITE_ONCE(invs->inv[i].users)");
const S_UNREF_LOCK = site("arm_smmu_invs_unref", "write_lock_irqsave(&invs->rwlock)");
const S_UNREF_NUM = site("arm_smmu_invs_unref", "WRITE_ONCE(invs->num_invs)");

/**
 * arm_smmu_invs_unref() as a stepped path: drop one user of every entry of
 * `invs` that matches an entry of `toUnref`, in place. Entries reaching 0
 * become trash; trailing trash is cut off by lowering num_invs under the
 * write lock. Mainline writes back into `toUnref`: 1 where the entry still has
 * users, 0 where it became trash. v9 calls `freeFn` for each new trash entry.
 *
 * The loop lives in {@link UnrefWalk}; this generator keeps only the steps.
 */
export function* invsUnrefSteps(
  invs: Invs,
  toUnref: Invs,
  variant: DriverVariant = MAINLINE,
  hooks: InvsHooks = DEFAULT_HOOKS,
  freeFn?: (invs: Invs, i: number) => Steps,
): Steps {
  const walk = new UnrefWalk(invs, toUnref, variant, hooks);
  const freeTrash = variant.unref === "free_fn" ? freeFn : undefined;

  const e = exec();
  let ats = false;
  while (walk.seek()) {
    /* same item: users = READ_ONCE(inv[i].users) - 1, or WARN_ON(users < 0) */
    if (!walk.readUsers()) continue;
    if (e) {
      const at = usersAt(e, invs, walk.i);
      yield e.storeStep(S_UNREF_USERS, at);
      e.store(at, invs.users(walk.i), walk.users);
    } else {
      yield S_UNREF_USERS;
    }
    if (walk.writeUsers()) {
      /* inv[i] became trash */
      if (invs.type(walk.i) >= ATS) ats = true;
      if (freeTrash) yield* freeTrash(invs, walk.i);
      invs.numTrashes++;
    }
  }

  yield* unrefTrim(invs, walk.num, ats, !variant.mutations.has("unlocked-trim"), hooks);
}

/**
 * The end of arm_smmu_invs_unref(): num_invs lowered to `num`, past the last
 * entry that stays live; without the lock only for a deliberately broken driver.
 */
function* unrefTrim(invs: Invs, num: number, ats: boolean, locked = true, hooks: InvsHooks = DEFAULT_HOOKS): Steps {
  /* Exclude any tailing trash */
  invs.numTrashes -= invs.numInvs - num;

  /* The lock is required to fence concurrent ATS operations */
  if (locked) yield* writeLock(invs, S_UNREF_LOCK);
  const e = exec();
  if (e) {
    const at = numInvsAt(e, invs);
    yield e.storeStep(S_UNREF_NUM, at);
    e.store(at, invs.numInvs, num);
  } else {
    yield S_UNREF_NUM;
  }
  invs.numInvs = num;
  if (e) e.touch(walkersAt(e, invs), "read");
  hooks.trimmed?.(invs, ats);
  if (locked) writeUnlock(invs);
}

/**
 * The state and arms of arm_smmu_invs_unref()'s arm_smmu_invs_for_each_cmp()
 * loop, driven by invsUnrefSteps(). seek() runs the arms that write nothing
 * (an entry not in to_unref moves `num` past it; a to_unref entry not found
 * WARNs) up to the next pair of equal entries; the generator runs the equal
 * arm, which yields before its write.
 *
 * Why the split: V8 optimises a loop inside a generator poorly, and every
 * value live across a yield is saved and restored at each step. With the
 * whole loop in the generator an unref of the bench workload (one match in
 * nine entries) ran about 1.5x slower.
 */
class UnrefWalk {
  /** Word offsets of the current live entry of invs, and entry of to_unref. */
  private p: number;
  private q = 0;
  /** Word offset one past the last entry that stays live. */
  private liveEnd = 0;
  /** users - 1 of the current entry of invs, read before the step that writes it. */
  users = 0;
  /** seek() stopped at an equal pair, to be stepped past by the next seek(). */
  private paired = false;
  private readonly a: Int32Array;
  private readonly aEnd: number;
  private readonly b: Int32Array;
  private readonly bEnd: number;
  private readonly cmpSsid: boolean;
  private readonly writeback: boolean;

  constructor(
    invs: Invs,
    toUnref: Invs,
    variant: DriverVariant,
    private readonly hooks: InvsHooks,
  ) {
    this.a = invs.words;
    this.aEnd = invs.numInvs * W;
    this.b = toUnref.words;
    this.bEnd = toUnref.numInvs * W;
    this.cmpSsid = variant.cmpSsid;
    this.writeback = variant.unref === "writeback";
    this.p = nextLive(this.a, 0, this.aEnd);
  }

  /** i: the index in invs of the current entry. */
  get i(): number {
    return this.p / W;
  }

  /** num: one past the last entry that stays live, num_invs once the loop ends. */
  get num(): number {
    return this.liveEnd / W;
  }

  /** Walk on to the next pair of equal entries (true) or to the end (false). */
  seek(): boolean {
    const { a, aEnd, b, bEnd, cmpSsid } = this;
    let p = this.p;
    let q = this.q;
    let liveEnd = this.liveEnd;
    if (this.paired) {
      p = nextLive(a, p + W, aEnd);
      q += W;
    }
    let paired = false;
    /* the compared words of the current entry of to_unref */
    let bKey = 0;
    let bId = 0;
    let bAux = 0;
    if (q < bEnd) {
      bKey = b[q + KEY]!;
      bId = b[q + ID]!;
      bAux = b[q + AUX]!;
    }
    while (p < aEnd || q < bEnd) {
      const c = p >= aEnd ? 1 : q >= bEnd ? -1 : cmpWords(a[p + KEY]!, a[p + ID]!, a[p + AUX]!, bKey, bId, bAux, cmpSsid);
      if (c === 0) {
        paired = true;
        break;
      }
      if (c < 0) {
        /* not found in to_unref, leave alone */
        liveEnd = p + W;
        p = nextLive(a, p + W, aEnd);
      } else {
        /* item in to_unref is not in invs or already a trash */
        this.p = p;
        this.q = q;
        this.liveEnd = liveEnd;
        this.hooks.warn("arm_smmu_invs_unref", "WARN_ON(true): to_unref entry not found");
        q += W;
        if (q < bEnd) {
          bKey = b[q + KEY]!;
          bId = b[q + ID]!;
          bAux = b[q + AUX]!;
        }
      }
    }
    this.p = p;
    this.q = q;
    this.liveEnd = liveEnd;
    this.paired = paired;
    return paired;
  }

  /** users = READ_ONCE(inv[i].users) - 1; false after mainline's WARN_ON(users < 0). */
  readUsers(): boolean {
    this.users = this.a[this.p + USERS]! - 1;
    if (this.writeback && this.users < 0) {
      this.hooks.warn("arm_smmu_invs_unref", "WARN_ON(users < 0)");
      return false;
    }
    return true;
  }

  /** WRITE_ONCE(inv[i].users, users) and mainline's write-back; true when inv[i] became trash. */
  writeUsers(): boolean {
    const users = this.users;
    this.a[this.p + USERS] = users;
    if (users !== 0) {
      if (this.writeback) this.b[this.q + USERS] = 1;
      this.liveEnd = this.p + W;
      return false;
    }
    if (this.writeback) this.b[this.q + USERS] = 0;
    return true;
  }
}

/**
 * arm_smmu_invs_unref() run straight through; `freeFn` is v9's callback.
 * The arms of invsUnrefSteps() without its steps between them: resuming a
 * generator costs V8 about as much as walking nine entries (the bench's
 * workload steps once in nine). The property tests check both give the
 * same arrays.
 */
export function invsUnref(
  invs: Invs,
  toUnref: Invs,
  variant: DriverVariant = MAINLINE,
  freeFn?: (inv: InvView) => void,
  hooks: InvsHooks = DEFAULT_HOOKS,
): void {
  const walk = new UnrefWalk(invs, toUnref, variant, hooks);
  const freeTrash = variant.unref === "free_fn" ? freeFn : undefined;

  let ats = false;
  while (walk.seek()) {
    if (!walk.readUsers()) continue;
    if (walk.writeUsers()) {
      if (invs.type(walk.i) >= ATS) ats = true;
      freeTrash?.(invs.at(walk.i));
      invs.numTrashes++;
    }
  }
  runSteps(unrefTrim(invs, walk.num, ats, true, hooks));
}

/**
 * arm_smmu_invs_purge(): a new array without the trash entries, or null when
 * there is nothing to purge. On allocation failure mainline returns null (the
 * purge is put off); v9 returns ERR_PTR(-ENOMEM).
 */
export function invsPurge(
  invs: Invs,
  variant: DriverVariant = MAINLINE,
  hooks: InvsHooks = DEFAULT_HOOKS,
): Invs | ErrPtr | null {
  const n = invs.numInvs;
  if (n < invs.numTrashes) {
    hooks.warn("arm_smmu_invs_purge", "WARN_ON(invs->num_invs < invs->num_trashes)");
    return null;
  }
  if (n === 0 || invs.numTrashes === 0) return null;

  const out = hooks.alloc(n - invs.numTrashes);
  if (!out) return variant.purgeAllocFailure === "err_ptr" ? new ErrPtr(ENOMEM) : null;
  const a = invs.words;
  const fa = invs.pairs;
  const fo = out.pairs;
  const end = n * PAIRS;
  const keepsHasAts = variant.purgeKeepsHasAts;
  let d = 0;
  let hasAts = false;
  /*
   * Walks float64 offsets, an entry being (id, key) (aux, ops) (users, 0):
   * the last is 0 as a float64 exactly when users is (a nonzero users makes
   * it a denormal), so one load both tests the entry and copies it.
   */
  for (let p = 0; p < end; p += PAIRS) {
    const last = fa[p + USERS_PAIR]!;
    if (last === 0) continue;
    const x = fa[p]!;
    const y = fa[p + 1]!;
    fo[d] = x;
    fo[d + 1] = y;
    fo[d + USERS_PAIR] = last;
    d += PAIRS;
  }
  for (let k = 0; keepsHasAts && !hasAts && k < end; k += PAIRS) {
    if (fa[k + USERS_PAIR] !== 0) hasAts = (a[k * F + KEY]! & TYPE_MASK) >= ATS;
  }
  d *= F;
  out.hasAts = hasAts;
  if (d !== out.numInvs * W) hooks.warn("arm_smmu_invs_purge", "WARN_ON(num_invs != new_invs->num_invs)");
  return out;
}
