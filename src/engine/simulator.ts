/**
 * One emulated platform running one driver: the plugins set up from a
 * topology, and the operations a scenario performs on it. Each operation
 * runs the driver's stepped paths straight through under a step budget;
 * the oracle watches every translation a device gets.
 */
import { Bus } from "../core/bus.js";
import { Clock } from "../core/clock.js";
import { Memory } from "../core/memory.js";
import { Rng } from "../core/rng.js";
import { StepBudget } from "../core/steps.js";
import type { MemOp } from "../dsl/ast.js";
import type { Cmd } from "../model/commands.js";
import type { IommuDriver, InvsSnapshot } from "../model/driver.js";
import { exec, site, type Step, type Steps } from "../model/step.js";
import { DRIVER_NODE, type DriverSpec, type Topology } from "../model/topology.js";
import type { Access, TranslateResult } from "../model/translation.js";
import { PluginHost } from "../plugin/host.js";
import { Platform } from "../plugin/platform.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { IommuCore } from "./iommu-core.js";
import { Oracle, type OpRef, type Violation } from "./oracle.js";
import { threadPath, type Registers } from "./thread.js";
import type { ShowWhat } from "../dsl/ast.js";
import { invsLines } from "./expectations.js";
import { Timeline } from "./timeline.js";
import { assertNever } from "../model/assert-never.js";
import { hex } from "../model/hex.js";


/** Concurrent operations whose steps a schedule explorer takes (Simulator.openBlock()). */
export interface ConcurrentBlock {
  /** Run operation `i` to its next step. */
  step(i: number): IteratorResult<Step, unknown>;
  /** Operation `i` has finished (or failed): its CPU is free again. */
  end(i: number): void;
}

/** One operation: a stepped path, named for the oracle and the report. */
export interface Op<T = unknown> {
  label: string;
  path: Steps<T>;
  /** where a file wrote it: "file:line:col" */
  at?: string;
}

const S_DMA = site("dma", "the device issues the transaction");

export interface SimulatorOptions {
  /** The plugins to set the platform up with (the library's Simulator defaults to the built-in ones). */
  registry: PluginRegistry;
  /** Override the topology's driver (plugin and variant). */
  driver?: DriverSpec;
  /** Steps one operation may take before it is stopped as a livelock. */
  stepLimit?: number;
  /** Called every TICK_STEPS steps of an operation (a progress line redraws while one runs long). */
  onSteps?: () => void;
  /** Shape-check the events of built-in plugins too (a user's plugins are always checked). */
  checkPlugins?: boolean;
  /** Leaves the page tables may hold at once (DEFAULT_MAX_PTES): a map beyond it throws PteLimitError. */
  maxPtes?: number;
  /**
   * Keep every span of the run in `timeline` (true by default). A long run
   * that only needs its figures leaves it off and listens to the timeline.
   */
  keepSpans?: boolean;
}

/** The commands one SMMU received: always counted, kept while someone may look at them. */
class CommandLog {
  /** How many commands were received before kept[0]. */
  base = 0;
  kept: Cmd[] = [];
  count = 0;
  syncs = 0;
  keep = true;

  forget(): void {
    this.base = this.count;
    this.kept = [];
  }
}

export class Simulator {
  readonly bus = new Bus();
  readonly clock = new Clock();
  readonly memory = new Memory();
  readonly platform = new Platform();
  readonly driver: IommuDriver;
  /**
   * The driver the topology and options chose: the plugin's name (not the
   * driver object's `plugin`, which a plugin extending another may take from
   * its base) and the variant, the plugin's first by default.
   */
  readonly chosenDriver: { readonly plugin: string; readonly variant: string };
  readonly oracle: Oracle;
  /** Everything that took simulated time, for metrics and traces. */
  readonly timeline: Timeline;
  /** The iommu core between the scenario and the driver (it holds iommu_sva_lock). */
  readonly core: IommuCore;
  /** The values plugins exposed for `expect state`, by node. */
  readonly states: ReadonlyMap<string, ReadonlyMap<string, number | string | boolean>>;
  /** The shared variables litmus threads store to and load from (0 until stored): plain memory, no SMMU's state. */
  readonly vars = new Map<string, number>();
  private readonly logs = new Map<string, CommandLog>();
  private readonly stepLimit: number | undefined;
  private readonly onSteps: (() => void) | undefined;
  private seq = 0;

