/** struct arm_smmu_master: a probed endpoint, its streams and its scratch invalidation array. */
import type { EndpointNode, SmmuNode } from "../../src/model/nodes.js";
import type { CdTable } from "../../src/model/tables.js";
import { invsAlloc, type Invs } from "./invs.js";
import type { IommuDomain } from "./domain.js";

/** CTXDESC_LINEAR_CDMAX: log2 of the CDs a linear table holds (SZ_64K / sizeof(CD)) */
export const CTXDESC_LINEAR_CDMAX = 10;

export class Master {
  /** master->streams, sorted by StreamID at probe so built arrays come out sorted. */
  readonly streams: readonly number[];
  /**
   * master->build_invs: scratch for a to_merge or to_unref array, sized at
   * probe for every case (2 entries, plus one per StreamID for an ATS-capable
   * PCI device) so that building never allocates.
   */
  readonly buildInvs: Invs;
  /** master->ssid_bits */
  readonly ssidBits: number;
  readonly stallEnabled = false;
  atsEnabled = false;
  /** cd_table: allocated on first use of a CD */
  cdTable: CdTable | null = null;
  cdTablePa = 0n;
  /** cd_table.in_ste: the installed STE points at the CD table. */
  inSte = false;
  /** master->ste_ats_enabled: the installed STE has EATS set. */
  steAtsEnabled = false;
  /** cd_table.used_ssids: valid CDs at a PASID. */
  usedSsids = 0;
  /** The iommu core's view: the domain on the RID (null before the first attach). */
  domain: IommuDomain | null = null;
  /** ... and the domain at each PASID. */
  readonly pasids = new Map<number, IommuDomain>();

  constructor(
    readonly dev: EndpointNode,
    readonly smmu: SmmuNode,
  ) {
    this.streams = [...dev.sids].sort((a, b) => a - b);
    const atsSupported = dev.pci && dev.atsCapable;
    this.buildInvs = invsAlloc(atsSupported ? 2 + dev.sids.length : 2);
    let ssidBits = Math.min(dev.pci ? dev.pasidBits : 0, smmu.ssidBits);
    if (!smmu.features.has("cd2l")) ssidBits = Math.min(ssidBits, CTXDESC_LINEAR_CDMAX);
    this.ssidBits = ssidBits;
  }

  get name(): string {
    return this.dev.name;
  }

  /** arm_smmu_ssids_in_use() */
  ssidsInUse(): boolean {
    return this.usedSsids > 0;
  }
}
