/**
 * The memory behind an invalidation array: entries survive merge and purge
 * bit for bit at the extremes of every field (they are copied as float64s),
 * out-of-range types are refused, and freed memory is reused only once freed
 * (kfree, or kfree_rcu after the grace period), zeroed, and never twice.
 */
import { describe, expect, test } from "vitest";
import { isErr } from "../../src/core/errno.js";
import { Rcu, UseAfterFreeError } from "../../src/core/rcu.js";
import {
  ATS,
  ATS_FULL,
  invsAlloc,
  invsFree,
  invsFrom,
  invsMerge,
  invsPurge,
  invsUnref,
  S1_ASID,
  S2_VMID,
  S2_VMID_S1_CLEAR,
  type InvInit,
  type Invs,
  type InvType,
} from "../../plugins/driver-invs/invs.js";

function ok(x: Invs | ReturnType<typeof invsMerge> | null): Invs {
  if (x === null || isErr(x)) throw new Error(`expected an array, got ${String(x)}`);
  return x;
}

/** Every field of inv[0 .. num_invs), as the accessors read them. */
function fields(invs: Invs): object[] {
  return invs.inv.slice(0, invs.numInvs).map((e) => ({
    smmu: e.smmu,
    type: e.type,
    id: e.id,
    ssid: e.ssid,
    pgsize: e.pgsize,
    sizeOpcode: e.sizeOpcode,
    nsizeOpcode: e.nsizeOpcode,
    users: e.users,
  }));
}

const MAX_SMMU = (1 << 27) - 1;
const U31 = 0x7fffffff;

/* Sorted (smmu, type, id, ssid); the largest values of every field, and zeros between. */
const extremes: InvInit[] = [
  { smmu: 0, type: S1_ASID, id: 0, pgsize: 0, sizeOpcode: 0, nsizeOpcode: 0, users: 1 },
  { smmu: 0, type: S2_VMID, id: U31, pgsize: U31, sizeOpcode: 0xff, nsizeOpcode: 0xff, users: U31 },
  { smmu: 1, type: ATS_FULL, id: 1, ssid: 0, users: 1 },
  { smmu: MAX_SMMU, type: S2_VMID_S1_CLEAR, id: U31, pgsize: 12, sizeOpcode: 0x20, nsizeOpcode: 0x21, users: 2 },
  { smmu: MAX_SMMU, type: ATS, id: U31, ssid: U31, sizeOpcode: 0x40, nsizeOpcode: 0x40, users: 1 },
  { smmu: MAX_SMMU, type: ATS_FULL, id: U31, ssid: U31, sizeOpcode: 0xff, nsizeOpcode: 0xff, users: 3 },
];

describe("entries are copied exactly", () => {
  test("merge keeps every field at its extremes, adding users to equal entries", () => {
    const a = invsFrom(extremes);
    const merged = ok(invsMerge(a, invsFrom([{ smmu: MAX_SMMU, type: ATS, id: U31, ssid: U31 - 1 }, extremes[4]!])));
    expect(fields(merged)).toEqual([
      ...fields(a).slice(0, 4),
      { smmu: MAX_SMMU, type: ATS, id: U31, ssid: U31 - 1, pgsize: 0, sizeOpcode: 0, nsizeOpcode: 0, users: 1 },
      { ...fields(a)[4]!, users: 2 },
      fields(a)[5]!,
    ]);
    expect(merged.hasAts).toBe(true);
  });

  test("purge keeps every field of the live entries at their extremes", () => {
    const a = ok(invsMerge(invsAlloc(0), invsFrom(extremes)));
    const before = fields(a);
    invsUnref(a, invsFrom([extremes[0]!, extremes[2]!]));
    expect(a.numTrashes).toBe(2);
    const purged = ok(invsPurge(a));
    expect(fields(purged)).toEqual([1, 3, 4, 5].map((i) => before[i]));
  });

  test.each([-1, 8, 1.5])("a type of %s is refused", (type) => {
    expect(() => invsAlloc(1).set(0, { type: type as InvType, id: 0 })).toThrow(new RangeError(`type ${type} out of range (0..7)`));
  });
});

describe("freed memory", () => {
  test("the next array of the size class gets it, zeroed; the freed array can no longer read it", () => {
    const a = invsFrom(extremes);
    const buffer = a.words.buffer;
    invsFree(a);
    expect(a.freed).toBe(true);
    expect(() => a.words).toThrow(UseAfterFreeError);
    const b = invsAlloc(extremes.length);
    expect(b.words.buffer).toBe(buffer);
    expect([...b.words].every((w) => w === 0)).toBe(true);
  });

  test("freeing twice hands the memory out once", () => {
    const a = invsAlloc(3);
    const buffer = a.words.buffer;
    invsFree(a);
    invsFree(a);
    const b = invsAlloc(3);
    const c = invsAlloc(3);
    expect(b.words.buffer).toBe(buffer);
    expect(c.words.buffer).not.toBe(buffer);
  });

  test("kfree_rcu: the memory is not reused while a reader may still see the array", () => {
    const rcu = new Rcu();
    const a = invsFrom(extremes);
    const buffer = a.words.buffer;
    const reader = rcu.readLock();
    rcu.kfreeRcu(a);
    const during = invsAlloc(extremes.length);
    expect(during.words.buffer).not.toBe(buffer);
    expect(fields(a)).toEqual(fields(invsFrom(extremes)));
    rcu.rcuReadUnlock(reader);
    expect(a.freed).toBe(true);
    expect(invsAlloc(extremes.length).words.buffer).toBe(buffer);
  });
});