  constructor(
    readonly topology: Topology,
    options: SimulatorOptions,
  ) {
    const host = new PluginHost(options.registry, this, options.checkPlugins);
    this.states = host.states;
    this.stepLimit = options.stepLimit;
    this.onSteps = options.onSteps;
    this.bus.on("cmd:queued", "simulator", (e) => {
      const log = this.log(e.smmu);
      log.count++;
      if (e.cmd.op === "CMD_SYNC") log.syncs++;
      if (log.keep) log.kept.push(e.cmd);
    });
    const taken = [...topology.smmus, ...topology.devices, ...(topology.vsmmus ?? [])].find((n) => n.name === DRIVER_NODE);
    if (taken) throw new Error(`a node cannot be called "${DRIVER_NODE}": that is the driver's name`);
    for (const spec of topology.smmus) this.platform.add(host.setup("smmu", spec.plugin, spec.name, spec));
    for (const spec of topology.devices) this.platform.add(host.setup("device", spec.plugin, spec.name, spec));
    for (const spec of topology.vsmmus ?? []) this.platform.add(host.setup("vsmmu", spec.plugin, spec.name, spec));
    const driverSpec = { ...topology.driver, ...options.driver };
    const driverPlugin = options.registry.resolve("driver", driverSpec.plugin);
    /* the chosen plugin's default variant, for the plugins it extends too */
    const variant = driverSpec.variant ?? driverPlugin.variants[0];
    this.driver = host.setup("driver", driverPlugin.name, DRIVER_NODE, variant === undefined ? driverSpec : { ...driverSpec, variant });
    this.chosenDriver = { plugin: driverPlugin.name, variant: variant ?? this.driver.variant };
    this.oracle = new Oracle(this.bus, this.memory, this.platform, this.driver);
    this.timeline = new Timeline(this.bus, this.clock, { keep: options.keepSpans ?? true });
    this.core = new IommuCore(
      this.bus,
      this.driver,
      this.timeline,
      new Set(topology.domains.filter((d) => d.stage === "sva").map((d) => d.name)),
      options.maxPtes,
    );
  }

  /** Run one operation straight through, on cpu0. */
  run<T>(op: Op<T>): T {
    const ref: OpRef = { seq: ++this.seq, label: op.label, at: op.at, cpu: "cpu0" };
    this.begin(ref);
    try {
      return new StepBudget(this.stepLimit, this.onSteps).run(op.path);
    } finally {
      this.end(ref);
    }
  }

  private begin(ref: OpRef): void {
    this.clock.begin(ref.cpu);
    this.timeline.begin(ref, this.clock.now);
    this.oracle.begin(ref);
  }

  private end(ref: OpRef): void {
    this.oracle.end(ref);
    this.clock.cpu = ref.cpu;
    this.timeline.end(ref, this.clock.cpuNow);
    this.clock.end(ref.cpu);
  }

  /**
   * Run operations concurrently, as on separate CPUs: at every step a PRNG
   * seeded with `seed` picks which one advances, so each seed is one
   * interleaving, reproducible. Results come back in the order given.
   */
  runConcurrently(ops: readonly Op[], seed: number): unknown[] {
    const rng = new Rng(seed);
    const budget = new StepBudget(this.stepLimit, this.onSteps);
    const refs = ops.map((op, i): OpRef => ({ seq: ++this.seq, label: op.label, at: op.at, cpu: `cpu${i}` }));
    const results: unknown[] = new Array<unknown>(ops.length);
    const live = ops.map((_, i) => i);
    refs.forEach((r) => this.begin(r));
    try {
      while (live.length) {
        const k = rng.below(live.length);
        const i = live[k]!;
        this.oracle.begin(refs[i]!);
        this.clock.cpu = refs[i]!.cpu;
        const r = budget.step(ops[i]!.path);
        if (r.done) {
          results[i] = r.value;
          live.splice(k, 1);
          this.end(refs[i]!);
        }
      }
    } finally {
      for (const i of live) this.end(refs[i]!);
    }
    return results;
  }

