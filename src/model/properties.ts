/**
 * The properties of each kind of topology block as a .smmu file writes them
 * (snake_case) and as the JSON topology holds them (camelCase): one table for
 * the language, the schemas' messages and the reports.
 */

import type { NodeKind } from "./topology.js";

export type ValueKind = "name" | "symbol" | "symbols" | "int" | "ints" | "bool" | "string";

/** The properties each kind of block knows, as written (snake_case) and their JSON names (looked up with Object.hasOwn: a key may be "toString"). */
export const KEYS: Record<NodeKind, Record<string, [json: string, kind: ValueKind]>> = {
  smmu: { features: ["features", "symbols"], options: ["options", "symbols"], plugin: ["plugin", "string"] },
  device: {
    smmu: ["smmu", "name"],
    sids: ["sids", "ints"],
    ats: ["ats", "bool"],
    pci: ["pci", "bool"],
    pasid_bits: ["pasidBits", "int"],
    plugin: ["plugin", "string"],
  },
  vsmmu: { smmu: ["smmu", "name"], parent: ["parent", "name"], plugin: ["plugin", "string"] },
  domain: {
    stage: ["stage", "symbol"],
    nest_parent: ["nestParent", "bool"],
    vsmmu: ["vsmmu", "name"],
    page_size: ["pageSize", "int"],
    asid: ["asid", "int"],
    vmid: ["vmid", "int"],
    ats: ["ats", "bool"],
  },
};

/** The name a .smmu file writes for the JSON property `json` of a `kind` node ("pasidBits" is written "pasid_bits"). */
export function writtenName(kind: string, json: string): string {
  const keys: Record<string, [string, ValueKind]> = Object.hasOwn(KEYS, kind) ? KEYS[kind as NodeKind] : {};
  return Object.entries(keys).find(([, [j]]) => j === json)?.[0] ?? json;
}
