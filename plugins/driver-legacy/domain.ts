/**
 * struct arm_smmu_domain before the series: bound to ONE SMMU, with the list
 * of its masters (smmu_domain->devices, under devices_lock) and the count of
 * those with ATS on (nr_ats_masters), both kept by the attach paths of
 * ../arm-smmu-v3. And an mm used with SVA, which the iommu core gives one
 * SVA domain per SMMU.
 */
import { type DomainSpec, type DriverDomain, type Memory, PageTable, pgsizeBitmapFor, type SmmuNode } from "../../src/index.js";
import { MmStruct, SmmuDomain } from "../arm-smmu-v3/index.js";

/** A paging or SVA domain of the driver before the series, bound to its SMMU. */
export class LegacyDomain extends SmmuDomain {
  /** smmu_domain->smmu, set by arm_smmu_domain_finalise() (or arm_smmu_sva_domain_alloc()) */
  smmu: SmmuNode | null = null;

  /** s2_cfg.vmid: one VMID, from its SMMU's space (0 until finalised) */
  get vmid(): number {
    return this.smmu ? (this.vmids.get(this.smmu.name) ?? 0) : 0;
  }

  /** The IOTLB tag its invalidations cover: "smmu0 asid 1" or "smmu0 vmid 2" (null until finalised). */
  get tag(): string | null {
    if (!this.smmu) return null;
    return this.stage === "S2" ? `${this.smmu.name} vmid ${this.vmid}` : `${this.smmu.name} asid ${this.asid}`;
  }
}

/**
 * A process bound with SVA: its page table, and the SVA domains the iommu
 * core allocated for it (mm->iommu_mm->sva_domains, newest first). A domain
 * belongs to one SMMU, so binding a device behind another SMMU makes the
 * core allocate another domain, with its own ASID and mmu notifier.
 */
export class SvaMm implements DriverDomain {
  readonly pgtable: PageTable;
  readonly pgtablePa: bigint;
  readonly domains: LegacyDomain[] = [];
  /** The process's mm_struct: its users, and whether its notifiers were released (every SVA domain's domain->mm). */
  readonly mm = new MmStruct();

  constructor(
    readonly name: string,
    readonly spec: DomainSpec,
    memory: Memory,
    /**
     * The ASID the declaration reserved (as driver-invs allocates one per
     * declared domain): the first SVA domain takes it, so both drivers
     * number alike; later ones allocate their own.
     */
    public reservedAsid: number | undefined,
  ) {
    this.pgtable = new PageTable(pgsizeBitmapFor(spec.pageSize ?? 0x1000), memory);
    this.pgtablePa = this.pgtable.pa;
  }
}