  /**
   * Operations run concurrently under a schedule explorer, which decides
   * every step: the caller steps each operation (as on its own CPU, or
   * device for a DMA) and ends it, as runConcurrently() does for a seed.
   */
  openBlock(ops: readonly Op[], agents: readonly string[]): ConcurrentBlock {
    const refs = ops.map((op, i): OpRef => ({ seq: ++this.seq, label: op.label, at: op.at, cpu: agents[i]! }));
    refs.forEach((r) => this.begin(r));
    return {
      step: (i) => {
        this.oracle.begin(refs[i]!);
        this.clock.cpu = refs[i]!.cpu;
        return ops[i]!.path.next();
      },
      end: (i) => this.end(refs[i]!),
    };
  }

  /** The operations a scenario performs, as stepped paths for run() or runConcurrently(). */
  readonly ops = {
    /** iommu_attach_device(): a domain, "blocked" or "identity"; 0 or -errno. */
    attach: (device: string, target: string, at?: string): Op<number> => ({
      label: `attach ${device} ${target}`,
      path: this.core.attachDev(device, target),
      at,
    }),
    /** iommu_attach_device_pasid(): attach `domain` at `pasid` (an SVA domain: iommu_sva_bind_device()); 0 or -errno. */
    attachPasid: (device: string, domain: string, pasid: number, at?: string): Op<number> => ({
      label: `attach ${device} ${domain} pasid ${pasid}`,
      path: this.core.attachDevPasid(device, domain, pasid),
      at,
    }),
    /** The blocked domain's ->set_dev_pasid(): detach whatever is at `pasid` (a bind's: iommu_sva_unbind_device()). */
    detachPasid: (device: string, pasid: number, at?: string): Op<void> => ({
      label: `detach ${device} pasid ${pasid}`,
      path: this.core.detachDevPasid(device, pasid),
      at,
    }),
    /** iommu_map(); `pa` defaults to fresh, suitably aligned memory. */
    map: (domain: string, iova: number, size: number, opts: { pa?: number; writable?: boolean; at?: string } = {}): Op<unknown> => ({
      label: `map ${domain} ${hex(iova)} size ${hex(size)}`,
      path: this.core.map(this.driver.domain(domain), iova, size, opts.pa ?? this.core.allocPa(size), opts.writable ?? true),
      at: opts.at,
    }),
    /** iommu_unmap() (or munmap() for an SVA domain) */
    unmap: (domain: string, iova: number, size: number, at?: string): Op<unknown> => ({
      label: `unmap ${domain} ${hex(iova)} size ${hex(size)}`,
      path: this.core.unmap(this.driver.domain(domain), iova, size),
      at,
    }),
    /** iommu_flush_iotlb_all() */
    flush: (domain: string, at?: string): Op<void> => ({
      label: `flush ${domain}`,
      path: this.core.invalidation("flush_iotlb_all", domain, this.driver.flushIotlbAll(domain)),
      at,
    }),
    /** The mmu notifier's invalidation of [start, end) of an SVA domain's mm. */
    mmInvalidate: (domain: string, start: bigint, end: bigint, at?: string): Op<void> => ({
      label: `mm invalidate ${domain}`,
      path: this.core.invalidation("mm_invalidate", domain, this.driver.mmInvalidate(domain, start, end)),
      at,
    }),
    /** The process exits: its mm's mmu notifiers' release() (at the mm's last mmput()). */
    mmRelease: (domain: string, at?: string): Op<void> => ({
      label: `mm release ${domain}`,
      path: this.core.invalidation("mm_release", domain, this.driver.mmRelease(domain)),
      at,
    }),
    /** IOMMU_HWPT_INVALIDATE on vSMMU `vsmmu`: the guest's commands, through arm_vsmmu_cache_invalidate(). */
    vsmmuInvalidate: (vsmmu: string, cmds: readonly Cmd[], at?: string): Op<{ ret: number; entryNum: number }> => ({
      label: `vsmmu ${vsmmu} invalidate`,
      path: this.driver.vsmmuInvalidate(vsmmu, cmds),
      at,
    }),
    /** A litmus thread: its memory operations on the shared variables, a step each; its registers. */
    thread: (ops: readonly MemOp[], at?: string): Op<Registers> => ({
      label: "thread",
      path: threadPath(this.vars, ops),
      at,
    }),
    /** A DMA: one step, the transaction. */
    dma: (device: string, access: Access, iova: number, opts: { pasid?: number; sid?: number; at?: string } = {}): Op<TranslateResult> => ({
      label: `dma ${device} ${access} ${hex(iova)}`,
      path: this.dmaPath(device, access, iova, opts),
      at: opts.at,
    }),
  };

