/**
 * Properties of the arm_smmu_invs algebra (invsMerge, invsUnref, invsPurge)
 * over random attach/detach histories, checked against a naive reference
 * model: a map from entry key to its users count and fields.
 *
 * A history is driven the way the driver drives a domain's array: a current
 * array; an attach merges a build array into it (current := the result) and
 * remembers the build; a detach unrefs one remembered build from current in
 * place, then maybe purges (current := the purged array, if any).
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { isErr } from "../../src/core/errno.js";
import { site, type Step, type Steps } from "../../src/model/step.js";
import {
  ATS,
  ATS_FULL,
  invCmp,
  invIsAts,
  invsAlloc,
  invsFrom,
  invsMerge,
  invsPurge,
  invsUnref,
  invsUnrefSteps,
  type InvInit,
  type Invs,
  type InvsHooks,
  type InvType,
  type InvView,
  S1_ASID,
  S2_VMID,
  S2_VMID_S1_CLEAR,
  S2_VMID_VSMMU,
} from "../../plugins/driver-invs/invs.js";
import { MAINLINE, V9, type DriverVariant } from "../../plugins/driver-invs/variant.js";

const NUM_RUNS = 250;

/* ---- generators ---- */

const entryArb: fc.Arbitrary<InvInit> = fc
  .record({
    smmu: fc.integer({ min: 0, max: 3 }),
    /* every type, the follow-up series' S2_VMID_VSMMU included */
    type: fc.constantFrom<InvType>(S1_ASID, S2_VMID, S2_VMID_VSMMU, S2_VMID_S1_CLEAR, ATS, ATS_FULL),
    id: fc.integer({ min: 0, max: 7 }),
    ssid: fc.integer({ min: 0, max: 3 }),
    pgsize: fc.constantFrom(0, 12, 14, 16),
    sizeOpcode: fc.integer({ min: 0, max: 255 }),
    nsizeOpcode: fc.integer({ min: 0, max: 255 }),
  })
  .map(({ smmu, type, id, ssid, pgsize, sizeOpcode, nsizeOpcode }) =>
    invIsAts(type) ? { smmu, type, id, ssid, sizeOpcode, nsizeOpcode } : { smmu, type, id, pgsize, sizeOpcode, nsizeOpcode },
  );

/** The raw entries of one build array, before sorting and de-duplication. */
const buildArb = fc.array(entryArb, { maxLength: 12 });

/** Raw ATS entries of few StreamIDs: out of order, they are often out of order by ssid alone. */
const atsBuildArb = fc.array(
  fc.record({
    smmu: fc.constant(0),
    type: fc.constantFrom<InvType>(ATS, ATS_FULL),
    id: fc.integer({ min: 0, max: 1 }),
    ssid: fc.integer({ min: 0, max: 3 }),
  }),
  { maxLength: 8 },
);

type Op = { kind: "attach"; entries: InvInit[] } | { kind: "detach"; pick: number; purge: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: buildArb.map((entries): Op => ({ kind: "attach", entries })) },
  {
    weight: 2,
    arbitrary: fc.record({ pick: fc.nat(), purge: fc.boolean() }).map(({ pick, purge }): Op => ({ kind: "detach", pick, purge })),
  },
);

const historyArb = fc.array(opArb, { maxLength: 24 });

/* ---- build arrays and views of an array ---- */

/** Sort `entries` by arm_smmu_inv_cmp() and keep the first of each run of equal ones. */
function sortedUnique(entries: readonly InvInit[], variant: DriverVariant): InvInit[] {
  const raw = invsFrom(entries);
  const order = entries.map((_, i) => i).sort((x, y) => invCmp(raw, x, raw, y, variant) || x - y);
  const kept: number[] = [];
  for (const i of order) {
    const last = kept[kept.length - 1];
    if (last === undefined || invCmp(raw, last, raw, i, variant) !== 0) kept.push(i);
  }
  return kept.map((i) => entries[i]!);
}

/**
 * A build array (as the driver's scratch array) with all users `users`: merge
 * must ignore them (a scratch array keeps what the last unref wrote back).
 */
function buildInvs(entries: readonly InvInit[], users = 5): Invs {
  return invsFrom(entries.map((e) => ({ ...e, users })));
}

/** Every field of inv[i], as the emulator stores it. */
interface EntryView {
  smmu: number;
  type: InvType;
  id: number;
  ssid: number;
  pgsize: number;
  sizeOpcode: number;
  nsizeOpcode: number;
  users: number;
}

