/**
 * What driver-invs's paths share beyond every arm-smmu-v3 driver's context:
 * the variant being modelled, RCU for the arrays, the arrays' allocation and
 * WARN hooks, the driver's options, and which arrays changed.
 */
import { type BusPort, type Clock, type Memory, type Platform, Rcu, type SmmuNode } from "../../src/index.js";
import { BASE_ALLOC_SITES, DriverContext } from "../arm-smmu-v3/index.js";
import { invsAlloc, type Invs, type InvsHooks } from "./invs.js";
import type { DriverVariant } from "./variant.js";

/** Allocations a scenario can make fail: the invalidation arrays, and the master_domain and CD tables every driver allocates. */
const ALLOC_SITES: readonly string[] = ["invs", ...BASE_ALLOC_SITES];

/** Driver options: behaviour a scenario (or `compare`) switches on, beyond the kernel's. */
export interface DriverOptions {
  /**
   * Not in the kernel: arm_smmu_domain_inv_range() issues each SMMU's batch
   * with its CMD_SYNC and moves on to the next SMMU without waiting, then
   * waits for all of them at the end (the cover letter's "grouping SYNCs
   * together to parallelize invalidations", taken across SMMUs). A batch
   * still waits for the previous sync on its own SMMU, so ATS entries stay
   * after a completed sync of the S1/S2 invalidations.
   */
  readonly parallelSyncs: boolean;
}

export class InvsContext extends DriverContext {
  readonly rcu = new Rcu();
  /** Domains whose array changed (published, or entries unref'd in place) since liveTags() last looked. */
  readonly changedInvs = new Set<string>();
  readonly hooks: InvsHooks;

  constructor(
    bus: BusPort,
    platform: Platform,
    memory: Memory,
    clock: Clock,
    readonly variant: DriverVariant,
    readonly options: DriverOptions,
  ) {
    super("driver-invs", bus, platform, memory, clock, ALLOC_SITES, variant.mutations);
    this.hooks = {
      alloc: (n: number): Invs | null => (this.kzalloc("invs") ? invsAlloc(n) : null),
      warn: (fn: string, cond: string): void => this.warn(fn, cond),
    };
  }

  /** The SMMU an invalidation entry names by index. */
  smmuAt(index: number): SmmuNode {
    const smmu = this.platform.smmus()[index];
    if (!smmu || smmu.index !== index) throw new Error(`no SMMU with index ${index}`);
    return smmu;
  }

  /** The name of the SMMU at `index`, for reports. */
  smmuName(index: number): string {
    return this.platform.smmus()[index]?.name ?? String(index);
  }

  /** The index of the SMMU named `name`. */
  smmuIndex(name: string): number {
    return this.platform.smmu(name).index;
  }
}
