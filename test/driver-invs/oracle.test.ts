/**
 * The stale-translation oracle against deliberately broken drivers: each is
 * driver-invs with some commands dropped on their way to the queue.
 */
import { describe, expect, test } from "vitest";
import type { CmdqSubmit } from "../../src/model/events.js";
import { builtinRegistry } from "../../src/index.js";
import type { Cmd } from "../../src/model/commands.js";
import type { Topology } from "../../src/model/topology.js";
import { definePlugin, type DriverPlugin } from "../../src/plugin/api.js";
import driverInvs from "../../plugins/driver-invs/index.js";
import { sim } from "../helpers/sim.js";

/** driver-invs, except that commands matching `drop` never reach the queue. */
function broken(name: string, drop: (cmd: Cmd) => boolean): DriverPlugin {
  return definePlugin({
    ...driverInvs,
    name,
    setup(ctx) {
      const request = ((event: string, target: string, req: CmdqSubmit) =>
        event === "smmu:cmdq"
          ? ctx.request("smmu:cmdq", target, { ...req, cmds: req.cmds.filter((c) => !drop(c)) })
          : ctx.request(event as never, target, req as never)) as typeof ctx.request;
      return driverInvs.setup({ ...ctx, request });
    },
  });
}

function topology(driver: string | undefined, ats: boolean): Topology {
  return {
    smmus: [{ name: "smmu0", features: ats ? ["ats"] : [] }],
    devices: [{ name: "dev0", smmu: "smmu0", sids: [0x10], ats }],
    domains: [{ name: "d1", stage: "s1" }],
    driver: driver ? { plugin: driver } : undefined,
  };
}

function withBroken(plugin: DriverPlugin, ats: boolean) {
  const registry = builtinRegistry();
  registry.register(plugin);
  return sim(topology(plugin.name, ats), { registry });
}

describe("a driver that forgets the ATC invalidation", () => {
  test("the device's next DMA from its ATC is a stale translation, naming the unmap", () => {
    const s = withBroken(
      broken("no-atc-inv", (c) => c.op === "ATC_INV"),
      true,
    );
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    expect(s.dma("dev0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "walk" });
    s.unmap("d1", 0x10000, 0x1000, "scenario.smmu:7:3");
    expect(s.violations).toEqual([]);
    expect(s.dma("dev0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "atc" });
    expect(s.violations).toEqual([
      {
        kind: "stale-translation",
        device: "dev0",
        iova: 0x10000,
        cache: "dev0.atc",
        op: { seq: 3, label: "unmap d1 0x10000 size 0x1000", at: "scenario.smmu:7:3", cpu: "cpu0" },
        during: undefined,
        message:
          'dev0 read 0x10000 was served from dev0.atc (to 0x1000000000), but "unmap d1 0x10000 size 0x1000" ' +
          "at scenario.smmu:7:3 removed that translation and has returned",
      },
    ]);
  });

  test("the same scenario under the real driver is clean", () => {
    const s = sim(topology(undefined, true));
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    s.dma("dev0", "read", 0x10000);
    s.unmap("d1", 0x10000, 0x1000);
    expect(s.dma("dev0", "read", 0x10000)).toMatchObject({ kind: "fault" });
    expect(s.violations).toEqual([]);
  });
});

describe("a driver that skips the flush on last unref", () => {
  const scenario = (s: ReturnType<typeof sim>) => {
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    s.dma("dev0", "read", 0x10000);
    s.attach("dev0", "blocked");
    /* detached: the array is empty, so this unmap invalidates nothing */
    s.unmap("d1", 0x10000, 0x1000);
    s.attach("dev0", "d1");
    return s.dma("dev0", "read", 0x10000);
  };

  test("the TLB keeps an ASID no array covers, and a later DMA is served stale from it", () => {
    const s = withBroken(
      broken("no-tag-flush", (c) => c.op === "TLBI_NH_ASID"),
      false,
    );
    expect(scenario(s)).toMatchObject({ kind: "ok", via: "iotlb" });
    expect(s.violations.map((v) => [v.kind, v.message])).toEqual([
      [
        "tag-not-flushed",
        'smmu0 asid 1: the TLB still holds translations for a tag no invalidation array covers, after "attach dev0 blocked"',
      ],
      [
        "stale-translation",
        'dev0 read 0x10000 was served from smmu0.iotlb (to 0x1000000000), but "unmap d1 0x10000 size 0x1000" removed that translation and has returned',
      ],
    ]);
  });

  test("the real driver flushes the ASID at detach: the DMA faults", () => {
    const s = sim(topology(undefined, false));
    expect(scenario(s)).toMatchObject({ kind: "fault", event: "F_TRANSLATION" });
    expect(s.violations).toEqual([]);
  });
});

describe("an ATC that never answers", () => {
  test("the CMD_SYNC times out, the driver says so (dev_err(), no WARN), and the stale ATC entry is caught", () => {
    const s = sim(topology(undefined, true));
    const warnings: string[] = [];
    s.bus.on("driver:warn", "test", (w) => warnings.push(`WARN ${w.fn}: ${w.cond}`));
    s.bus.on("driver:log", "test", (m) => warnings.push(`${m.level} ${m.fn}: ${m.msg}`));
    s.attach("dev0", "d1");
    s.map("d1", 0x10000, 0x1000);
    s.dma("dev0", "read", 0x10000);
    s.inject("dev0", "atc_no_response");
    s.unmap("d1", 0x10000, 0x1000);
    expect(warnings).toEqual(["err arm_smmu_cmdq_issue_cmdlist: smmu0: CMD_SYNC timeout"]);
    expect(s.dma("dev0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "atc" });
    expect(s.violations.map((v) => v.kind)).toEqual(["stale-translation"]);
  });
});
