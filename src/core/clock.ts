/**
 * Deterministic simulated time, in nanoseconds; never the wall clock.
 *
 * Each CPU keeps its own time while it runs an operation: it moves on when
 * the CPU waits for the hardware (a CMD_SYNC). Platform time is where the
 * last operation ended; an operation starts there. Operations run
 * concurrently all start at the same platform time, and the platform time
 * then moves to the latest of their ends.
 */
export class Clock {
  private t = 0;
  private readonly cpus = new Map<string, number>();
  /** The CPU running now: the simulator switches it at every step of concurrent operations. */
  cpu = "cpu0";

  /** Platform time. */
  get now(): number {
    return this.t;
  }

  /** The running CPU's time. */
  get cpuNow(): number {
    return this.cpus.get(this.cpu) ?? this.t;
  }

  /** The running CPU waits (spins) until `t`; nothing happens if it is already later. */
  waitUntil(t: number): void {
    if (!Number.isFinite(t)) throw new RangeError(`cannot wait until ${t} ns`);
    if (t > this.cpuNow) this.cpus.set(this.cpu, t);
  }

  /** `cpu` starts an operation at platform time, and becomes the running CPU. */
  begin(cpu: string): void {
    this.cpus.set(cpu, this.t);
    this.cpu = cpu;
  }

  /** `cpu` finished its operation: platform time moves on to its time. */
  end(cpu: string): void {
    this.t = Math.max(this.t, this.cpus.get(cpu) ?? this.t);
    this.cpus.delete(cpu);
    this.cpu = "cpu0";
  }
}
