/**
 * struct arm_smmu_domain before the series: bound to ONE SMMU, with the list
 * of its masters (smmu_domain->devices, under devices_lock) and the count of
 * those with ATS on (nr_ats_masters), both kept by the attach paths of
 * ../arm-smmu-v3, and its one ASID or VMID.
 */
/* the public API first, as every plugin module: it loads the built-in plugins in order, and they import ../arm-smmu-v3 back */
import "../../src/index.js";
import { SmmuDomain } from "../arm-smmu-v3/index.js";

/** A paging or SVA domain of the driver before the series, bound to its SMMU. */
export class LegacyDomain extends SmmuDomain {
  /** The IOTLB tag its invalidations cover: "smmu0 asid 1" or "smmu0 vmid 2" (null until bound). */
  get tag(): string | null {
    if (!this.smmu) return null;
    return this.stage === "S2" ? `${this.smmu.name} vmid ${this.vmid}` : `${this.smmu.name} asid ${this.asid}`;
  }
}
