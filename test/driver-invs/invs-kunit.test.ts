/**
 * arm_smmu_v3_invs_test, ported step for step: the mainline kunit (11 steps,
 * with ssids and the trash count after every step) against the default
 * driver, and the seed's v9 kunit (7 steps) against the v9 variant.
 */
import { describe, expect, test } from "vitest";
import { isErr } from "../../src/core/errno.js";
import {
  ATS,
  invsAlloc,
  invsFrom,
  invsMerge,
  invsPurge,
  invsUnref,
  S2_VMID,
  S2_VMID_S1_CLEAR,
  type Invs,
  type InvInit,
} from "../../plugins/driver-invs/invs.js";
import { V9 } from "../../plugins/driver-invs/variant.js";

function ok(x: Invs | ReturnType<typeof invsMerge> | null): Invs {
  if (x === null || isErr(x)) throw new Error(`expected an array, got ${String(x)}`);
  return x;
}

/** arm_smmu_v3_invs_test_verify(): num_invs, then ids, users (and ssids) of the first num entries */
function verify(invs: Invs, ids: number[], users: number[], ssids?: number[]): void {
  expect(invs.numInvs).toBe(ids.length);
  const got = invs.inv.slice(0, invs.numInvs);
  expect(got.map((e) => e.id)).toEqual(ids);
  expect(got.map((e) => e.users)).toEqual(users);
  if (ssids) expect(got.map((e) => e.ssid)).toEqual(ssids);
}

const invs1: InvInit[] = [
  { type: S2_VMID, id: 1 },
  { type: S2_VMID_S1_CLEAR, id: 1 },
  { type: ATS, id: 3 },
];
const invs2: InvInit[] = [
  { type: S2_VMID, id: 1 } /* duplicated */,
  { type: ATS, id: 4 },
  { type: ATS, id: 5 },
];
const invs3: InvInit[] = [
  { type: S2_VMID, id: 1 } /* duplicated */,
  { type: ATS, id: 5 } /* recover a trash */,
  { type: ATS, id: 6 },
];
const invs4: InvInit[] = [
  { type: ATS, id: 10, ssid: 1 },
  { type: ATS, id: 10, ssid: 3 },
  { type: ATS, id: 12, ssid: 1 },
];
const invs5: InvInit[] = [
  { type: ATS, id: 10, ssid: 2 } /* recover a trash */,
  { type: ATS, id: 10, ssid: 3 } /* duplicated */,
  { type: ATS, id: 12, ssid: 2 },
];

describe("arm_smmu_v3_invs_test (mainline, 11 steps)", () => {
  test("every step", () => {
    const in1 = invsFrom(invs1);
    const in2 = invsFrom(invs2);
    const in3 = invsFrom(invs3);
    const in4 = invsFrom(invs4);
    const in5 = invsFrom(invs5);

    /* Test0: new array */
    let a = invsAlloc(0);
    expect(a.numInvs).toBe(0);

    /* Test1: merge invs1 (new array) */
    let b = ok(invsMerge(a, in1));
    verify(b, [1, 1, 3], [1, 1, 1], [0, 0, 0]);
    expect(b.numTrashes).toBe(0);

    /* Test2: merge invs2 (new array) */
    a = ok(invsMerge(b, in2));
    verify(a, [1, 1, 3, 4, 5], [2, 1, 1, 1, 1], [0, 0, 0, 0, 0]);
    expect(a.numTrashes).toBe(0);

    /* Test3: unref invs2 (same array): the two trailing trash entries are trimmed */
    invsUnref(a, in2);
    verify(a, [1, 1, 3], [1, 1, 1], [0, 0, 0]);
    expect(a.numTrashes).toBe(0);
    expect(a.maxInvs).toBe(5);
    expect(a.inv.slice(3).map((e) => [e.id, e.users])).toEqual([
      [4, 0],
      [5, 0],
    ]);

    /* Test4: merge invs3 (new array) */
    b = ok(invsMerge(a, in3));
    verify(b, [1, 1, 3, 5, 6], [2, 1, 1, 1, 1], [0, 0, 0, 0, 0]);
    expect(b.numTrashes).toBe(0);

    /* Test5: unref invs1 (same array) */
    invsUnref(b, in1);
    verify(b, [1, 1, 3, 5, 6], [1, 0, 0, 1, 1], [0, 0, 0, 0, 0]);
    expect(b.numTrashes).toBe(2);

    /* Test6: purge b (new array) */
    a = ok(invsPurge(b));
    verify(a, [1, 5, 6], [1, 1, 1], [0, 0, 0]);
    expect(a.numTrashes).toBe(0);

    /* Test7: unref invs3 (same array) */
    invsUnref(a, in3);
    expect(a.numInvs).toBe(0);
    expect(a.numTrashes).toBe(0);

    /* Test8: merge invs4 (new array) */
    b = ok(invsMerge(a, in4));
    verify(b, [10, 10, 12], [1, 1, 1], [1, 3, 1]);
    expect(b.numTrashes).toBe(0);

    /* Test9: merge invs5 (new array): only holds because ssid is compared */
    a = ok(invsMerge(b, in5));
    verify(a, [10, 10, 10, 12, 12], [1, 1, 2, 1, 1], [1, 2, 3, 1, 2]);
    expect(a.numTrashes).toBe(0);

    /* Test10: unref invs5 (same array) */
    invsUnref(a, in5);
    verify(a, [10, 10, 10, 12], [1, 0, 1, 1], [1, 2, 3, 1]);
    expect(a.numTrashes).toBe(1);

    /* Test11: purge a (new array) */
    b = ok(invsPurge(a));
    verify(b, [10, 10, 12], [1, 1, 1], [1, 3, 1]);
    expect(b.numTrashes).toBe(0);
  });

  test("unref writes back which to_unref entries became trash", () => {
    const a = ok(invsMerge(ok(invsMerge(invsAlloc(0), invsFrom(invs1))), invsFrom(invs2)));
    const in1 = invsFrom(invs1);
    invsUnref(a, in1);
    /* S2_VMID/1 keeps a user (invs2 holds it), S1_CLEAR/1 and ATS/3 become trash */
    expect(in1.inv.map((e) => e.users)).toEqual([1, 0, 0]);
  });
});

