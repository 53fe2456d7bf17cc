/**
 * Parse + validate + run of a generated 100,000-line .smmu file: 16 SMMUs,
 * 8192 devices and 4096 domains written out line by line (no loops), then
 * one scenario of attach / map / dma / unmap / expect statements.
 */
import { compileSmmu } from "../src/dsl/compile.js";
import { runFile } from "../src/engine/runner.js";
import { builtinRegistry } from "../src/index.js";
import { validateTopology } from "../src/schema/validate.js";

export interface ParseBenchRow {
  lines: number;
  bytes: number;
  parseMs: number;
  validateMs: number;
  runMs: number;
  /** CPU milliseconds of the process (its GC and compiler threads too) for parse + validate: on a shared machine, steadier than the wall time. */
  parseValidateCpuMs: number;
  linesPerSec: number;
}

/** A file of exactly `lines` lines. */
export function generate(lines: number): string {
  const out: string[] = ["// generated for npm run bench"];
  const smmus = 16;
  for (let s = 0; s < smmus; s++) out.push(`smmu smmu${s} { features: ats, range_inv; }`);
  const devices = 8192;
  for (let d = 0; d < devices; d++) out.push(`device dev${d} { smmu: smmu${d % smmus}; sids: ${0x1000 * (d % smmus) + Math.floor(d / smmus)}; ats: true; }`);
  const domains = 4096;
  for (let d = 0; d < domains; d++) out.push(`domain d${d} { stage: s1; }`);
  out.push(`scenario "generated" {`);
  const body = lines - out.length - 1;
  /* groups of five: attach, map, dma, unmap, and a DMA that must fault */
  const stmt = (i: number): string => {
    const g = Math.floor(i / 5);
    const dev = g % devices;
    const dom = g % domains;
    const iova = `0x${(0x10000 + (Math.floor(g / domains) % 256) * 0x1000).toString(16)}`;
    switch (i % 5) {
      case 0:
        return `  attach dev${dev} d${dom};`;
      case 1:
        return `  map d${dom} ${iova} size 4K;`;
      case 2:
        return `  dma dev${dev} read ${iova};`;
      case 3:
        return `  unmap d${dom} ${iova} size 4K;`;
      default:
        return `  expect dma dev${dev} read ${iova} fault;`;
    }
  };
  for (let i = 0; i < body; i++) out.push(stmt(i));
  out.push("}");
  return out.join("\n") + "\n";
}

export function benchParse(lines = 100_000): ParseBenchRow {
  const text = generate(lines);
  const registry = builtinRegistry();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const file = compileSmmu(text, "generated.smmu");
  const t1 = performance.now();
  const diags = validateTopology(file.topology, registry, (p) => file.locations.get(p));
  if (diags.length) throw new Error(`generated file does not validate: ${diags[0]!.message}`);
  const t2 = performance.now();
  const cpu = process.cpuUsage(c0);
  const results = runFile(file, { registry });
  const t3 = performance.now();
  if (!results.every((r) => r.passed)) throw new Error(`generated scenario failed: ${results[0]!.failures[0]?.message ?? "?"}`);
  return {
    lines: text.split("\n").length - 1,
    bytes: text.length,
    parseMs: t1 - t0,
    validateMs: t2 - t1,
    runMs: t3 - t2,
    parseValidateCpuMs: (cpu.user + cpu.system) / 1000,
    linesPerSec: ((text.split("\n").length - 1) * 1000) / (t3 - t0),
  };
}
