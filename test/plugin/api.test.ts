/**
 * The plugin API from the library side: what the built-in caches announce
 * (cache:fill), which driver a simulator says it runs, the name the driver
 * keeps for itself, and the payload types the package entry exports by name.
 */
import { describe, expect, test } from "vitest";
import {
  ATC_INV_SIZE_ALL,
  builtinRegistry,
  definePlugin,
  DRIVER_NODE,
  Simulator,
  TopologyError,
  type AtcInvReply,
  type AtcInvRequest,
  type BusNotifications,
  type Cmd,
  type CmdqSubmit,
  type CmdqSubmitReply,
  type DmaReply,
  type DmaRequest,
  type Leaf,
  type PageTableView,
  type PluginContext,
  type DeviceSpec,
  type TranslateRequest,
  type TranslateResult,
  type Translation,
} from "../../src/index.js";
import type { Topology } from "../../src/model/topology.js";
import { diagnostic } from "../../src/core/diagnostics.js";
import { Simulator as PlatformSimulator } from "../../src/engine/simulator.js";

const TOPO: Topology = {
  smmus: [{ name: "smmu0", features: ["ats"] }],
  devices: [
    { name: "gpu0", smmu: "smmu0", sids: [0x10], ats: true, pasidBits: 8 },
    { name: "dma0", smmu: "smmu0", sids: [0x20] },
  ],
  domains: [
    { name: "d1", stage: "s1" },
    { name: "d2", stage: "s1" },
    { name: "s2", stage: "s2" },
  ],
};

