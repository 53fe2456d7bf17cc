/**
 * What the driver and other models may know of each kind of node: the
 * interfaces hardware plugins implement. A user's SMMU or endpoint plugin
 * implements the same interface as the built-in one.
 */
import type { Cmd } from "./commands.js";
import type { SmmuFeature, SmmuOption } from "./topology.js";
import type { StreamTable } from "./tables.js";

/** An SMMUv3 instance as its ID registers and firmware describe it. */
export interface SmmuNode {
  readonly kind: "smmu";
  readonly name: string;
  /** Position on the platform: orders invalidation entries by SMMU, as the kernel orders by pointer. */
  readonly index: number;
  readonly features: ReadonlySet<SmmuFeature>;
  readonly options: ReadonlySet<SmmuOption>;
  readonly asidBits: number;
  readonly vmidBits: number;
  readonly ssidBits: number;
  /** Supported page sizes, as a bitmap of byte sizes. */
  readonly pgsizeBitmap: number;
  /** The stream table (STRTAB_BASE) in memory. */
  readonly strtab: StreamTable;
  /** The command queue as an agent of its own, for a schedule explorer; an SMMU without one cannot be explored. */
  readonly queueAgent?: CmdqAgent;
}

/**
 * An SMMU's command queue running beside the CPUs: while deferred, commands
 * submitted ("smmu:cmdq") wait in the queue, and each step() takes one of
 * the options(): executing the next command, or completing one executed
 * earlier (a CMD_SYNC completes once everything before it has;
 * "smmu:cmdq-poll" tells). Options are stable while offered.
 */
export interface CmdqAgent {
  setDeferred(on: boolean): void;
  /** Nothing queued, nothing in flight. */
  idle(): boolean;
  /** What the queue can do now. */
  options(): number[];
  /** Take option `option`; what the queue did ("execute #3 CMD_SYNC", "complete #2 TLBI_NH_VA ..."). */
  step(option: number): string;
}

/** An endpoint behind an SMMU. */
export interface EndpointNode {
  readonly kind: "device";
  readonly name: string;
  readonly smmu: string;
  /** StreamIDs as firmware lists them (fwspec->ids). */
  readonly sids: readonly number[];
  /** A PCI device (dev_is_pci()). */
  readonly pci: boolean;
  /** The PCI ATS capability (pci_ats_supported()). */
  readonly atsCapable: boolean;
  /** Width of the PCI PASID capability, 0 for none. */
  readonly pasidBits: number;
  /** PCI ATS Control.Enable. */
  readonly atsEnabled: boolean;
  /** pci_enable_ats(): Smallest Translation Unit as log2 of bytes. */
  enableAts(stu: number): void;
  /** pci_disable_ats() */
  disableAts(): void;
  /**
   * How many times pci_disable_ats() has cleared ATS Enable, for an endpoint
   * whose handling of an ATC Invalidate Request depends on it (see
   * AtcInvRequest.sentAtsDisables); undefined otherwise. Under a schedule
   * explorer, a read of ATS Enable.
   */
  atsDisables?(): number | undefined;
  /** Faults a scenario can inject into this endpoint, by name. */
  readonly faults?: readonly string[];
  inject?(fault: string, on: boolean): void;
}

/** A guest-owned virtual SMMU on a physical SMMU, over a nest-parent S2 domain. */
export interface VsmmuNode {
  readonly kind: "vsmmu";
  readonly name: string;
  readonly smmu: string;
  readonly parent: string;
  /**
   * The commands the guest's driver puts on its vSMMU queue after unmapping
   * [iova, iova + size) from a stage 1 with guest ASID `asid`; `atsSids` are
   * the virtual StreamIDs of the devices with ATS on behind that stage 1
   * (one per device: a vDEVICE has one).
   */
  guestInvalidation(asid: number, iova: number, size: number, atsSids: readonly number[]): Cmd[];
}

export type PlatformNode = SmmuNode | EndpointNode | VsmmuNode;
