/**
 * The execution a schedule explorer drives, as the models see it from inside
 * a step (model/step.ts's Explored): the running agent, the memory model
 * (core/weak-memory.ts), and the shared accesses the step makes, for
 * partial-order reduction.
 */
import { enterExec, exec, waitStep, type AccessKind, type Explored, type RmwOrder, type SharedAccess, type Step } from "../model/step.js";
import { WeakMemory, type MemoryModel } from "./weak-memory.js";

export class Exec implements Explored {
  /** The agent whose step is running ("cpu0", "smmu1", "dma2"). */
  agent = "";
  /** The accesses of the running step, in order. */
  accesses: SharedAccess[] = [];
  readonly wm: WeakMemory;
  private readonly cpus: ReadonlySet<string>;
  private readonly names = new WeakMap<object, string>();
  private counts = new Map<string, number>();

  constructor(
    readonly model: MemoryModel,
    cpus: readonly string[],
  ) {
    this.cpus = new Set(cpus);
    this.wm = new WeakMemory(model, cpus, (location, kind) => this.accesses.push({ location, kind }));
  }

  /** Whether `agent` is a CPU (has a store buffer), not a device. */
  isCpu(agent: string = this.agent): boolean {
    return this.cpus.has(agent);
  }

  /**
   * A location name for `obj`, which the models do not name: the one it got
   * when it was made (born()), or, for an object no model registers,
   * numbered per `kind` in the order first touched ("lock?0").
   */
  nameOf(obj: object, kind: string): string {
    let name = this.names.get(obj);
    if (name === undefined) this.names.set(obj, (name = this.next(`${kind}?`)));
    return name;
  }

  /** `prefix` and how many names it has given before. */
  private next(prefix: string): string {
    const n = this.counts.get(prefix) ?? 0;
    this.counts.set(prefix, n + 1);
    return `${prefix}${n}`;
  }

  /**
   * `obj` was made: in a step, numbered among what its agent made ("invs#cpu1.0"), for
   * an agent makes the same objects in the same order whatever the others do;
   * outside steps (the scenario's prefix, the same in every execution), in order ("pt#3").
   */
  born(obj: object, kind: string): void {
    if (!this.names.has(obj)) this.names.set(obj, this.next(exec() === this ? `${kind}#${this.agent}.` : `${kind}#`));
  }

  /** `obj` was made as `part` of `parent`: "strtab#0[0x40]", whoever made it (a lazily made STE, or a CD fetched before it is written). */
  bornIn(obj: object, parent: object, part: string): void {
    if (!this.names.has(obj)) this.names.set(obj, `${this.nameOf(parent, "table")}[${part}]`);
  }

  /** An access the memory model has no part in (a command queue, a TLB): it orders steps, nothing more. */
  touch(location: string, kind: AccessKind): void {
    this.accesses.push({ location, kind });
  }

  /** What the running agent reads at `location`, the value in place being `current`: for another CPU's pending store, the value before it. */
  load<T>(location: string, current: T): T {
    return this.wm.load(this.agent, location, current);
  }

  /** The step before a store to `location` by the running agent: `at`, once no other CPU's stores to it are pending. */
  storeStep(at: Step, location: string): Step {
    const { wm, agent } = this;
    if (!this.isCpu(agent)) return waitStep(at, () => wm.writeReady(location), wm.waitAccesses("write", location));
    return waitStep(at, () => wm.storeReady(agent, location), wm.waitAccesses("store", location));
  }

  /** The store itself, after storeStep(), the value in place being `old` (write `value` in place after): others see it once it drains. */
  store(location: string, old: unknown, value: unknown, release = false): void {
    if (!this.isCpu()) this.wm.write(this.agent, location);
    else if (release) this.wm.storeRelease(this.agent, location, old, value);
    else this.wm.store(this.agent, location, old, value);
  }

  /** The step before smp_mb(): `at`, once the running CPU's store buffer has drained. */
  mbStep(at: Step): Step {
    const { wm, agent } = this;
    return waitStep(at, () => wm.mbReady(agent), wm.waitAccesses("mb"));
  }

  /** smp_mb(), after mbStep(). */
  mb(): void {
    this.wm.mb(this.agent);
  }

  /** smp_wmb(), wmb(), dma_wmb(): the running CPU's later stores drain after its earlier ones. */
  wmb(): void {
    this.wm.wmb(this.agent);
  }

  /** The step before an atomic read-modify-write of `order` on `location`; `free` too, for a lock. */
  rmwStep(at: Step, location: string, order: RmwOrder, free?: () => boolean): Step {
    const { wm, agent } = this;
    return waitStep(at, free ? () => free() && wm.rmwReady(agent, location, order) : () => wm.rmwReady(agent, location, order), wm.waitAccesses("rmw", location));
  }

  /** The read-modify-write itself, after rmwStep(): visible to all at once. */
  rmw(location: string, order: RmwOrder): void {
    this.wm.rmw(this.agent, location, order);
  }
}

/** Run `fn` as a step of `agent` in `e`; the accesses it made come back with its value. */
export function stepIn<T>(e: Exec, agent: string, fn: () => T): { value: T; accesses: SharedAccess[] } {
  const outer = enterExec(e);
  e.agent = agent;
  e.accesses = [];
  try {
    return { value: fn(), accesses: e.accesses };
  } finally {
    enterExec(outer);
  }
}
