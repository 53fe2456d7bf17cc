/**
 * A platform and what the driver is asked to manage on it, in the JSON form
 * that the language compiles to and the schemas in `schemas/` describe.
 */

/** A plugin property's or option's value, as the JSON topology holds it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The SMMU_IDR feature bits the driver looks at (ARM_SMMU_FEAT_*), with what each means to it. */
export const SMMU_FEATURES = {
  range_inv: "ARM_SMMU_FEAT_RANGE_INV: range TLBI commands (NUM/SCALE/TG/TTL) instead of one per granule",
  e2h: "ARM_SMMU_FEAT_E2H: the host runs at EL2, so stage-1 TLBIs are TLBI_EL2_VA/ASID",
  ats: "ARM_SMMU_FEAT_ATS: PCIe ATS; the driver enables it on capable endpoints and sends ATC_INV",
  sva: "ARM_SMMU_FEAT_SVA: shared virtual addressing (sva bind of a process's mm)",
  nesting: "ARM_SMMU_FEAT_NESTING: nested stage-1 over stage-2 translation, for vSMMUs",
  cd2l: "ARM_SMMU_FEAT_2_LVL_CDTAB: two-level context-descriptor tables",
  attr_types_ovr: "ARM_SMMU_FEAT_ATTR_TYPES_OVR: the STE may override incoming memory attributes (SHCFG)",
} as const;
export type SmmuFeature = keyof typeof SMMU_FEATURES;

/** Driver workarounds an SMMU may need (ARM_SMMU_OPT_*). */
export const SMMU_OPTIONS = {
  skip_prefetch: "ARM_SMMU_OPT_SKIP_PREFETCH: no CMD_PREFETCH_CONFIG after an STE change",
  force_sync: "ARM_SMMU_OPT_CMDQ_FORCE_SYNC: a batch's 64th command is issued with a CMD_SYNC (an erratum of early MMU-700 revisions)",
} as const;
export type SmmuOption = keyof typeof SMMU_OPTIONS;

/** The kinds of block a topology holds, in the order it lists them: the JSON form's list of each, and what messages call one. */
export const NODE_KINDS = {
  smmu: { list: "smmus", label: "SMMU" },
  device: { list: "devices", label: "device" },
  vsmmu: { list: "vsmmus", label: "vSMMU" },
  domain: { list: "domains", label: "domain" },
} as const;
export type NodeKind = keyof typeof NODE_KINDS;

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

/** The kinds of domain: stage 1 (tagged by ASID), stage 2 (by VMID), a process's (SVA), a guest's stage 1 on a vSMMU (nested). */
export const DOMAIN_STAGES = ["s1", "s2", "sva", "nested"] as const;
export type DomainStage = (typeof DOMAIN_STAGES)[number];

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
