/**
 * A platform and what the driver is asked to manage on it, in the JSON form
 * that the language compiles to and the schemas in `schemas/` describe.
 */

/** A plugin property's or option's value, as the JSON topology holds it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type SmmuFeature = "range_inv" | "e2h" | "ats" | "sva" | "nesting" | "cd2l" | "attr_types_ovr";
export type SmmuOption = "skip_prefetch" | "force_sync";

export interface SmmuSpec {
  name: string;
  /** The plugin modelling it; "smmu-v3" by default. */
  plugin?: string;
  features: SmmuFeature[];
  options?: SmmuOption[];
  /** Plugin-specific properties. */
  props?: Record<string, unknown>;
}

export interface DeviceSpec {
  name: string;
  plugin?: string;
  smmu: string;
  sids: number[];
  /** A PCI device; true by default when it has ATS or PASID. */
  pci?: boolean;
  /** The PCI ATS capability (implies a PCI device). */
  ats?: boolean;
  /** Width of the PASID capability; 0 for none. */
  pasidBits?: number;
  props?: Record<string, unknown>;
}

export interface VsmmuSpec {
  name: string;
  plugin?: string;
  smmu: string;
  /** The nest-parent S2 domain the guest's stage 1 sits on. */
  parent: string;
  props?: Record<string, unknown>;
}

export type DomainStage = "s1" | "s2" | "sva" | "nested";

export interface DomainSpec {
  name: string;
  stage: DomainStage;
  /** An S2 domain a nested domain may sit on (IOMMU_HWPT_ALLOC_NEST_PARENT). */
  nestParent?: boolean;
  /** A nested domain's vSMMU. */
  vsmmu?: string;
  /** The smallest page size, in bytes (4 KiB by default). */
  pageSize?: number;
  /** Pin the ASID (S1, SVA, and a nested domain's guest ASID) instead of allocating one. */
  asid?: number;
  /** Pin the VMID (S2) instead of allocating one. */
  vmid?: number;
  /** A nested domain: whether the guest's vSTE enables ATS (EATS); true by default. */
  ats?: boolean;
}

export interface DriverSpec {
  /** "driver-invs" by default. */
  plugin?: string;
  variant?: string;
  options?: Record<string, JsonValue>;
}

export interface Topology {
  smmus: SmmuSpec[];
  devices: DeviceSpec[];
  vsmmus?: VsmmuSpec[];
  domains: DomainSpec[];
  driver?: DriverSpec;
}

/** The driver's node: its plugin's `ctx.node`, what `expect state driver KEY VALUE;` reads. No SMMU, device or vSMMU may take the name. */
export const DRIVER_NODE = "driver";

/** `driver invs v9;` names driver-invs; a name with a dash is a plugin name as is. */
export function driverPlugin(name: string): string {
  return name.includes("-") ? name : `driver-${name}`;
}
