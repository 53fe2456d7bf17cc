/** struct arm_smmu_master: a probed endpoint and its streams, as both drivers have it. */
import { type CdTable, type EndpointNode, hex, type Platform, type SmmuNode, type Topology } from "../../src/index.js";
import type { IommuDomain } from "./domain.js";

/** CTXDESC_LINEAR_CDMAX: log2 of the CDs a linear table holds (SZ_64K / sizeof(CD)) */
const CTXDESC_LINEAR_CDMAX = 10;

export class Master {
  /**
   * master->streams: sorted by StreamID at probe (arm_smmu_insert_master())
   * so built arrays come out sorted (the series' patch 4); before the
   * series, in firmware order.
   */
  readonly streams: readonly number[];
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
  /**
   * The iommu core's view, kept here as the driver reads it back
   * (iommu_get_domain_for_dev()): the domain on the RID (null before the
   * first attach).
   */
  domain: IommuDomain | null = null;
  /** ... and the domain at each PASID. */
  readonly pasids = new Map<number, IommuDomain>();

  constructor(
    readonly dev: EndpointNode,
    readonly smmu: SmmuNode,
    sortStreams: boolean,
  ) {
    this.streams = sortStreams ? [...dev.sids].sort((a, b) => a - b) : [...dev.sids];
    let ssidBits = Math.min(dev.pci ? dev.pasidBits : 0, smmu.ssidBits);
    if (!smmu.features.has("cd2l")) ssidBits = Math.min(ssidBits, CTXDESC_LINEAR_CDMAX);
    this.ssidBits = ssidBits;
  }

  get name(): string {
    return this.dev.name;
  }

  /**
   * dev->iommu->max_pasids: the PASIDs the iommu core lets this device be
   * attached at (0: none). The kernel's core takes min(the PCI PASID
   * capability, 1 << SSIDSIZE); this model takes master->ssid_bits, which
   * also has the linear CD table's limit (CTXDESC_LINEAR_CDMAX), so a PASID
   * the table cannot hold is refused rather than written beyond it.
   */
  get maxPasids(): number {
    return this.ssidBits ? 2 ** this.ssidBits : 0;
  }

  /** arm_smmu_ssids_in_use() */
  ssidsInUse(): boolean {
    return this.usedSsids > 0;
  }
}

/** The master of the device named `device`. */
export function masterNamed(masters: ReadonlyMap<string, Master>, device: string): Master {
  const m = masters.get(device);
  if (!m) throw new Error(`no probed device named "${device}"`);
  return m;
}

/**
 * arm_smmu_probe_device() for every endpoint: its master, made by the
 * driver's `newMaster`. A StreamID another device already has fails the probe.
 */
export function probeMasters<M extends Master>(platform: Platform, topology: Topology, newMaster: (dev: EndpointNode, smmu: SmmuNode) => M): Map<string, M> {
  const masters = new Map<string, M>();
  const owner = new Map<string, string>();
  for (const spec of topology.devices) {
    const dev = platform.device(spec.name);
    for (const sid of new Set(dev.sids)) {
      const key = `${dev.smmu}#${sid}`;
      const other = owner.get(key);
      if (other) throw new Error(`Aliasing StreamID ${hex(sid)} (from ${other}) unsupported: ${dev.name} probe fails with -ENODEV`);
      owner.set(key, dev.name);
    }
    masters.set(dev.name, newMaster(dev, platform.smmu(dev.smmu)));
  }
  return masters;
}
