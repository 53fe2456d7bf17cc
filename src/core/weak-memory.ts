/**
 * Weak memory as delayed visibility, for a step-driven emulator whose shared
 * state is written in place (JS objects, typed arrays).
 *
 * A CPU's store applies in place at once, so the CPU reads its own stores
 * back (store forwarding). Under `tso` and `arm` the model also records the
 * store as pending in the CPU's store buffer: every other observer (another
 * CPU, an SMMU's table walk or STE/CD fetch) still sees the value from before
 * the store, through {@link WeakMemory.load}, until the store drains. A drain
 * is a scheduling choice of the buffer's agent ("cpu0.sb"), offered through
 * {@link WeakMemory.drainable} and taken with {@link WeakMemory.drain}.
 *
 * - `sc`: nothing is ever pending; every access is recorded on its location.
 * - `tso` (x86-TSO, Sewell et al.): each buffer drains in program order.
 * - `arm` (Armv8, other-multi-copy-atomic): pending stores to different
 *   locations drain in any order; to one location, in program order. A write
 *   barrier (smp_wmb, wmb, dma_wmb) keeps every later store from draining
 *   before every earlier one; a release store (smp_store_release,
 *   rcu_assign_pointer, spin_unlock, mutex_unlock) drains only after every
 *   earlier store of its CPU, while later stores may still pass it.
 *
 * Loads are never reordered, in any model: a CPU's loads see memory in its
 * program order, so a reader needs no barrier or dependency of its own here
 * (stronger than Arm and the LKMM; docs/explore.md lists what that hides).
 *
 * Coherence with in-place values: at most one CPU has pending stores to a
 * location at a time. A CPU that is to store to a location another CPU has
 * pending stores to waits ({@link WeakMemory.storeReady}) until those drain,
 * and so do read-modify-writes and device writes ({@link WeakMemory.rmwReady},
 * {@link WeakMemory.writeReady}); the value in place is then always the newest
 * in coherence order. The cost: coherence order follows execution order, and
 * patterns needing the opposite (2+2W under arm) cannot appear. A caller that
 * does not wait gets the same state by a forced drain inside its step (counted
 * in {@link WeakMemory.forced}), but then the drains are not steps of the
 * store buffer's agent, and partial-order reduction can miss reorderings.
 *
 * Every access is reported to an {@link AccessSink} with the location it
 * touches, so that a schedule explorer sees which steps conflict. Under tso
 * and arm, "x" is the value other observers see: loads read it; drains, rmws
 * and device writes write it. A buffered store does not change it (a load by
 * another CPU reads the same value before and after) but reads it, since a
 * drain of x can let it run, and writes "x'", the value in place, as rmws
 * and device writes do too, so that two agents' stores to x conflict. And
 * store slots ("cpu0#3", the CPU's fourth store): a store writes its slot,
 * its drain writes it again and reads the slots of the stores it had to wait
 * for, and smp_mb() reads the slots of every store since the CPU's previous
 * full barrier. Thus every step that lets another step run, or changes what
 * it does, conflicts with it, as partial-order reduction needs.
 */
import type { AccessKind, RmwOrder } from "../model/step.js";

/** The memory models of `smmu-emu explore --memory`. */
export type MemoryModel = "sc" | "tso" | "arm";

/** Where the model reports each access it makes. */
export type AccessSink = (location: string, kind: AccessKind) => void;


interface PendingStore {
  /** The CPU's store number: the drain agent's option for it. */
  readonly seq: number;
  readonly location: string;
  /** What other observers see once it drains. */
  readonly value: unknown;
  /** Write-barrier epoch: a store drains only after every store of an earlier epoch. */
  readonly epoch: number;
  readonly release: boolean;
  /** Slots of the stores it waits for (beyond its location), reported when it drains. */
  readonly after: readonly string[];
}

/** The value other observers see at a location some CPU has pending stores to. */
interface Committed {
  value: unknown;
  owner: StoreBuffer;
  count: number;
}

class StoreBuffer {
  readonly pending: PendingStore[] = [];
  nextSeq = 0;
  epoch = 0;
  /** Slots of the stores of the current epoch, and of the last earlier epoch that had stores. */
  group: string[] = [];
  prevGroup: readonly string[] = [];
  groupEpoch = 0;
  /** Slots of every store since the last full barrier. */
  sinceMb: string[] = [];

  constructor(readonly cpu: string) {}

  slot(seq: number): string {
    return `${this.cpu}#${seq}`;
  }
}

const NO_SINK: AccessSink = () => {};

/** The access name of a location's value in place (its newest store), as opposed to the value others see. */
function newest(location: string): string {
  return `${location}'`;
}

export class WeakMemory {
  private readonly buffers = new Map<string, StoreBuffer>();
  private readonly committed = new Map<string, Committed>();
  /** Drains done inside another step because its caller did not wait (see the module comment). */
  forced = 0;

