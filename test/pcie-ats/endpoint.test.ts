/**
 * plugins/pcie-ats/index.ts: a PCIe endpoint, on a bus where the SMMU is a
 * script that records what it is asked. Without ATS every DMA is an
 * untranslated transaction the SMMU translates; with ATS (pci_enable_ats())
 * a DMA is served from the ATC as a Translated transaction (which the SMMU
 * checks, test/pcie-ats/translated.test.ts), and a miss is an ATS
 * Translation Request whose answer the ATC keeps. An ATC Invalidate Request
 * is answered atc_inv_ns after it arrived, or never (the atc_no_response
 * fault).
 */
import { describe, expect, test } from "vitest";
import { Bus } from "../../src/core/bus.js";
import type { BusNotifications, DeviceSpec, TranslateRequest, TranslateResult, Translation } from "../../src/index.js";
import type { TranslatedRequest } from "../../src/model/events.js";
import { DEFAULT_ATC_INV_NS, PcieEndpoint } from "../../plugins/pcie-ats/index.js";

const NIC: DeviceSpec = { name: "nic0", smmu: "smmu0", sids: [0x40, 0x41], ats: true, pasidBits: 8, props: { atc_inv_ns: 250 } };

function t(base: number, writable = true): Translation {
  return { base, size: 0x1000, pa: 0x4000_0000 + base, writable, backing: [{ table: 0x8000_0000n, addr: base, pa: 0x4000_0000 + base }] };
}

/** The endpoint `spec` on a bus whose smmu0 answers translations with `answer` and records each request. */
function setup(spec: DeviceSpec = NIC, answer: (r: TranslateRequest) => TranslateResult = (r) => ({ kind: "ok", t: t(r.iova - (r.iova % 0x1000)), via: "walk" })) {
  const bus = new Bus();
  const asked: TranslateRequest[] = [];
  bus.serve("smmu:translate", "smmu0", "smmu-script", (r) => {
    asked.push(r);
    return answer(r);
  });
  /* Translated transactions, which this SMMU lets through */
  const checked: TranslatedRequest[] = [];
  bus.serve("smmu:translated", "smmu0", "smmu-script", (r) => {
    checked.push(r);
    return { kind: "ok" };
  });
  const heard: string[] = [];
  bus.on("dma:served", "test", (e: BusNotifications["dma:served"]) => heard.push(`dma:served ${e.device} sid 0x${e.sid.toString(16)} pasid ${e.pasid} ${e.access} 0x${e.iova.toString(16)} via ${e.via} "${e.cache}"`));
  bus.on("cache:fill", "test", (e) => heard.push(`cache:fill ${e.cache} ${e.tag} 0x${e.t.base.toString(16)}`));
  bus.on("ep:ats", "test", (e) => heard.push(`ep:ats ${e.device} ${e.enabled} stu ${e.stu}`));
  bus.on("ep:atc-inv-done", "test", (e) => heard.push(`ep:atc-inv-done ${e.device} sid 0x${e.sid.toString(16)} ${e.start}-${e.end} ${e.completed}`));
  const ep = new PcieEndpoint(spec.name, spec, bus);
  return { ep, asked, checked, heard };
}

const req = (iova: number, o: { pasid?: number | null; access?: "read" | "write"; sid?: number } = {}) => ({ iova, pasid: o.pasid ?? null, access: o.access ?? "read", ...(o.sid === undefined ? {} : { sid: o.sid }) });

describe("the node", () => {
  test("its capabilities from the spec; a PCI device when it has ATS or PASID, unless the spec says", () => {
    const { ep } = setup();
    expect([ep.kind, ep.smmu, ep.sids, ep.pci, ep.atsCapable, ep.pasidBits, ep.atsEnabled, ep.atcInvNs]).toEqual(["device", "smmu0", [0x40, 0x41], true, true, 8, false, 250]);
    const pci = (spec: Partial<DeviceSpec>) => new PcieEndpoint("d", { name: "d", smmu: "smmu0", sids: [1], ...spec }, new Bus()).pci;
    expect([pci({}), pci({ ats: true }), pci({ pasidBits: 1 }), pci({ pci: true }), pci({ ats: true, pci: false })]).toEqual([false, true, true, true, false]);
    expect(new PcieEndpoint("d", { name: "d", smmu: "smmu0", sids: [1] }, new Bus()).atcInvNs).toBe(DEFAULT_ATC_INV_NS);
    expect(DEFAULT_ATC_INV_NS).toBe(1000);
  });

  test("pci_enable_ats() on an endpoint without the capability is refused; an unknown fault too", () => {
    const ep = new PcieEndpoint("dma0", { name: "dma0", smmu: "smmu0", sids: [0x20] }, new Bus());
    expect(() => ep.enableAts(12)).toThrow("dma0 has no ATS capability");
    expect(() => ep.inject("atc_drop", true)).toThrow('dma0 has no fault "atc_drop" (atc_no_response)');
  });
});