describe("cache:fill", () => {
  test("the IOTLB and the ATC announce each translation they take, tagged as they hold it", () => {
    const sim = new Simulator(TOPO);
    const fills: BusNotifications["cache:fill"][] = [];
    sim.bus.on("cache:fill", "test", (e) => fills.push(e));
    expect(sim.attach("gpu0", "d1")).toBe(0);
    expect(sim.attachPasid("gpu0", "d2", 3)).toBe(0);
    expect(sim.attach("dma0", "s2")).toBe(0);
    sim.map("d1", 0x10000, 0x1000, { pa: 0x4000_0000 });
    sim.map("d2", 0x20000, 0x1000, { pa: 0x4010_0000, writable: false });
    sim.map("s2", 0x30000, 0x1000, { pa: 0x4020_0000 });
    expect(fills).toEqual([]);

    const t = (base: number, pa: number, writable: boolean, domain: string): Translation => ({
      base,
      size: 0x1000,
      pa,
      writable,
      backing: [{ table: sim.driver.domain(domain).pgtablePa, addr: base, pa }],
    });
    expect(sim.dma("gpu0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "walk" });
    expect(sim.dma("gpu0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "atc" });
    expect(sim.dma("gpu0", "read", 0x20000, { pasid: 3 })).toMatchObject({ kind: "ok", via: "walk" });
    expect(sim.dma("dma0", "write", 0x30000)).toMatchObject({ kind: "ok", via: "walk" });
    expect(sim.dma("dma0", "write", 0x30000)).toMatchObject({ kind: "ok", via: "iotlb" });
    expect(fills).toEqual([
      { cache: "smmu0.iotlb", tag: "s1 asid 1 vmid 0", t: t(0x10000, 0x4000_0000, true, "d1") },
      { cache: "gpu0.atc", tag: "sid 0x10", t: t(0x10000, 0x4000_0000, true, "d1") },
      { cache: "smmu0.iotlb", tag: "s1 asid 2 vmid 0", t: t(0x20000, 0x4010_0000, false, "d2") },
      { cache: "gpu0.atc", tag: "sid 0x10 pasid 3", t: t(0x20000, 0x4010_0000, false, "d2") },
      { cache: "smmu0.iotlb", tag: "s2 vmid 1", t: t(0x30000, 0x4020_0000, true, "s2") },
    ]);
  });

  test("a plugin hears it with ctx.on", () => {
    const registry = builtinRegistry();
    const heard: string[] = [];
    registry.register(
      definePlugin({
        kind: "device",
        name: "fill-log",
        version: "1",
        apiVersions: [1],
        extends: "pcie-ats",
        description: "",
        schema: { type: "object" },
        setup(ctx, base) {
          ctx.on("cache:fill", (e) => heard.push(`${ctx.node}: ${e.cache} ${e.tag} 0x${e.t.base.toString(16)}`));
          return base!;
        },
      }),
    );
    const sim = new Simulator({ ...TOPO, devices: [{ ...TOPO.devices[0]!, plugin: "fill-log" }] }, { registry });
    sim.attach("gpu0", "d1");
    sim.map("d1", 0x10000, 0x2000);
    sim.dma("gpu0", "read", 0x11000);
    expect(heard).toEqual(["gpu0: smmu0.iotlb s1 asid 1 vmid 0 0x11000", "gpu0: gpu0.atc sid 0x10 0x11000"]);
  });
});

describe("the driver a simulator runs", () => {
  /** Extends driver-invs and returns it; its first variant, its default, is v9. */
  const V9_FIRST = definePlugin({
    kind: "driver",
    name: "driver-v9first",
    version: "1",
    apiVersions: [1],
    extends: "driver-invs",
    variants: ["v9", "mainline"],
    description: "",
    schema: { type: "object" },
    setup: (_ctx, base) => base!,
  });

  test("is the plugin chosen, named as chosen, with its default variant, which its base runs too", () => {
    const registry = builtinRegistry();
    registry.register(V9_FIRST);
    const sim = new Simulator(TOPO, { registry, driver: { plugin: "driver-v9first" } });
    expect(sim.chosenDriver).toEqual({ plugin: "driver-v9first", variant: "v9" });
    /* the object is driver-invs's, which says so itself */
    expect([sim.driver.plugin, sim.driver.variant]).toEqual(["driver-invs", "v9"]);
    const mainline = new Simulator(TOPO, { registry, driver: { plugin: "driver-v9first", variant: "mainline" } });
    expect(mainline.chosenDriver).toEqual({ plugin: "driver-v9first", variant: "mainline" });
    expect(mainline.driver.variant).toBe("mainline");
  });

  test("the built-in ones: the default driver-invs mainline, driver-legacy v7.0", () => {
    expect(new Simulator(TOPO).chosenDriver).toEqual({ plugin: "driver-invs", variant: "mainline" });
    expect(new Simulator(TOPO, { driver: { plugin: "driver-legacy" } }).chosenDriver).toEqual({ plugin: "driver-legacy", variant: "v7.0" });
  });

  test(`keeps its node name, "${DRIVER_NODE}", to itself: a topology naming a node so is refused`, () => {
    expect(DRIVER_NODE).toBe("driver");
    /* the library's Simulator checks the topology as `validate` does */
    expect(() => new Simulator({ ...TOPO, devices: [{ name: "driver", smmu: "smmu0", sids: [0x30] }] })).toThrow(
      new TopologyError([
        {
          pointer: "/devices/0/name",
          diagnostic: diagnostic({ file: "<topology>", line: 1, column: 1 }, "topology", `a device cannot be called "driver": that is the driver's name (\`expect state driver ...\` reads the driver's state)`),
        },
      ]),
    );
    /* and the engine's, given a topology nobody checked, refuses it too */
    expect(() => new PlatformSimulator({ ...TOPO, devices: [{ name: "driver", smmu: "smmu0", sids: [0x30] }] }, { registry: builtinRegistry() })).toThrow(
      new Error(`a node cannot be called "driver": that is the driver's name`),
    );
  });
});

describe("the package entry", () => {
  test("exports the payload types by name, and ATC_INV_SIZE_ALL", () => {
    /* a plugin's handlers typed with the exported names: this type-checks (tsc -p tsconfig.json) */
    const atcInv = (req: AtcInvRequest, next: (r: AtcInvRequest) => AtcInvReply): AtcInvReply =>
      req.size === ATC_INV_SIZE_ALL ? next(req) : { ...next({ ...req, size: 0 }), done: req.at };
    const cmdq = (req: CmdqSubmit, next: (r: CmdqSubmit) => CmdqSubmitReply): CmdqSubmitReply =>
      next({ ...req, cmds: req.cmds.filter((c: Cmd) => c.op !== "PREFETCH_CFG") });
    const dma = (req: DmaRequest, walk: (r: TranslateRequest) => TranslateResult): DmaReply => ({
      result: walk({ sid: req.sid ?? 0, ssid: req.pasid, iova: req.iova, access: req.access, ats: false }),
    });
    const backed = (ctx: PluginContext<DeviceSpec>, t: Translation): boolean =>
      t.backing.every((b) => {
        const table: PageTableView | undefined = ctx.pageTable(b.table);
        const leaf: Leaf | undefined = table?.lookup(b.addr);
        return leaf?.pa === b.pa;
      });
    expect([atcInv, cmdq, dma, backed].map((f) => typeof f)).toEqual(["function", "function", "function", "function"]);
    expect(ATC_INV_SIZE_ALL).toBe(52);
  });
});