  /**
   * `cpus` name the agents with store buffers; any other observer (an SMMU,
   * a device) reads what the CPUs' drained stores left and writes directly.
   */
  constructor(
    readonly model: MemoryModel,
    readonly cpus: readonly string[],
    private readonly sink: AccessSink = NO_SINK,
  ) {
    for (const c of cpus) this.buffers.set(c, new StoreBuffer(c));
  }

  /**
   * The value `observer` reads at `location`, where `current` is the value in
   * place: the CPU's own newest store, or for anyone else the value from
   * before the pending stores (READ_ONCE(), a plain load, an SMMU fetch).
   */
  load<T>(observer: string, location: string, current: T): T {
    this.sink(location, "read");
    const c = this.committed.get(location);
    if (!c || c.owner.cpu === observer) return current;
    return c.value as T;
  }

  /** Whether `cpu` may store to `location` now: no other CPU has stores to it pending. */
  storeReady(cpu: string, location: string): boolean {
    const c = this.committed.get(location);
    return !c || c.owner.cpu === cpu;
  }

  /**
   * A plain store or WRITE_ONCE() by `cpu`, once {@link storeReady}: call it
   * with the value in place before the store (`old`) and the value stored,
   * then write in place.
   */
  store(cpu: string, location: string, old: unknown, value: unknown): void {
    this.put(cpu, location, old, value, false);
  }

  /** smp_store_release(), rcu_assign_pointer(), and the store of spin_unlock() and mutex_unlock(). */
  storeRelease(cpu: string, location: string, old: unknown, value: unknown): void {
    this.put(cpu, location, old, value, true);
  }

  /** smp_wmb(), wmb(), dma_wmb(): stores after it drain only after every store before it. */
  wmb(cpu: string): void {
    if (this.model !== "arm") return;
    const b = this.buffer(cpu);
    if (b.group.length > 0 && b.groupEpoch === b.epoch) b.epoch++;
  }

  /** Whether smp_mb() by `cpu` may complete: its buffer is empty. */
  mbReady(cpu: string): boolean {
    return this.model === "sc" || this.buffer(cpu).pending.length === 0;
  }

  /** smp_mb(), mb(), once {@link mbReady}: later loads see what every CPU's drained stores left. */
  mb(cpu: string): void {
    if (this.model === "sc") return;
    this.fullBarrier(this.buffer(cpu));
  }

  /**
   * Whether `agent` may do an atomic read-modify-write (or lock operation) of
   * `order` on `location` now: no other CPU has stores to it pending, and of
   * the agent's own stores none to it, or none at all for a `full` or
   * `release` rmw and for any rmw under tso (a locked instruction).
   */
  rmwReady(agent: string, location: string, order: RmwOrder): boolean {
    if (this.model === "sc") return true;
    const c = this.committed.get(location);
    if (c && c.owner.cpu !== agent) return false;
    const own = this.buffers.get(agent);
    if (!own || own.pending.length === 0) return true;
    return order !== "full" && order !== "release" && this.model !== "tso" && !c;
  }

  /**
   * An atomic read-modify-write or lock operation by `agent` on `location`,
   * once {@link rmwReady}: call it, then read and write in place. An rmw is
   * never buffered: every observer sees its store at once, so a release rmw
   * needs no drain after it, and the loads after an acquire are in order
   * anyway.
   */
  rmw(agent: string, location: string, order: RmwOrder): void {
    if (this.model !== "sc") {
      const own = this.buffers.get(agent);
      this.makeCoherent(location, own);
      if (own) {
        if (order === "full" || order === "release" || this.model === "tso") this.fullBarrier(own);
        else this.forceLocation(own, location);
      }
      this.sink(newest(location), "write");
    }
    this.sink(location, "rmw");
  }

  /** Whether an agent without a store buffer (an SMMU) may write `location` now: no CPU has stores to it pending. */
  writeReady(location: string): boolean {
    return !this.committed.has(location);
  }

  /** A store by an agent without a store buffer, once {@link writeReady}: visible to all at once. */
  write(agent: string, location: string): void {
    if (this.model !== "sc") {
      this.makeCoherent(location, this.buffers.get(agent));
      this.sink(newest(location), "write");
    }
    this.sink(location, "write");
  }

  /**
   * What a store, rmw, device write or smp_mb() that has to wait will touch,
   * as far as other steps disable and enable it: for an explorer's list of
   * waiting agents (the barrier waits only for its own CPU's drains).
   */
  waitAccesses(op: "store" | "rmw" | "write" | "mb", location = ""): { location: string; kind: AccessKind }[] {
    if (op === "mb") return [];
    const kind: AccessKind = op === "rmw" ? "rmw" : "write";
    if (this.model === "sc") return [{ location, kind }];
    return [
      { location, kind: op === "store" ? "read" : kind },
      { location: newest(location), kind: "write" },
    ];
  }

