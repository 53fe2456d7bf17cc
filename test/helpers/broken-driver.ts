/**
 * driver-invs with one deliberate breakage of its orderings (a Mutation of
 * plugins/arm-smmu-v3/context.ts), as a driver plugin whose variants are the
 * breakages: the explorer's tests make it find each one.
 */
import { definePlugin, type DriverPlugin } from "../../src/index.js";
import type { Mutation } from "../../plugins/arm-smmu-v3/index.js";
import { InvsDriver } from "../../plugins/driver-invs/index.js";
import { SHARE } from "../../plugins/driver-invs/variant.js";

const MUTATIONS: readonly Mutation[] = ["publish-after-ste", "retire-before-ste", "kfree-not-rcu", "unlocked-trim", "no-sync-before-ats", "no-smp-mb", "no-dma-wmb"];

const brokenDriver: DriverPlugin = definePlugin({
  kind: "driver",
  name: "driver-broken",
  version: "0.0.0",
  apiVersions: [1],
  variants: MUTATIONS,
  description: "driver-invs (share: mainline with the follow-up series) with one ordering broken on purpose, for the explorer's tests",
  schema: { type: "object", properties: { variant: { enum: [...MUTATIONS] }, options: { type: "object" } } },
  setup(ctx) {
    const mutation = (ctx.spec.variant ?? MUTATIONS[0]) as Mutation;
    return new InvsDriver(ctx, { ...SHARE, mutations: new Set([mutation]) });
  },
});

/* a plugin file (`--plugin test/helpers/broken-driver.ts`) as much as a module the tests import */
export default brokenDriver;
