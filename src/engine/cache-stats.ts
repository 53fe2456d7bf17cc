/**
 * A scenario's cache figures, per cache of each SMMU and endpoint (as
 * `cache:lookup` names them: "smmu0.iotlb", "smmu0.walk", "gpu0.atc"):
 * lookups that hit and missed, and entries invalidations removed; and per SMMU its table walks (one per stage walked), the table
 * entries they read and how many faulted. Counted from the bus as it runs.
 */
import type { Bus } from "../core/bus.js";

export interface CacheFigures {
  hits: number;
  misses: number;
  /** Entries that invalidations (TLBI_*, ATC Invalidate Requests) removed. */
  invalidated: number;
}

export interface WalkFigures {
  /** Walks of one stage each: a nested translation's are two. */
  walks: number;
  /** Table entries they read. */
  reads: number;
  /** Walks that ended in a fault. */
  faults: number;
}

export interface CacheStats {
  /** By cache name, sorted. */
  caches: Record<string, CacheFigures>;
  /** By SMMU, sorted. */
  walks: Record<string, WalkFigures>;
}

/** Counts a platform's cache and walk events as they come. */
export class CacheCounter {
  private readonly caches = new Map<string, CacheFigures>();
  private readonly walks = new Map<string, WalkFigures>();

  constructor(bus: Bus) {
    bus.on("cache:lookup", "cache-stats", (e) => void this.cache(e.cache)[e.hit ? "hits" : "misses"]++);
    bus.on("cache:invalidate", "cache-stats", (e) => void (this.cache(e.cache).invalidated += e.entries));
    bus.on("walk:done", "cache-stats", (e) => {
      let w = this.walks.get(e.smmu);
      if (!w) this.walks.set(e.smmu, (w = { walks: 0, reads: 0, faults: 0 }));
      w.walks++;
      w.reads += e.reads;
      if (!e.ok) w.faults++;
    });
  }

  private cache(name: string): CacheFigures {
    let c = this.caches.get(name);
    if (!c) this.caches.set(name, (c = { hits: 0, misses: 0, invalidated: 0 }));
    return c;
  }

  /** The figures so far; fromEntries defines each key as its own property (a node may be called "__proto__"). */
  stats(): CacheStats {
    const sorted = <T>(m: Map<string, T>): Record<string, T> => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, { ...v }]));
    return { caches: sorted(this.caches), walks: sorted(this.walks) };
  }
}