function view(invs: Invs, i: number): EntryView {
  return {
    smmu: invs.smmu(i),
    type: invs.type(i),
    id: invs.id(i),
    ssid: invs.ssid(i),
    pgsize: invs.pgsize(i),
    sizeOpcode: invs.sizeOpcode(i),
    nsizeOpcode: invs.nsizeOpcode(i),
    users: invs.users(i),
  };
}

function visible(invs: Invs): EntryView[] {
  return Array.from({ length: invs.numInvs }, (_, i) => view(invs, i));
}

function live(invs: Invs): EntryView[] {
  return visible(invs).filter((e) => e.users !== 0);
}

/** The entry an InvInit describes, with `users`. */
function expected(e: InvInit, users: number): EntryView {
  const ats = invIsAts(e.type);
  return {
    smmu: e.smmu ?? 0,
    type: e.type,
    id: e.id,
    ssid: ats ? (e.ssid ?? 0) : 0,
    pgsize: ats ? 0 : (e.pgsize ?? 0),
    sizeOpcode: e.sizeOpcode ?? 0,
    nsizeOpcode: e.nsizeOpcode ?? 0,
    users,
  };
}

/** The identity arm_smmu_inv_cmp() sees: smmu, type, id, and ssid for ATS types when compared. */
function keyOf(e: InvInit | EntryView, variant: DriverVariant): string {
  const ssid = variant.cmpSsid && invIsAts(e.type) ? `/${e.ssid ?? 0}` : "";
  return `${e.smmu ?? 0}/${e.type}/${e.id}${ssid}`;
}

/** The order arm_smmu_inv_cmp() defines, written out again: smmu, type, id, then ssid for compared ATS types. */
function cmpView(variant: DriverVariant): (x: EntryView, y: EntryView) => number {
  return (x, y) => x.smmu - y.smmu || x.type - y.type || x.id - y.id || (variant.cmpSsid && invIsAts(x.type) ? x.ssid - y.ssid : 0);
}

function ok(x: Invs | ReturnType<typeof invsPurge>): Invs {
  if (x === null || isErr(x)) throw new Error(`expected an array, got ${String(x)}`);
  return x;
}

/* ---- the history runner and the reference model ---- */

interface DetachEvent {
  /** current before the unref (a copy), and the array unref'd in place */
  before: Invs;
  invs: Invs;
  build: InvInit[];
  toUnref: Invs;
  /** v9's free_fn calls: the indexes of the entries that became trash, in call order */
  freed: number[];
  /** the reference model's users of each build entry after the unref */
  modelUsers: number[];
}

interface RunOptions {
  /** After every operation, on the new current array. */
  onState?: (cur: Invs, run: History) => void;
  /** After every unref, before the purge. */
  onDetach?: (ev: DetachEvent) => void;
  /** Run the unref through this instead of invsUnref() (it must unref `toUnref` from `invs`). */
  unref?: (invs: Invs, toUnref: Invs, variant: DriverVariant, hooks: InvsHooks, freed: number[]) => void;
}

class History {
  cur: Invs = invsAlloc(0);
  /** key -> the live entry the driver should hold */
  readonly model = new Map<string, EntryView>();
  readonly attached: InvInit[][] = [];
  readonly warnings: string[] = [];
  readonly hooks: InvsHooks = {
    alloc: invsAlloc,
    warn: (fn, cond) => this.warnings.push(`${fn}: ${cond}`),
  };

  constructor(readonly variant: DriverVariant) {}

  attach(raw: readonly InvInit[]): void {
    const build = sortedUnique(raw, this.variant);
    this.cur = ok(invsMerge(this.cur, buildInvs(build), this.variant, this.hooks));
    for (const e of build) {
      const k = keyOf(e, this.variant);
      const m = this.model.get(k);
      if (m) m.users++;
      else this.model.set(k, expected(e, 1));
    }
    this.attached.push(build);
  }

