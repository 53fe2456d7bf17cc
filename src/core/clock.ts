/** Deterministic simulated time, in nanoseconds; never the wall clock. */
export class Clock {
  private t = 0;

  get now(): number {
    return this.t;
  }

  advance(ns: number): void {
    if (!(ns >= 0)) throw new RangeError(`time cannot go back (${ns} ns)`);
    this.t += ns;
  }
}
