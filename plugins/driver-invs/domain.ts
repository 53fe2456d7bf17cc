/**
 * The master and the domain as the series extends them: a master's scratch
 * array for building its entries, and a domain's RCU-protected invalidation
 * array.
 */
import { type EndpointNode, RcuPointer, type SmmuNode } from "../../src/index.js";
import { type IommuDomain, Master, SmmuDomain, toSmmuDomainDevices } from "../arm-smmu-v3/index.js";
import { invsAlloc, type Invs } from "./invs.js";

/** struct arm_smmu_master with the series: streams sorted at probe, and build_invs. */
export class InvsMaster extends Master {
  /**
   * master->build_invs: scratch for a to_merge or to_unref array, sized at
   * probe for every case (2 entries, plus one per StreamID for an ATS-capable
   * PCI device) so that building never allocates.
   */
  readonly buildInvs: Invs;

  constructor(dev: EndpointNode, smmu: SmmuNode) {
    super(dev, smmu, true);
    this.buildInvs = invsAlloc(dev.pci && dev.atsCapable ? 2 + dev.sids.length : 2);
  }
}

/** struct arm_smmu_domain with the series: its invalidation array. */
export class InvsDomain extends SmmuDomain {
  /** smmu_domain->invs, published with RCU; starts as arm_smmu_invs_alloc(0). */
  readonly invs = new RcuPointer<Invs>(invsAlloc(0));
}

/** The driver's own master of a master the shared attach paths hand back. */
export function asInvsMaster(master: Master): InvsMaster {
  if (!(master instanceof InvsMaster)) throw new Error(`${master.name} is not a driver-invs master`);
  return master;
}

/** to_smmu_domain_devices() of this driver: the domain whose array covers the attachment, if any. */
export function invsDomainOf(domain: IommuDomain | null): InvsDomain | null {
  const d = toSmmuDomainDevices(domain);
  if (d && !(d instanceof InvsDomain)) throw new Error(`${d.name} is not a driver-invs domain`);
  return d;
}
