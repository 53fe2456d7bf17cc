/** src/plugin/platform.ts: a platform's nodes by name and kind, SMMUs in index order, endpoints by SMMU and StreamID. */
import { expect, test } from "vitest";
import { Platform } from "../../src/plugin/platform.js";
import type { EndpointNode, SmmuNode, VsmmuNode } from "../../src/model/nodes.js";
import { StreamTable } from "../../src/model/tables.js";

const smmu = (name: string, index: number): SmmuNode => ({
  kind: "smmu",
  name,
  index,
  features: new Set(),
  options: new Set(),
  asidBits: 16,
  vmidBits: 16,
  ssidBits: 20,
  pgsizeBitmap: 0x1000,
  strtab: new StreamTable(),
});
const device = (name: string, smmuName: string, sids: number[]): EndpointNode => ({
  kind: "device",
  name,
  smmu: smmuName,
  sids,
  pci: false,
  atsCapable: false,
  pasidBits: 0,
  atsEnabled: false,
  enableAts: () => undefined,
  disableAts: () => undefined,
});
const vsmmu: VsmmuNode = { kind: "vsmmu", name: "v0", smmu: "smmu1", parent: "s2", guestInvalidation: () => [] };

function platform(): Platform {
  const p = new Platform();
  p.add(smmu("smmu1", 1));
  p.add(device("nic0", "smmu0", [0x40, 0x41]));
  p.add(smmu("smmu0", 0));
  p.add(device("gpu0", "smmu1", [0x40]));
  p.add(vsmmu);
  return p;
}

test("nodes by name, each of its kind", () => {
  const p = platform();
  expect([p.smmu("smmu0").index, p.device("nic0").sids, p.vsmmu("v0").parent, p.has("gpu0"), p.has("gpu1")]).toEqual([0, [0x40, 0x41], "s2", true, false]);
  expect(() => p.smmu("nic0")).toThrow('"nic0" is a device, not a smmu');
  expect(() => p.device("gpu9")).toThrow('no device named "gpu9"');
});

test("SMMUs in index order, whatever order they were added in; then the devices and vSMMUs", () => {
  const p = platform();
  expect(p.smmus().map((s) => s.name)).toEqual(["smmu0", "smmu1"]);
  p.add(smmu("smmu2", 2));
  expect(p.smmus().map((s) => s.name)).toEqual(["smmu0", "smmu1", "smmu2"]);
  expect(p.devices().map((d) => d.name)).toEqual(["nic0", "gpu0"]);
  expect(p.vsmmus().map((v) => v.name)).toEqual(["v0"]);
});

test("the endpoint that owns a StreamID is found behind its own SMMU only", () => {
  const p = platform();
  expect([p.endpointFor("smmu0", 0x40)?.name, p.endpointFor("smmu0", 0x41)?.name, p.endpointFor("smmu1", 0x40)?.name, p.endpointFor("smmu1", 0x41)]).toEqual(["nic0", "nic0", "gpu0", undefined]);
});

test("a name is taken once", () => {
  expect(() => platform().add(device("smmu0", "smmu0", [1]))).toThrow('duplicate node name "smmu0"');
});