  detach(pick: number, purge: boolean, opts: RunOptions): void {
    if (this.attached.length === 0) return;
    const [build] = this.attached.splice(pick % this.attached.length, 1) as [InvInit[]];
    /* the driver builds the old domain's entries again; 7 shows what unref writes back */
    const toUnref = buildInvs(build, 7);
    const before = copyInvs(this.cur);
    const freed: number[] = [];
    if (opts.unref) opts.unref(this.cur, toUnref, this.variant, this.hooks, freed);
    else {
      const freeFn = this.variant.unref === "free_fn" ? (inv: InvView) => freed.push(inv.index) : undefined;
      invsUnref(this.cur, toUnref, this.variant, freeFn, this.hooks);
    }
    const modelUsers = build.map((e) => {
      const k = keyOf(e, this.variant);
      const m = this.model.get(k)!;
      m.users--;
      if (m.users === 0) this.model.delete(k);
      return m.users;
    });
    opts.onDetach?.({ before, invs: this.cur, build, toUnref, freed, modelUsers });
    if (purge) {
      const purged = invsPurge(this.cur, this.variant, this.hooks);
      if (purged !== null) this.cur = ok(purged);
    }
  }

  play(ops: readonly Op[], opts: RunOptions = {}): void {
    opts.onState?.(this.cur, this);
    for (const op of ops) {
      if (op.kind === "attach") this.attach(op.entries);
      else this.detach(op.pick, op.purge, opts);
      opts.onState?.(this.cur, this);
    }
  }
}

/** A copy of an array with the same max_invs, num_invs, num_trashes and words. */
function copyInvs(invs: Invs): Invs {
  const c = invsAlloc(invs.maxInvs);
  c.words.set(invs.words);
  c.numInvs = invs.numInvs;
  c.numTrashes = invs.numTrashes;
  c.hasAts = invs.hasAts;
  return c;
}

/* ---- the invariants every reachable array keeps ---- */

function checkArray(cur: Invs, h: History): void {
  const { variant } = h;
  const n = cur.numInvs;
  expect(n).toBeLessThanOrEqual(cur.maxInvs);

  /* sorted: non-decreasing over num_invs ... */
  for (let i = 1; i < n; i++) expect(invCmp(cur, i - 1, cur, i, variant)).toBeLessThanOrEqual(0);
  /* ... and strictly increasing among the live entries */
  const liveIdx = visible(cur).flatMap((e, i) => (e.users !== 0 ? [i] : []));
  for (let k = 1; k < liveIdx.length; k++) expect(invCmp(cur, liveIdx[k - 1]!, cur, liveIdx[k]!, variant)).toBe(-1);

  /* users never negative; entries cut off past num_invs are trash */
  for (let i = 0; i < cur.maxInvs; i++) {
    if (i < n) expect(cur.users(i)).toBeGreaterThanOrEqual(0);
    else expect(cur.users(i)).toBe(0);
  }

  /* num_trashes counts the trash within num_invs */
  expect(cur.numTrashes).toBe(visible(cur).filter((e) => e.users === 0).length);

  /* no trailing trash */
  if (n > 0) expect(cur.users(n - 1)).not.toBe(0);

  /* the live entries are exactly the model's, in order */
  expect(live(cur)).toEqual([...h.model.values()].sort(cmpView(variant)));

  /* valid histories never WARN */
  expect(h.warnings).toEqual([]);
}

/* ---- the properties ---- */