describe("arm_smmu_v3_invs_test (v9 as posted, 7 steps)", () => {
  test("every step", () => {
    const in1 = invsFrom(invs1);
    const in2 = invsFrom(invs2);
    const in3 = invsFrom(invs3);

    /* New array */
    let a = invsAlloc(0);
    expect(a.numInvs).toBe(0);

    /* Test1: merge invs1 (new array) */
    let b = ok(invsMerge(a, in1, V9));
    verify(b, [1, 1, 3], [1, 1, 1]);

    /* Test2: merge invs2 (new array) */
    a = ok(invsMerge(b, in2, V9));
    verify(a, [1, 1, 3, 4, 5], [2, 1, 1, 1, 1]);

    /* Test3: unref invs2 (same array) */
    invsUnref(a, in2, V9);
    verify(a, [1, 1, 3], [1, 1, 1]);
    expect(a.numTrashes).toBe(0);

    /* Test4: merge invs3 (new array) */
    b = ok(invsMerge(a, in3, V9));
    verify(b, [1, 1, 3, 5, 6], [2, 1, 1, 1, 1]);

    /* Test5: unref invs1 (same array) */
    invsUnref(b, in1, V9);
    verify(b, [1, 1, 3, 5, 6], [1, 0, 0, 1, 1]);
    expect(b.numTrashes).toBe(2);

    /* Test6: purge test_b (new array) */
    a = ok(invsPurge(b, V9));
    verify(a, [1, 5, 6], [1, 1, 1]);

    /* Test7: unref invs3 (same array) */
    invsUnref(a, in3, V9);
    expect(a.numInvs).toBe(0);
    expect(a.numTrashes).toBe(0);
  });

  test("v9 leaves to_unref alone and calls free_fn for each entry that became trash", () => {
    const a = ok(invsMerge(ok(invsMerge(invsAlloc(0), invsFrom(invs1), V9)), invsFrom(invs2), V9));
    const in1 = invsFrom(invs1);
    const freed: string[] = [];
    invsUnref(a, in1, V9, (inv) => freed.push(`${inv.typeName}/${inv.id}`));
    expect(freed).toEqual(["S2_VMID_S1_CLEAR/1", "ATS/3"]);
    expect(in1.inv.map((e) => e.users)).toEqual([0, 0, 0]);
  });

  test("v9 does not compare ssid: mainline's step 9 merges into the wrong entries", () => {
    const b = ok(invsMerge(invsAlloc(0), invsFrom(invs4), V9));
    verify(b, [10, 10, 12], [1, 1, 1], [1, 3, 1]);
    /* ATS/10/2 meets ATS/10/1 and compares equal: no entry for ssid 2 is added */
    const a = ok(invsMerge(b, invsFrom(invs5), V9));
    verify(a, [10, 10, 12], [2, 2, 2], [1, 3, 1]);
  });
});