describe("DMA", () => {
  test("without ATS: an untranslated transaction on the first StreamID; the SMMU's answer, nothing kept", () => {
    const { ep, asked, heard } = setup();
    expect(ep.dma(req(0x10234))).toEqual({ result: { kind: "ok", t: t(0x10000), via: "walk" } });
    expect(ep.dma(req(0x10234, { sid: 0x41, pasid: 3, access: "write" }))).toEqual({ result: { kind: "ok", t: t(0x10000), via: "walk" } });
    expect(asked).toEqual([
      { sid: 0x40, ssid: null, iova: 0x10234, access: "read", ats: false },
      { sid: 0x41, ssid: 3, iova: 0x10234, access: "write", ats: false },
    ]);
    expect(ep.atc.size).toBe(0);
    expect(heard).toEqual(['dma:served nic0 sid 0x40 pasid null read 0x10234 via walk ""', 'dma:served nic0 sid 0x41 pasid 3 write 0x10234 via walk ""']);
  });

  test("a StreamID that is not the endpoint's is a modelling error", () => {
    const { ep } = setup();
    expect(() => ep.dma(req(0x1000, { sid: 0x99 }))).toThrow("nic0 has no StreamID 0x99");
  });

  test("with ATS: a miss is a Translation Request whose answer the ATC keeps under StreamID and PASID; a hit is a Translated transaction to the PA", () => {
    const { ep, asked, checked, heard } = setup();
    ep.enableAts(12);
    expect(ep.dma(req(0x10000, { pasid: 1 }))).toEqual({ result: { kind: "ok", t: t(0x10000), via: "walk" } });
    expect(ep.dma(req(0x10800, { pasid: 1, access: "write" }))).toEqual({ result: { kind: "ok", t: t(0x10000), via: "atc" } });
    /* another PASID is another entry */
    ep.dma(req(0x10000, { pasid: 2 }));
    expect(asked).toEqual([
      { sid: 0x40, ssid: 1, iova: 0x10000, access: "read", ats: true },
      { sid: 0x40, ssid: 2, iova: 0x10000, access: "read", ats: true },
    ]);
    expect(checked).toEqual([{ sid: 0x40, ssid: 1, addr: 0x4001_0800, access: "write" }]);
    expect(heard).toEqual([
      "ep:ats nic0 true stu 12",
      "cache:fill nic0.atc sid 0x40 pasid 1 0x10000",
      'dma:served nic0 sid 0x40 pasid 1 read 0x10000 via walk ""',
      'dma:served nic0 sid 0x40 pasid 1 write 0x10800 via atc "nic0.atc"',
      "cache:fill nic0.atc sid 0x40 pasid 2 0x10000",
      'dma:served nic0 sid 0x40 pasid 2 read 0x10000 via walk ""',
    ]);
  });

  test("a write to a read-only ATC entry asks the SMMU, which faults it", () => {
    const { ep, asked } = setup(NIC, (r) => (r.access === "write" ? { kind: "fault", event: "F_PERMISSION", detail: "read-only" } : { kind: "ok", t: t(0x10000, false), via: "iotlb" }));
    ep.enableAts(12);
    ep.dma(req(0x10000));
    expect(ep.dma(req(0x10000, { access: "write" }))).toEqual({ result: { kind: "fault", event: "F_PERMISSION", detail: "read-only" } });
    expect(asked.map((r) => r.access)).toEqual(["read", "write"]);
    expect(ep.atc.size).toBe(1);
  });

  test("an answer from the IOTLB is served as the SMMU's; a bypass or a fault is not kept", () => {
    const answers: TranslateResult[] = [
      { kind: "ok", t: t(0x10000), via: "iotlb" },
      { kind: "ok", t: t(0x20000), via: "bypass" },
      { kind: "fault", event: "F_TRANSLATION", detail: "not mapped" },
      { kind: "abort", detail: "aborts" },
    ];
    const { ep, heard } = setup(NIC, () => answers.shift()!);
    ep.enableAts(12);
    ep.dma(req(0x10000));
    ep.dma(req(0x20000));
    ep.dma(req(0x30000));
    ep.dma(req(0x40000));
    expect(ep.atc.list().map((e) => e.t.base)).toEqual([0x10000]);
    expect(heard.filter((h) => h.startsWith("dma:served"))).toEqual([
      'dma:served nic0 sid 0x40 pasid null read 0x10000 via iotlb "smmu0.iotlb"',
      'dma:served nic0 sid 0x40 pasid null read 0x20000 via bypass ""',
    ]);
  });

  test("pci_disable_ats(): transactions untranslated again; the ATC keeps its entries and uses them when ATS is on again", () => {
    const { ep, asked, heard } = setup();
    ep.enableAts(12);
    ep.dma(req(0x10000));
    ep.disableAts();
    expect(ep.atsEnabled).toBe(false);
    ep.dma(req(0x10000));
    expect(ep.atc.size).toBe(1);
    /* hence arm_smmu_enable_ats()'s whole-ATC invalidation before pci_enable_ats() */
    ep.enableAts(16);
    expect(ep.dma(req(0x10000)).result).toMatchObject({ via: "atc" });
    expect(asked.map((r) => r.ats)).toEqual([true, false]);
    expect(heard.filter((h) => h.startsWith("ep:ats"))).toEqual(["ep:ats nic0 true stu 12", "ep:ats nic0 false stu 12", "ep:ats nic0 true stu 16"]);
  });
});