  /** Under a schedule explorer, the DMA's own steps (ATC, STE/CD fetch, TLB, each walk read, fills); one step otherwise. */
  private *dmaPath(device: string, access: Access, iova: number, opts: { pasid?: number; sid?: number }): Steps<TranslateResult> {
    yield S_DMA;
    if (!exec()) return this.dma(device, access, iova, opts);
    const steps = this.bus.request("ep:dma-steps", device, { iova, access, pasid: opts.pasid ?? null, sid: opts.sid });
    return this.dmaDone(device, access, iova, opts, (yield* steps).result);
  }

  /** Say how a DMA ended (`dma:done`, for the log and the trace), whichever endpoint model served it. */
  private dmaDone(device: string, access: Access, iova: number, opts: { pasid?: number; sid?: number }, r: TranslateResult): TranslateResult {
    if (!this.bus.hears("dma:done")) return r;
    const sid = opts.sid ?? this.platform.device(device).sids[0]!;
    const done = { device, sid, pasid: opts.pasid ?? null, iova, access };
    switch (r.kind) {
      case "ok":
        this.bus.emit("dma:done", { ...done, result: r.kind, via: r.via, pa: r.t.pa + (iova - r.t.base) });
        break;
      case "fault":
        this.bus.emit("dma:done", { ...done, result: r.kind, event: r.event, detail: r.detail });
        break;
      case "abort":
        this.bus.emit("dma:done", { ...done, result: r.kind, detail: r.detail });
        break;
      default:
        assertNever(r);
    }
    return r;
  }

  attach(device: string, target: string, at?: string): number {
    return this.run(this.ops.attach(device, target, at));
  }

  attachPasid(device: string, domain: string, pasid: number, at?: string): number {
    return this.run(this.ops.attachPasid(device, domain, pasid, at));
  }

  detachPasid(device: string, pasid: number, at?: string): void {
    this.run(this.ops.detachPasid(device, pasid, at));
  }

  map(domain: string, iova: number, size: number, opts: { pa?: number; writable?: boolean; at?: string } = {}): void {
    this.run(this.ops.map(domain, iova, size, opts));
  }

  unmap(domain: string, iova: number, size: number, at?: string): void {
    this.run(this.ops.unmap(domain, iova, size, at));
  }

  invalidateAll(domain: string, at?: string): void {
    this.run(this.ops.flush(domain, at));
  }

  /** The whole mm by default. */
  mmInvalidate(domain: string, start = 0n, end = (1n << 64n) - 1n, at?: string): void {
    this.run(this.ops.mmInvalidate(domain, start, end, at));
  }

  mmRelease(domain: string, at?: string): void {
    this.run(this.ops.mmRelease(domain, at));
  }

  /** The guest's commands on vSMMU `vsmmu`: 0 or -errno, and entry_num. */
  vsmmuInvalidate(vsmmu: string, cmds: readonly Cmd[], at?: string): { ret: number; entryNum: number } {
    return this.run(this.ops.vsmmuInvalidate(vsmmu, cmds, at));
  }

