/**
 * plugins/smmu-v3/index.ts: the command queue. Commands execute in order,
 * each taking cmd_ns; a CMD_SYNC completes once every command before it has,
 * ATC_INV completions included, holding the queue until then; an ATC_INV
 * goes to the endpoint that owns its StreamID, and one never answered makes
 * the CMD_SYNC time out (CERROR_ATC_INV: the driver polls until
 * ARM_SMMU_POLL_TIMEOUT_US). The timing model is smmu-v3's own (see
 * SmmuTiming); the figures below follow from the costs this topology sets.
 */
import { describe, expect, test } from "vitest";
import { Simulator, type BusNotifications, type Cmd, type CmdqSubmit } from "../../src/index.js";
import type { Topology } from "../../src/model/topology.js";
import { DEFAULT_TIMING, POLL_TIMEOUT_NS, SmmuV3 } from "../../plugins/smmu-v3/index.js";
import { atcInv, nhAsid, SYNC } from "../helpers/cmds.js";

const CMD = 10;
const SYNC_NS = 100;
const ATC = 500;

const TOPO: Topology = {
  smmus: [
    { name: "smmu0", features: ["ats", "range_inv"], options: ["force_sync"], props: { cmd_ns: CMD, sync_ns: SYNC_NS } },
    { name: "smmu1", features: [] },
  ],
  devices: [
    { name: "nic0", smmu: "smmu0", sids: [0x40, 0x41], ats: true, props: { atc_inv_ns: ATC } },
    { name: "gpu0", smmu: "smmu0", sids: [0x100], ats: true },
  ],
  domains: [],
};

function setup() {
  const sim = new Simulator(TOPO);
  const smmu = sim.platform.smmu("smmu0");
  if (!(smmu instanceof SmmuV3)) throw new Error("smmu0 is not smmu-v3");
  const queued: BusNotifications["cmd:queued"][] = [];
  const atcDone: BusNotifications["ep:atc-inv-done"][] = [];
  sim.bus.on("cmd:queued", "test", (e) => queued.push(e));
  sim.bus.on("ep:atc-inv-done", "test", (e) => atcDone.push(e));
  const submit = (cmds: Cmd[], sync: boolean, at: number, source = "cpu0") => sim.bus.request("smmu:cmdq", "smmu0", { cmds, sync, source, at } satisfies CmdqSubmit);
  /* the queue as the SMMU executed it (cmd:queued without its smmu), and as [op, start, end] */
  const queue = () => queued.map(({ smmu: _smmu, ...q }) => q);
  const timeline = () => queue().map((q) => [q.cmd.op, q.start, q.end]);
  return { sim, smmu, queued, atcDone, submit, queue, timeline };
}

describe("order and time", () => {
  test("commands one after another from the submission's time; the CMD_SYNC after them, taking sync_ns", () => {
    const { queued, submit, queue } = setup();
    expect(submit([nhAsid(1), { op: "CFGI_STE", sid: 0x40, leaf: true }], true, 1000)).toEqual({ synced: true, done: 1000 + 2 * CMD + SYNC_NS });
    const want = [
      { seq: 0, cmd: nhAsid(1), source: "cpu0", start: 1000, end: 1010 },
      { seq: 1, cmd: { op: "CFGI_STE", sid: 0x40, leaf: true }, source: "cpu0", start: 1010, end: 1020 },
      { seq: 2, cmd: SYNC, source: "cpu0", start: 1020, end: 1120 },
    ];
    expect(queue()).toEqual(want);
    /* each one announced as it executes */
    expect(queued).toEqual(want.map((q) => ({ smmu: "smmu0", ...q })));
  });

  test("without sync: no CMD_SYNC, and done when the last command is", () => {
    const { submit, queue } = setup();
    expect(submit([nhAsid(1), nhAsid(2)], false, 0)).toEqual({ synced: true, done: 2 * CMD });
    expect(queue().map((q) => q.cmd)).toEqual([nhAsid(1), nhAsid(2)]);
  });

  test("a submission while the queue is busy starts when it is free; one to an idle queue at its own time", () => {
    const { submit, timeline } = setup();
    submit([nhAsid(1)], true, 0);
    expect(submit([nhAsid(2)], true, 50, "cpu1")).toEqual({ synced: true, done: 110 + CMD + SYNC_NS });
    submit([nhAsid(3)], false, 5000);
    expect(timeline()).toEqual([
      ["TLBI_NH_ASID", 0, 10],
      ["CMD_SYNC", 10, 110],
      ["TLBI_NH_ASID", 110, 120],
      ["CMD_SYNC", 120, 220],
      ["TLBI_NH_ASID", 5000, 5010],
    ]);
  });

  test("the default costs, and another SMMU's queue is its own", () => {
    const { sim, submit } = setup();
    const smmu1 = sim.platform.smmu("smmu1") as SmmuV3;
    expect(smmu1.timing).toEqual({ cmdNs: 20, syncNs: 100 });
    expect(DEFAULT_TIMING).toEqual({ cmdNs: 20, syncNs: 100 });
    submit([nhAsid(1)], true, 0);
    expect(sim.bus.request("smmu:cmdq", "smmu1", { cmds: [nhAsid(1)], sync: true, source: "cpu1", at: 0 })).toEqual({ synced: true, done: 120 });
    expect(sim.commands("smmu1")).toEqual([nhAsid(1), SYNC]);
  });
});

