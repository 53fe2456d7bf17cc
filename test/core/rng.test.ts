/**
 * src/core/rng.ts: the seeded PRNG (mulberry32) behind `concurrently` and
 * `--seed`. Its sequence is pinned: every recorded interleaving depends on it.
 */
import { expect, test } from "vitest";
import { Rng } from "../../src/core/rng.js";

test("seed 42 gives the same first values on every machine", () => {
  const r = new Rng(42);
  expect([r.next(), r.next(), r.next(), r.next()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693]);
});

test("below(n): integers in [0, n), the same for the same seed", () => {
  const a = new Rng(0);
  expect(Array.from({ length: 10 }, () => a.below(6))).toEqual([1, 0, 1, 0, 2, 3, 3, 3, 2, 3]);
  const b = new Rng(7);
  const draws = Array.from({ length: 1000 }, () => b.below(3));
  expect(new Set(draws)).toEqual(new Set([0, 1, 2]));
});

test("a seed is taken as an unsigned 32-bit value", () => {
  const [a, b] = [new Rng(-1), new Rng(0xffff_ffff)];
  expect([a.next(), a.next()]).toEqual([b.next(), b.next()]);
  const [c, d] = [new Rng(2 ** 32 + 5), new Rng(5)];
  expect(c.next()).toBe(d.next());
});