  /** A DMA by `device` through its SMMU. */
  dma(device: string, access: Access, iova: number, opts: { pasid?: number; sid?: number } = {}): TranslateResult {
    return this.dmaDone(device, access, iova, opts, this.bus.request("ep:dma", device, { iova, access, pasid: opts.pasid ?? null, sid: opts.sid }).result);
  }

  /** Make the driver's next `count` allocations at `site` fail. */
  failAllocs(site: string, count = 1): void {
    this.driver.failAllocs(site, count);
  }

  /** Turn an endpoint fault (e.g. "atc_no_response") on or off. */
  inject(device: string, fault: string, on = true): void {
    const ep = this.platform.device(device);
    if (!ep.inject) throw new Error(`${device} has no injectable faults`);
    ep.inject(fault, on);
  }

  private log(smmu: string): CommandLog {
    let log = this.logs.get(smmu);
    if (!log) this.logs.set(smmu, (log = new CommandLog()));
    return log;
  }

  /**
   * The commands `smmu` has received, CMD_SYNC included, in order: from the
   * `from`th on (by default, all that are kept).
   */
  commands(smmu: string, from?: number): Cmd[] {
    this.platform.smmu(smmu);
    const log = this.logs.get(smmu);
    if (!log) return [];
    const start = from ?? log.base;
    if (start < log.base) throw new Error(`the commands ${smmu} received before the ${log.base}th were not kept`);
    return log.kept.slice(start - log.base);
  }

  /** How many commands `smmu` has received. */
  commandCount(smmu: string): number {
    return this.logs.get(smmu)?.count ?? 0;
  }

  /** How many of them were CMD_SYNCs. */
  syncCount(smmu: string): number {
    return this.logs.get(smmu)?.syncs ?? 0;
  }

  /** Stop keeping the commands `smmu` received so far: commands() starts after them (they are still counted). */
  forgetCommands(smmu: string): void {
    this.log(smmu).forget();
  }

  /** Keep the commands `smmu` receives from now on (the default), or only count them. */
  keepCommands(smmu: string, keep: boolean): void {
    const log = this.log(smmu);
    log.keep = keep;
    if (!keep) log.forget();
  }

  /** Forget the commands received so far, and their counts (to look at one operation's). */
  clearCommands(): void {
    for (const log of this.logs.values()) {
      log.count = log.syncs = 0;
      log.forget();
    }
  }

  /**
   * What a `show` statement prints: a domain's invalidation array, the STE
   * of each of a device's StreamIDs or the CD at a PASID of its first (as its
   * SMMU would read them now), an SMMU's TLB and walk cache, or an
   * endpoint's ATC; asked of the plugins that model them.
   */
  show(what: ShowWhat, target: string, pasid = 0): string[] {
    const indent = (lines: readonly string[]): string[] => lines.map((l) => `  ${l}`);
    switch (what) {
      case "invs":
        return invsLines(this.invs(target), `${this.driver.plugin} keeps no invalidation array for ${target}`);
      case "iotlb":
        return this.bus.request("smmu:show", target, { what: "iotlb" }).lines;
      case "atc":
        return this.bus.request("ep:show", target, { what: "atc" }).lines;
      case "ste": {
        const dev = this.platform.device(target);
        return dev.sids.flatMap((sid) => [`sid ${hex(sid)}`, ...indent(this.bus.request("smmu:show", dev.smmu, { what: "ste", sid }).lines)]);
      }
      case "cd": {
        const dev = this.platform.device(target);
        const sid = dev.sids[0]!;
        return [`sid ${hex(sid)} ssid ${pasid}`, ...indent(this.bus.request("smmu:show", dev.smmu, { what: "cd", sid, ssid: pasid }).lines)];
      }
    }
  }

  /** A domain's invalidation array; a process's lists every SVA domain it has (the iommu core's). */
  invs(domain: string): InvsSnapshot | null {
    return this.core.invs(domain);
  }

  get violations(): readonly Violation[] {
    return this.oracle.violations;
  }
}
