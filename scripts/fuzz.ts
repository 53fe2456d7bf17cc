/**
 * `npm run fuzz -- [--cases N] [--seed S] [--out DIR] [--slow MS]`: a fuzz
 * campaign (issue 13). Generates N cases from the grammar (scripts/fuzz-gen.ts),
 * judges each (scripts/fuzz-case.ts) and prints cases per second and what
 * they came to; every finding is saved with its input in DIR
 * (fuzz-findings/ by default) as KIND-SEED-INDEX.smmu and .txt. Exit 1 when
 * something was found.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { builtinRegistry } from "../src/index.js";
import { judge } from "./fuzz-case.js";
import { Generator, Rng } from "./fuzz-gen.js";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "10000" },
    seed: { type: "string", default: "1" },
    out: { type: "string", default: "fuzz-findings" },
    slow: { type: "string", default: "5000" },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
const slowMs = Number(values.slow);
if (![cases, seed, slowMs].every((n) => Number.isSafeInteger(n) && n >= 0)) {
  process.stderr.write("fuzz: --cases, --seed and --slow take integers >= 0\n");
  process.exit(2);
}

const registry = builtinRegistry();
const gen = new Generator(new Rng(seed));
const counts = { rejected: 0, ran: 0, passed: 0, failed: 0, skipped: 0, internal: 0, unplaced: 0, slow: 0 };
const start = performance.now();
let shown = start;
for (let i = 0; i < cases; i++) {
  const text = gen.file();
  const o = judge(text, registry, slowMs);
  if (o.kind === "rejected") counts.rejected++;
  else if (o.kind === "ran") {
    counts.ran++;
    counts.passed += o.passed;
    counts.failed += o.failed;
    counts.skipped += o.skipped;
  } else {
    counts[o.what]++;
    mkdirSync(values.out, { recursive: true });
    const base = join(values.out, `${o.what}-${seed}-${i}`);
    writeFileSync(`${base}.smmu`, text);
    writeFileSync(`${base}.txt`, `${o.message}\n`);
    process.stderr.write(`finding ${i}: ${o.what}: ${o.message.split("\n")[0]} (${base}.smmu)\n`);
  }
  const now = performance.now();
  if (now - shown > 10_000) {
    shown = now;
    process.stderr.write(`${i + 1} cases, ${Math.round(((i + 1) * 1000) / (now - start))}/s\n`);
  }
}
const seconds = (performance.now() - start) / 1000;
const findings = counts.internal + counts.unplaced + counts.slow;
process.stdout.write(
  `${cases} cases (seed ${seed}) in ${seconds.toFixed(1)} s: ${Math.round(cases / seconds)} cases/s\n` +
    `  rejected as bad input ${counts.rejected}, ran ${counts.ran} (scenarios: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped)\n` +
    `  findings ${findings}: internal errors ${counts.internal}, unplaced ${counts.unplaced}, over ${slowMs} ms ${counts.slow}\n`,
);
process.exitCode = findings ? 1 : 0;
