/**
 * The fuzz campaign's generator as a seeded, count-bounded test (issue 13):
 * 400 generated files (scripts/fuzz-gen.ts: the language's productions with
 * the hostile shapes among them: prototype names, 64-bit edges and
 * wider, overflowing shifts and products, deep brackets, pinned IDs, large
 * ranges, repeated typos, a byte order mark), each loaded and run; every one
 * is bad input positioned inside its text or results positioned inside it,
 * never an internal error. `npm run fuzz` runs the same generator for as
 * many cases as asked.
 */
import { describe, expect, test } from "vitest";
import { builtinRegistry } from "../../src/index.js";
import { judge } from "../../scripts/fuzz-case.js";
import { Generator, Rng } from "../../scripts/fuzz-gen.js";

const CASES = 400;

describe("generated files", () => {
  test(`${CASES} cases of seed 13: no internal error, nothing placed outside its text; some run, some are rejected`, () => {
    const registry = builtinRegistry();
    const gen = new Generator(new Rng(13));
    const kinds = { rejected: 0, ran: 0 };
    const findings: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const text = gen.file();
      /* slowness is the campaign's to find (wall time): here no bound */
      const o = judge(text, registry, Infinity);
      if (o.kind === "finding") findings.push(`case ${i}: ${o.what}: ${o.message}\n${text}`);
      else kinds[o.kind]++;
    }
    expect(findings).toEqual([]);
    /* the generator reaches both the front end's errors and the runner */
    expect(kinds.rejected).toBeGreaterThan(CASES / 4);
    expect(kinds.ran).toBeGreaterThan(CASES / 20);
  });

  test("the same seed gives the same cases", () => {
    const a = new Generator(new Rng(5));
    const b = new Generator(new Rng(5));
    for (let i = 0; i < 50; i++) expect(b.file()).toBe(a.file());
  });
});