for (const variant of [MAINLINE, V9]) {
  describe(`invs algebra properties (${variant.name})`, () => {
    test.prop([historyArb], { numRuns: NUM_RUNS })(
      "every array reached is sorted, counts its trash, has no trailing trash and holds the model's live entries",
      (ops) => {
        new History(variant).play(ops, { onState: checkArray });
      },
    );

    test.prop([historyArb, buildArb], { numRuns: NUM_RUNS })(
      "merge gives the live entries plus the build's, one more user each, no trash, has_ats from its entries",
      (ops, raw) => {
        const h = new History(variant);
        const build = sortedUnique(raw, variant);
        h.play(ops, {
          onState: (cur) => {
            const want = new Map(live(cur).map((e) => [keyOf(e, variant), { ...e }]));
            for (const e of build) {
              const w = want.get(keyOf(e, variant));
              if (w) w.users++;
              else want.set(keyOf(e, variant), expected(e, 1));
            }
            const list = [...want.values()].sort(cmpView(variant));
            const merged = ok(invsMerge(cur, buildInvs(build), variant, h.hooks));
            expect(visible(merged)).toEqual(list);
            expect([merged.maxInvs, merged.numTrashes]).toEqual([list.length, 0]);
            expect(merged.hasAts).toBe(list.some((e) => invIsAts(e.type)));
          },
        });
        expect(h.warnings).toEqual([]);
      },
    );

    test.prop([historyArb, fc.oneof(buildArb, atsBuildArb)], { numRuns: NUM_RUNS })(
      "merge WARNs once exactly when an unsorted to_merge makes the new array unsorted",
      (ops, raw) => {
        const h = new History(variant);
        h.play(ops, {
          onState: (cur) => {
            const warnings: string[] = [];
            const hooks: InvsHooks = { alloc: invsAlloc, warn: (fn, cond) => warnings.push(`${fn}: ${cond}`) };
            /* raw: in generation order, with duplicates */
            const merged = ok(invsMerge(cur, buildInvs(raw), variant, hooks));
            const descending = visible(merged).some((_, i) => i > 0 && invCmp(merged, i - 1, merged, i, variant) === 1);
            expect(warnings).toEqual(
              descending ? ["arm_smmu_invs_merge: WARN_ON_ONCE(arm_smmu_inv_cmp(new - 1, new) == 1)"] : [],
            );
          },
        });
      },
    );

    test.prop([historyArb], { numRuns: NUM_RUNS })("purge drops exactly the trash", (ops) => {
      const h = new History(variant);
      h.play(ops, {
        onState: (cur) => {
          const before = copyInvs(cur);
          const purged = invsPurge(cur, variant, h.hooks);
          /* the input is left alone */
          expect(cur.words).toEqual(before.words);
          expect([cur.numInvs, cur.numTrashes]).toEqual([before.numInvs, before.numTrashes]);
          if (cur.numInvs === 0 || cur.numTrashes === 0) {
            expect(purged).toBeNull();
            return;
          }
          const p = ok(purged);
          expect(visible(p)).toEqual(live(cur));
          expect([p.maxInvs, p.numInvs, p.numTrashes]).toEqual([live(cur).length, live(cur).length, 0]);
          /* mainline recomputes has_ats from the kept entries; v9 leaves it false */
          expect(p.hasAts).toBe(variant.purgeKeepsHasAts && live(cur).some((e) => invIsAts(e.type)));
        },
      });
      expect(h.warnings).toEqual([]);
    });

    test.prop([historyArb, buildArb], { numRuns: NUM_RUNS })(
      "merge then unref of the same build restores the live entries",
      (ops, raw) => {
        const h = new History(variant);
        const build = sortedUnique(raw, variant);
        h.play(ops, {
          onState: (cur) => {
            const before = live(cur);
            const merged = ok(invsMerge(cur, buildInvs(build), variant, h.hooks));
            invsUnref(merged, buildInvs(build), variant, undefined, h.hooks);
            expect(live(merged)).toEqual(before);
            /* what the merge added and the unref took back is trash now, never past the last live entry */
            expect(merged.numTrashes).toBe(visible(merged).filter((e) => e.users === 0).length);
            if (merged.numInvs > 0) expect(merged.users(merged.numInvs - 1)).not.toBe(0);
          },
        });
        expect(h.warnings).toEqual([]);
      },
    );

    test.prop([historyArb], { numRuns: NUM_RUNS })("unref drops one user of exactly the build's entries", (ops) => {
      new History(variant).play(ops, {
        onDetach: ({ before, invs, build }) => {
          const keys = new Set(build.map((e) => keyOf(e, variant)));
          /* entry by entry over the array as it was: trimming only lowers num_invs */
          expect(invs.maxInvs).toBe(before.maxInvs);
          for (let i = 0; i < before.numInvs; i++) {
            const was = view(before, i);
            const drop = was.users !== 0 && keys.has(keyOf(was, variant)) ? 1 : 0;
            expect(view(invs, i)).toEqual({ ...was, users: was.users - drop });
          }
          /* num_invs: one past the last entry still live */
          const lastLive = visible(before).reduce((acc, _, i) => (invs.users(i) !== 0 ? i : acc), -1);
          expect(invs.numInvs).toBe(lastLive + 1);
        },
      });
    });
  });
}

