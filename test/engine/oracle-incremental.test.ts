/**
 * The oracle's TLB tag rule, checked incrementally: a tag that leaves the
 * driver's live tags after the TLB holding it was last looked at is still
 * caught (through uncoveredTags(), or without it by looking again at every
 * TLB that held a tag), and the TLBs it asks do not grow with SMMUs an
 * operation does not touch.
 */
import { describe, expect, test } from "vitest";
import { builtinRegistry } from "../../src/index.js";
import type { IommuDriver } from "../../src/model/driver.js";
import type { Topology } from "../../src/model/topology.js";
import { definePlugin, type DriverPlugin, type SmmuPlugin } from "../../src/plugin/api.js";
import driverInvs from "../../plugins/driver-invs/index.js";
import smmuV3 from "../../plugins/smmu-v3/index.js";
import { sim } from "../helpers/sim.js";

/** An SMMU that never executes TLBI_NH_ASID: the ASID a detach uncovers stays in its TLB. */
const noAsidTlbi: SmmuPlugin = definePlugin({
  ...smmuV3,
  name: "no-asid-tlbi",
  extends: "smmu-v3",
  setup(ctx, base) {
    ctx.intercept("smmu:cmdq", ctx.node, (req, next) => next({ ...req, cmds: req.cmds.filter((c) => c.op !== "TLBI_NH_ASID") }));
    return base!;
  },
});

/** driver-invs without uncoveredTags(). */
const bareDriver: DriverPlugin = definePlugin({
  ...driverInvs,
  name: "bare-invs",
  setup: (ctx) => new Proxy(driverInvs.setup(ctx), { get: (t, k) => (k === "uncoveredTags" ? undefined : Reflect.get(t, k, t)) }) as IommuDriver,
});

function platform(smmus: number, driver?: string, smmuPlugin?: string): Topology {
  return {
    smmus: Array.from({ length: smmus }, (_, i) => ({ name: `smmu${i}`, features: [], ...(smmuPlugin ? { plugin: smmuPlugin } : {}) })),
    devices: Array.from({ length: smmus }, (_, i) => ({ name: `dev${i}`, smmu: `smmu${i}`, sids: [0x10 + i] })),
    domains: [
      { name: "d1", stage: "s1" },
      { name: "d2", stage: "s1" },
    ],
    driver: driver ? { plugin: driver } : undefined,
  };
}

const NOT_FLUSHED = 'smmu0 asid 1: the TLB still holds translations for a tag no invalidation array covers, after "attach dev0 blocked"';

describe("a tag that leaves the live tags after its TLB was looked at", () => {
  test.each([
    ["with uncoveredTags()", false],
    ["without it: every TLB that held a tag is looked at", true],
  ])("is reported once, at the operation that uncovered it (%s)", (_, bare) => {
    const registry = builtinRegistry();
    registry.register(noAsidTlbi);
    registry.register(bareDriver);
    const s = sim(platform(4, bare ? "bare-invs" : undefined, "no-asid-tlbi"), { registry });
    expect("uncoveredTags" in s.driver && s.driver.uncoveredTags !== undefined).toBe(!bare);
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    /* a DMA as an operation: the oracle looks at smmu0's TLB after it, and the tag is live */
    expect(s.run(s.ops.dma("dev0", "read", 0x10000))).toMatchObject({ kind: "ok", via: "walk" });
    expect(s.violations).toEqual([]);
    /* an operation elsewhere: nothing about smmu0 changes */
    s.attach("dev1", "d2");
    expect(s.violations).toEqual([]);
    s.attach("dev0", "blocked");
    s.attach("dev2", "d2");
    expect(s.violations.map((v) => [v.kind, v.message])).toEqual([["tag-not-flushed", NOT_FLUSHED]]);
  });

  test("the real driver flushes it: nothing to report", () => {
    const s = sim(platform(4));
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    s.run(s.ops.dma("dev0", "read", 0x10000));
    s.attach("dev0", "blocked");
    expect(s.violations).toEqual([]);
  });
});

describe("the TLBs the oracle asks", () => {
  /** smmu:tlb-tags requests per SMMU over the same operations, on a platform of `smmus` SMMUs. */
  function asked(smmus: number): Record<string, number> {
    const s = sim(platform(smmus));
    const counts: Record<string, number> = {};
    const request = s.bus.request.bind(s.bus);
    s.bus.request = ((event, target, req) => {
      if (event === "smmu:tlb-tags") counts[target] = (counts[target] ?? 0) + 1;
      return request(event, target, req);
    }) as typeof s.bus.request;
    for (let i = 0; i < 4; i++) {
      s.attach("dev0", "d1");
      s.attach("dev1", "d2");
      s.map("d1", 0x10000, 0x1000);
      s.run(s.ops.dma("dev0", "read", 0x10000));
      s.unmap("d1", 0x10000, 0x1000);
      s.invalidateAll("d2");
      s.attach("dev0", "blocked");
    }
    expect(s.violations).toEqual([]);
    return counts;
  }

  test("only those an operation filled or invalidated: the same with 2 SMMUs as with 64", () => {
    /* after the DMA (a fill) and after the unmap (a TLBI on a TLB that held a tag), each time */
    expect(asked(2)).toEqual({ smmu0: 8 });
    expect(asked(64)).toEqual({ smmu0: 8 });
  });
});
