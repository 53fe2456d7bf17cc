/**
 * What every arm-smmu-v3 driver path shares, before the series and with it:
 * the bus to the hardware, the platform, emulated memory, the CPU issuing
 * commands, arm_smmu_asid_lock, WARN reporting and allocation fault
 * injection. driver-invs extends it with what its arrays need.
 */
import { type BusPort, type Clock, type Memory, type Mutex, newLock, type Platform } from "../../src/index.js";

/** The allocations of the paths both drivers have that a scenario can make fail: the master_domain, CD tables. */
export const BASE_ALLOC_SITES: readonly string[] = ["master_domain", "cd_table"];

/**
 * Deliberate breakages of the driver's orderings, for the explorer's tests
 * (test/explore/broken-drivers.test.ts) to find: no .smmu file and no
 * command line can choose them. Each names the line the kernel has and the
 * breakage leaves out or moves.
 */
export type Mutation =
  /** arm_smmu_install_new_domain_invs() after the STE/CD writes, not before */
  | "publish-after-ste"
  /** arm_smmu_install_old_domain_invs() before the STE/CD writes, not after */
  | "retire-before-ste"
  /** the replaced array freed at once (kfree()), not after a grace period (kfree_rcu()) */
  | "kfree-not-rcu"
  /** arm_smmu_invs_unref() trims num_invs without write_lock_irqsave(&invs->rwlock) */
  | "unlocked-trim"
  /** the TLBI batch and the ATC_INV batch submitted as one, with no CMD_SYNC between */
  | "no-sync-before-ats"
  /** no smp_mb() before the array load in arm_smmu_domain_inv_range() */
  | "no-smp-mb"
  /** no dma_wmb() at the top of arm_smmu_write_entry() */
  | "no-dma-wmb";

const NO_MUTATIONS: ReadonlySet<Mutation> = new Set();

export class DriverContext {
  /**
   * arm_smmu_asid_lock (DEFINE_MUTEX in arm-smmu-v3.c): held across every
   * attach's prepare/install/commit, so attaches are serialised while
   * invalidations (which never take it) run alongside them.
   */
  readonly asidLock: Mutex = newLock();
  private readonly failures = new Map<string, number>();

  constructor(
    /** The driver plugin's name, for its errors. */
    readonly plugin: string,
    readonly bus: BusPort,
    readonly platform: Platform,
    readonly memory: Memory,
    readonly clock: Clock,
    /** Allocation sites a scenario can make fail. */
    readonly allocSites: readonly string[],
    /** Deliberate breakages (tests only). */
    readonly mutations: ReadonlySet<Mutation> = NO_MUTATIONS,
  ) {}

  /** Make the next `count` allocations at `site` fail; a site this driver does not have is an error. */
  failAllocs(site: string, count = 1): void {
    if (!this.allocSites.includes(site)) {
      throw new Error(`${this.plugin} has no allocation site "${site}" (${this.allocSites.join(", ")})`);
    }
    this.failures.set(site, (this.failures.get(site) ?? 0) + count);
  }

  /** kzalloc() at `site`: false if fault injection makes it fail. */
  kzalloc(site: string): boolean {
    const n = this.failures.get(site) ?? 0;
    if (n === 0) return true;
    this.failures.set(site, n - 1);
    return false;
  }

  /** The CPU the current path runs on: the source of the commands it issues. */
  get cpu(): string {
    return this.clock.cpu;
  }

  /** WARN_ON() in `fn` fired: `cond` is the condition as the source writes it. */
  warn(fn: string, cond: string): void {
    this.bus.emit("driver:warn", { fn, cond });
  }

  /** dev_err() / dev_warn() in `fn`; `info` for what the model says where the kernel prints nothing. */
  log(fn: string, level: "err" | "warn" | "info", msg: string): void {
    this.bus.emit("driver:log", { fn, level, msg });
  }

  /**
   * `return -errno;` from `fn` because `cond` holds (the kernel's test, in
   * its words): the report names it. `lacks` marks a limit of the driver or
   * its variant (a domain on a second SMMU) rather than of the platform.
   */
  errno(fn: string, errno: number, cond: string, lacks = false): number {
    this.bus.emit("driver:errno", { fn, errno, cond, ...(lacks ? { lacks } : {}) });
    return -errno;
  }
}