  /** The stores of `cpu` that may drain now (each the drain agent's option), oldest first. */
  drainable(cpu: string): number[] {
    const p = this.buffer(cpu).pending;
    if (p.length === 0) return [];
    if (this.model === "tso") return [p[0]!.seq];
    const out: number[] = [];
    for (let i = 0; i < p.length; i++) {
      if (this.canDrain(p, i)) out.push(p[i]!.seq);
    }
    return out;
  }

  /** Drain store `seq` of `cpu` (one of {@link drainable}); a label for the step. */
  drain(cpu: string, seq: number): string {
    const b = this.buffer(cpu);
    const i = b.pending.findIndex((s) => s.seq === seq);
    if (i < 0 || !(this.model === "tso" ? i === 0 : this.canDrain(b.pending, i))) {
      throw new Error(`weak memory: ${cpu}'s store #${seq} cannot drain now (drainable: ${this.drainable(cpu).join(", ") || "none"})`);
    }
    const s = b.pending[i]!;
    this.commit(b, i);
    return `drain ${s.location} (store #${s.seq})`;
  }

  /** How many stores `cpu` has pending. */
  pending(cpu: string): number {
    return this.buffer(cpu).pending.length;
  }

  private buffer(cpu: string): StoreBuffer {
    const b = this.buffers.get(cpu);
    if (!b) throw new Error(`weak memory: "${cpu}" is not a CPU (cpus: ${this.cpus.join(", ")})`);
    return b;
  }

  private put(cpu: string, location: string, old: unknown, value: unknown, release: boolean): void {
    if (this.model === "sc") {
      this.sink(location, "write");
      return;
    }
    const b = this.buffer(cpu);
    this.makeCoherent(location, b);
    let c = this.committed.get(location);
    if (!c) {
      c = { value: old, owner: b, count: 0 };
      this.committed.set(location, c);
    }
    c.count++;
    const seq = b.nextSeq++;
    const slot = b.slot(seq);
    if (b.groupEpoch !== b.epoch) {
      b.prevGroup = b.group;
      b.group = [];
      b.groupEpoch = b.epoch;
    }
    let after: readonly string[];
    if (this.model === "tso") after = seq > 0 ? [b.slot(seq - 1)] : [];
    else after = release ? [...b.prevGroup, ...b.group] : b.prevGroup;
    b.group.push(slot);
    b.sinceMb.push(slot);
    b.pending.push({ seq, location, value, epoch: b.epoch, release, after });
    this.sink(location, "read");
    this.sink(newest(location), "write");
    this.sink(slot, "write");
  }

  /** Under arm: pending[i] has no earlier pending store to its location, of an earlier epoch, or at all if it is a release. */
  private canDrain(p: readonly PendingStore[], i: number): boolean {
    const s = p[i]!;
    if (s.release) return i === 0;
    for (let j = 0; j < i; j++) {
      const e = p[j]!;
      if (e.location === s.location || e.epoch < s.epoch) return false;
    }
    return true;
  }

  /** Drain pending[i] now: others see its value; its slot and location are written. */
  private commit(b: StoreBuffer, i: number): void {
    const s = b.pending[i]!;
    b.pending.splice(i, 1);
    const c = this.committed.get(s.location)!;
    if (--c.count === 0) this.committed.delete(s.location);
    else c.value = s.value;
    this.sink(s.location, "write");
    this.sink(b.slot(s.seq), "write");
    for (const a of s.after) this.sink(a, "read");
  }

  /** Force `b`'s pending stores to `location` to drain, with whatever must drain before them, in program order. */
  private forceLocation(b: StoreBuffer, location: string): void {
    const p = b.pending;
    let i = p.length - 1;
    while (i >= 0 && p[i]!.location !== location) i--;
    if (i < 0) return;
    const need = new Array<boolean>(i + 1).fill(false);
    need[i] = true;
    for (let j = i - 1; j >= 0; j--) {
      const e = p[j]!;
      for (let k = j + 1; k <= i && !need[j]; k++) {
        if (!need[k]) continue;
        const r = p[k]!;
        need[j] = this.model === "tso" || r.release || r.location === e.location || e.epoch < r.epoch;
      }
    }
    let removed = 0;
    for (let j = 0; j <= i; j++) {
      if (!need[j]) continue;
      this.commit(b, j - removed++);
      this.forced++;
    }
  }

  /** Force another CPU's pending stores to `location` to drain, so that the value in place is coherent for `self`. */
  private makeCoherent(location: string, self: StoreBuffer | undefined): void {
    const c = this.committed.get(location);
    if (c && c.owner !== self) this.forceLocation(c.owner, location);
  }

  /** Report the full barrier's dependence on every store since the last one; drain what a caller that did not wait left. */
  private fullBarrier(b: StoreBuffer): void {
    for (const slot of b.sinceMb) this.sink(slot, "read");
    b.sinceMb = [];
    while (b.pending.length > 0) {
      this.commit(b, 0);
      this.forced++;
    }
  }
}