describe("unref's report of the new trash", () => {
  test.prop([historyArb], { numRuns: NUM_RUNS })(
    "mainline: to_unref.inv[j].users is 0 iff the matching entry reached 0 users, else 1",
    (ops) => {
      new History(MAINLINE).play(ops, {
        onDetach: ({ before, toUnref, build, modelUsers }) => {
          build.forEach((e, j) => {
            /* the matching entry, found in the array as it was */
            const i = visible(before).findIndex((v) => v.users !== 0 && keyOf(v, MAINLINE) === keyOf(e, MAINLINE));
            expect(i).toBeGreaterThanOrEqual(0);
            const reached0 = before.users(i) === 1;
            expect(reached0).toBe(modelUsers[j] === 0);
            expect(toUnref.users(j)).toBe(reached0 ? 0 : 1);
          });
        },
      });
    },
  );

  test.prop([historyArb], { numRuns: NUM_RUNS })(
    "v9: free_fn is called once for each entry that reached 0 users, in order, and to_unref is left alone",
    (ops) => {
      new History(V9).play(ops, {
        onDetach: ({ before, invs, toUnref, build, freed }) => {
          const keys = new Set(build.map((e) => keyOf(e, V9)));
          const reached0 = visible(before).flatMap((v, i) => (v.users === 1 && keys.has(keyOf(v, V9)) ? [i] : []));
          expect(freed).toEqual(reached0);
          for (const i of freed) expect(invs.users(i)).toBe(0);
          expect(visible(toUnref).map((e) => e.users)).toEqual(build.map(() => 7));
        },
      });
    },
  );
});

describe("stepped unref (invsUnrefSteps)", () => {
  const USERS_STEP = "WRITE_ONCE(invs->inv[i].users)";
  const FREE_STEP = site("free_fn", "flush the entry's tag");

  /**
   * Drive the generator by hand. The users of the array change only while the
   * path runs on from a WRITE_ONCE(users) step, by exactly one entry and one
   * user; v9's free_fn (a stepped path itself) runs right after the write
   * that made the trash, before num_trashes counts it; num_invs changes only
   * after the lock and the num_invs step.
   */
  function steppedUnref(invs: Invs, toUnref: Invs, variant: DriverVariant, hooks: InvsHooks, freed: number[]): void {
    const users = (): number[] => Array.from({ length: invs.maxInvs }, (_, i) => invs.users(i));
    const freeFn =
      variant.unref === "free_fn"
        ? function* (arr: Invs, i: number): Steps {
            expect(arr).toBe(invs);
            freed.push(i);
            yield FREE_STEP;
          }
        : undefined;
    /* the entries this unref takes to 0, in the order unref meets them */
    const toTrash = toUnref.inv.slice(0, toUnref.numInvs).map((e) => {
      const i = visible(invs).findIndex((v, k) => v.users !== 0 && invCmp(invs, k, toUnref, e.index, variant) === 0);
      return invs.users(i) === 1;
    });
    const numInvs = invs.numInvs;
    const path = invsUnrefSteps(invs, toUnref, variant, hooks, freeFn);
    const steps: string[] = [];
    let prev = users();
    let trashes = invs.numTrashes;
    let last: Step | undefined;
    for (let r = path.next(); ; r = path.next()) {
      const now = users();
      const changed = now.flatMap((u, i) => (u !== prev[i] ? [i] : []));
      if (last?.access === USERS_STEP) {
        expect(changed).toHaveLength(1);
        expect(now[changed[0]!]).toBe(prev[changed[0]!]! - 1);
      } else {
        expect(changed).toEqual([]);
      }
      if (last?.access !== "WRITE_ONCE(invs->num_invs)") expect(invs.numInvs).toBe(numInvs);
      if (r.done) break;
      if (r.value === FREE_STEP) expect(invs.numTrashes).toBe(trashes);
      prev = now;
      trashes = invs.numTrashes;
      last = r.value;
      steps.push(r.value.access);
      if (r.value !== FREE_STEP) expect(r.value.fn).toBe("arm_smmu_invs_unref");
    }
    /* one users step per to_unref entry (all are found), then the lock, then num_invs */
    expect(steps).toEqual([
      ...toTrash.flatMap((t) => (t && freeFn ? [USERS_STEP, FREE_STEP.access] : [USERS_STEP])),
      "write_lock_irqsave(&invs->rwlock)",
      "WRITE_ONCE(invs->num_invs)",
    ]);
    expect(invs.writer).toBe(false);
  }

  for (const variant of [MAINLINE, V9]) {
    test.prop([historyArb], { numRuns: NUM_RUNS })(
      `${variant.name}: a step before each users write, the same arrays as straight through`,
      (ops) => {
        const stepped = new History(variant);
        const straight = new History(variant);
        stepped.play(ops, { unref: steppedUnref, onState: checkArray });
        straight.play(ops);
        expect(visible(stepped.cur)).toEqual(visible(straight.cur));
        expect(stepped.cur.words).toEqual(straight.cur.words);
        expect([stepped.cur.numTrashes, stepped.cur.hasAts]).toEqual([straight.cur.numTrashes, straight.cur.hasAts]);
      },
    );
  }
});
