/**
 * What every driver path shares: the bus to the hardware, the platform, the
 * variant being modelled, RCU, the CPU issuing commands, WARN reporting and
 * allocation fault injection.
 */
import { type BusPort, type Clock, type Memory, type Mutex, newLock, type Platform, Rcu, type SmmuNode } from "../../src/index.js";
import { invsAlloc, type Invs, type InvsHooks } from "./invs.js";
import type { DriverVariant } from "./variant.js";

/** Allocations a scenario can make fail: the invalidation arrays, the master_domain, CD tables. */
export type AllocSite = "invs" | "master_domain" | "cd_table";
export const ALLOC_SITES: readonly AllocSite[] = ["invs", "master_domain", "cd_table"];

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

export const DEFAULT_OPTIONS: DriverOptions = Object.freeze({ parallelSyncs: false });

export class DriverContext {
  readonly rcu = new Rcu();
  /**
   * arm_smmu_asid_lock (DEFINE_MUTEX in arm-smmu-v3.c): held across every
   * attach's prepare/install/commit, so attaches are serialised while
   * invalidations (which never take it) run alongside them.
   */
  readonly asidLock: Mutex = newLock();
  /** Domains whose array changed (published, or entries unref'd in place) since liveTags() last looked. */
  readonly changedInvs = new Set<string>();
  private readonly failures = new Map<AllocSite, number>();
  readonly hooks: InvsHooks;

  constructor(
    readonly bus: BusPort,
    readonly platform: Platform,
    readonly memory: Memory,
    readonly clock: Clock,
    readonly variant: DriverVariant,
    readonly options: DriverOptions = DEFAULT_OPTIONS,
  ) {
    this.hooks = {
      alloc: (n: number): Invs | null => (this.kzalloc("invs") ? invsAlloc(n) : null),
      warn: (fn: string, cond: string): void => this.warn(fn, cond),
    };
  }

  /** Make the next `count` allocations at `site` fail. */
  failAllocs(site: AllocSite, count = 1): void {
    this.failures.set(site, (this.failures.get(site) ?? 0) + count);
  }

  /** kzalloc() at `site`: false if fault injection makes it fail. */
  kzalloc(site: AllocSite): boolean {
    const n = this.failures.get(site) ?? 0;
    if (n === 0) return true;
    this.failures.set(site, n - 1);
    return false;
  }

  /** The CPU the current path runs on: the source of the commands it issues. */
  get cpu(): string {
    return this.clock.cpu;
  }

  warn(fn: string, cond: string): void {
    this.bus.emit("driver:warn", { fn, cond });
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