describe("ATC Invalidate Requests", () => {
  test("answered atc_inv_ns after arrival, the span gone from the ATC", () => {
    const { ep, heard } = setup();
    ep.enableAts(12);
    ep.dma(req(0x10000));
    ep.dma(req(0x11000));
    heard.length = 0;
    expect(ep.atcInv({ sid: 0x40, ssid: 0, ssv: false, addr: 0x10000, size: 0, at: 700 })).toEqual({ completed: true, done: 950 });
    expect(ep.atc.list().map((e) => e.t.base)).toEqual([0x11000]);
    expect(heard).toEqual(["ep:atc-inv-done nic0 sid 0x40 700-950 true"]);
  });

  test("atc_no_response: never answered, nothing invalidated; answered again once the fault is off", () => {
    const { ep, heard } = setup();
    ep.enableAts(12);
    ep.dma(req(0x10000));
    heard.length = 0;
    ep.inject("atc_no_response", true);
    expect(ep.atcInv({ sid: 0x40, ssid: 0, ssv: false, addr: 0, size: 52, at: 100 })).toEqual({ completed: false });
    expect(ep.atc.size).toBe(1);
    ep.inject("atc_no_response", false);
    expect(ep.atcInv({ sid: 0x40, ssid: 0, ssv: false, addr: 0, size: 52, at: 200 })).toEqual({ completed: true, done: 450 });
    expect(ep.atc.size).toBe(0);
    expect(heard).toEqual(["ep:atc-inv-done nic0 sid 0x40 100-100 false", "ep:atc-inv-done nic0 sid 0x40 200-450 true"]);
  });

  test("ats_disable_drops_inv: a request outstanding when pci_disable_ats() runs is dropped; one sent after it, or one in a straight run, is answered", () => {
    const { ep, heard } = setup({ ...NIC, props: { atc_inv_ns: 250, ats_disable_drops_inv: true } });
    const inv = (at: number, sentAtsDisables?: number) => ep.atcInv({ sid: 0x40, ssid: 0, ssv: false, addr: 0, size: 52, at, ...(sentAtsDisables === undefined ? {} : { sentAtsDisables }) });
    ep.enableAts(12);
    ep.dma(req(0x10000));
    heard.length = 0;
    expect(ep.atsDisables()).toBe(0);
    /* sent while ATS was on, handled with ATS still on: answered */
    expect(inv(100, 0)).toEqual({ completed: true, done: 350 });
    ep.dma(req(0x10000));
    /* sent while ATS was on, handled after pci_disable_ats(): dropped, the ATC as it was */
    ep.disableAts();
    expect(ep.atsDisables()).toBe(1);
    expect(inv(400, 0)).toEqual({ completed: false });
    expect([ep.atc.size, ep.dropped]).toEqual([1, 1]);
    /* sent after it (arm_smmu_attach_commit()'s flush), or with no stamp (a straight run): answered */
    expect(inv(500, 1)).toEqual({ completed: true, done: 750 });
    expect(inv(800)).toEqual({ completed: true, done: 1050 });
    expect([ep.atc.size, ep.dropped]).toEqual([0, 1]);
    expect(heard.filter((h) => h.startsWith("ep:atc-inv-done"))).toEqual([
      "ep:atc-inv-done nic0 sid 0x40 100-350 true",
      "ep:atc-inv-done nic0 sid 0x40 400-400 false",
      "ep:atc-inv-done nic0 sid 0x40 500-750 true",
      "ep:atc-inv-done nic0 sid 0x40 800-1050 true",
    ]);
  });

  test("without ats_disable_drops_inv the endpoint does not count disables, and answers a request however its ATS changed", () => {
    const { ep } = setup();
    ep.enableAts(12);
    ep.disableAts();
    expect(ep.atsDisables()).toBeUndefined();
    expect(ep.atcInv({ sid: 0x40, ssid: 0, ssv: false, addr: 0, size: 52, at: 100, sentAtsDisables: 0 })).toEqual({ completed: true, done: 350 });
    expect(ep.dropped).toBe(0);
  });
});
