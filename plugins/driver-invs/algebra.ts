/**
 * The array algebra as a scenario drives it directly (the kunit test's
 * way): arrays built from entries, merged, unref'd and purged with the
 * driver's variant and its allocation fault injection.
 */
import { CMDQ_OP, type InvsAlgebra, type InvsSnapshot, isErr, runSteps } from "../../src/index.js";
import type { InvsContext } from "./context.js";
import { INV_TYPE_NAMES, type InvTypeName } from "../../src/index.js";
import { Invs, invsAlloc, invsFrom, invsMerge, invsPurge, invsUnrefSteps, invIsAts, type InvType } from "./invs.js";

/** What an array holds within num_invs, SMMUs by name. */
export function snapshotOf(ctx: InvsContext, invs: Invs): InvsSnapshot {
  const entries = [];
  for (let i = 0; i < invs.numInvs; i++) {
    entries.push({
      smmu: ctx.smmuName(invs.smmu(i)),
      type: INV_TYPE_NAMES[invs.type(i)],
      id: invs.id(i),
      ssid: invs.ssid(i),
      users: invs.users(i),
    });
  }
  return { entries, trashes: invs.numTrashes, hasAts: invs.hasAts };
}

function asInvs(x: object): Invs {
  if (!(x instanceof Invs)) throw new Error("not an invalidation array");
  return x;
}

export function algebra(ctx: InvsContext): InvsAlgebra {
  const { variant, hooks } = ctx;
  return {
    from(entries) {
      return invsFrom(
        entries.map((e) => {
          const type = INV_TYPE_NAMES.indexOf(e.type as InvTypeName) as InvType;
          const op = invIsAts(type) ? CMDQ_OP.ATC_INV : 0;
          return { smmu: e.smmu === undefined ? 0 : ctx.smmuIndex(e.smmu), type, id: e.id, ssid: e.ssid, users: e.users, sizeOpcode: op, nsizeOpcode: op };
        }),
      );
    },
    alloc: (n) => invsAlloc(n),
    merge(a, b) {
      const r = invsMerge(asInvs(a), asInvs(b), variant, hooks);
      return isErr(r) ? -r.errno : r;
    },
    unref(a, b) {
      runSteps(invsUnrefSteps(asInvs(a), asInvs(b), variant, hooks));
    },
    purge(a) {
      const r = invsPurge(asInvs(a), variant, hooks);
      return isErr(r) ? -r.errno : r;
    },
    snapshot: (a) => snapshotOf(ctx, asInvs(a)),
  };
}