describe("ATC_INV and CMD_SYNC", () => {
  test("the request goes to the StreamID's endpoint when the ATC_INV has executed; the CMD_SYNC completes with the endpoint", () => {
    const { submit, timeline, atcDone } = setup();
    expect(submit([atcInv(0x40), atcInv(0x41)], true, 0)).toEqual({ synced: true, done: 2 * CMD + ATC });
    expect(timeline()).toEqual([
      ["ATC_INV", 0, 10],
      ["ATC_INV", 10, 20],
      ["CMD_SYNC", 20, 520],
    ]);
    expect(atcDone).toEqual([
      { device: "nic0", sid: 0x40, start: 10, end: 510, completed: true, source: "cpu0" },
      { device: "nic0", sid: 0x41, start: 20, end: 520, completed: true, source: "cpu0" },
    ]);
  });

  test("an ATC_INV answered before the CMD_SYNC's own time is up: the CMD_SYNC takes sync_ns", () => {
    const { submit, timeline } = setup();
    /* gpu0 answers in the default 1000 ns; the 200 TLBIs before the sync outlast it */
    submit([atcInv(0x100), ...Array.from({ length: 200 }, () => nhAsid(1))], true, 0);
    expect(timeline().at(-1)).toEqual(["CMD_SYNC", 201 * CMD, 201 * CMD + SYNC_NS]);
  });

  test("an ATC_INV never answered: that CMD_SYNC times out after the driver's poll timeout; the next one is on its own", () => {
    const { sim, submit, timeline, atcDone } = setup();
    sim.inject("nic0", "atc_no_response");
    expect(submit([atcInv(0x40)], true, 0)).toEqual({ synced: false, done: CMD + POLL_TIMEOUT_NS });
    expect(POLL_TIMEOUT_NS).toBe(1_000_000_000);
    expect(atcDone).toEqual([{ device: "nic0", sid: 0x40, start: 10, end: 10, completed: false, source: "cpu0" }]);
    expect(submit([nhAsid(1)], true, 0)).toEqual({ synced: true, done: CMD + POLL_TIMEOUT_NS + CMD + SYNC_NS });
    expect(timeline()).toEqual([
      ["ATC_INV", 0, 10],
      ["CMD_SYNC", 10, 10 + POLL_TIMEOUT_NS],
      ["TLBI_NH_ASID", 10 + POLL_TIMEOUT_NS, 20 + POLL_TIMEOUT_NS],
      ["CMD_SYNC", 20 + POLL_TIMEOUT_NS, 120 + POLL_TIMEOUT_NS],
    ]);
  });

  test("an unanswered ATC_INV submitted without a sync is still pending at the next CMD_SYNC", () => {
    const { sim, submit } = setup();
    sim.inject("nic0", "atc_no_response");
    submit([atcInv(0x40)], false, 0);
    sim.inject("nic0", "atc_no_response", false);
    expect(submit([], true, 0)).toEqual({ synced: false, done: CMD + POLL_TIMEOUT_NS });
  });

  test("an ATC_INV for a StreamID no endpoint owns goes nowhere", () => {
    const { submit, atcDone } = setup();
    expect(submit([atcInv(0x99)], true, 0)).toEqual({ synced: true, done: CMD + SYNC_NS });
    expect(atcDone).toEqual([]);
  });
});

describe("the plugin", () => {
  test("the node: its features and options, 16-bit ASIDs and VMIDs, 20-bit SSIDs, 4K/16K/64K granules with their blocks", () => {
    const { smmu } = setup();
    expect([...smmu.features]).toEqual(["ats", "range_inv"]);
    expect([...smmu.options]).toEqual(["force_sync"]);
    expect([smmu.index, smmu.asidBits, smmu.vmidBits, smmu.ssidBits]).toEqual([0, 16, 16, 20]);
    expect(smmu.pgsizeBitmap).toBe(0x1000 | 0x4000 | 0x1_0000 | 0x20_0000 | 0x200_0000 | 0x2000_0000 | 0x4000_0000);
  });

  test("smmu:tlb-tags: the tags its TLB holds translations under, named with the SMMU", () => {
    const { sim, smmu } = setup();
    expect(sim.bus.request("smmu:tlb-tags", "smmu0", {})).toEqual({ tags: [] });
    const t = { base: 0x10000, size: 0x1000, pa: 0x10000, writable: true, backing: [] };
    smmu.iotlb.fill({ stage: "s1", asid: 3, vmid: 0 }, t);
    smmu.iotlb.fill({ stage: "s2", asid: -1, vmid: 2 }, t);
    expect(sim.bus.request("smmu:tlb-tags", "smmu0", {})).toEqual({ tags: ["smmu0 asid 3", "smmu0 vmid 2"] });
  });

  test("a TLBI on the queue reaches the TLB; its fills are announced as smmu0.iotlb", () => {
    const { sim, smmu, submit } = setup();
    const fills: string[] = [];
    sim.bus.on("cache:fill", "test", (e) => fills.push(`${e.cache} ${e.tag}`));
    const t = { base: 0x10000, size: 0x1000, pa: 0x10000, writable: true, backing: [] };
    smmu.iotlb.fill({ stage: "s1", asid: 3, vmid: 0 }, t);
    smmu.iotlb.fill({ stage: "s1", asid: 4, vmid: 0 }, t);
    submit([nhAsid(3)], true, 0);
    expect(smmu.iotlb.entries().map((e) => e.asid)).toEqual([4]);
    expect(fills).toEqual(["smmu0.iotlb s1 asid 3 vmid 0", "smmu0.iotlb s1 asid 4 vmid 0"]);
  });

  test("smmu:translate: a StreamID the driver never wrote aborts (its initial STE)", () => {
    const { sim } = setup();
    expect(sim.bus.request("smmu:translate", "smmu0", { sid: 0x40, ssid: null, iova: 0x1000, access: "read", ats: false })).toEqual({ kind: "abort", detail: "STE for sid 0x40 aborts" });
  });
});
