/**
 * The platform-scale workload (scripts/gen-scale.ts: 64 SMMUs x 64 ATS
 * devices, 256 domains, 4 scenarios of iterations of 8 actions) run by
 * `smmu-emu run` at growing sizes, each in a process of its own: time,
 * actions per second, peak memory, and how the time grows against the work.
 * Then one scenario of 4,000,000 actions (memory must stay bounded), and the
 * same operations on 32 and 128 SMMUs (the time per operation must not grow
 * with SMMUs the operations do not touch).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ACTIONS_PER_ITERATION, generateScale, SCALE_DEFAULTS, type ScaleShape } from "./gen-scale.js";

export interface ScaleRow {
  label: string;
  actions: number;
  smmus: number;
  scenarios: number;
  wallMs: number;
  cpuMs: number;
  peakMb: number;
  actionsPerSec: number;
  /** Time against the previous row's, over work against its work (1 = linear); null for the first of a series. */
  growth: number | null;
  /**
   * SMMU sweep rows: CPU microseconds per action once the platform is set up
   * (the CPU of a run of one iteration taken off): building 128 SMMUs' devices
   * costs more than 32's, but is no operation's cost.
   */
  netUsPerAction?: number;
}

const RUNNER = fileURLToPath(new URL("./bench-scale-run.ts", import.meta.url));

/** Run the workload of `shape` in a child process. */
function measure(label: string, shape: ScaleShape, dir: string): Omit<ScaleRow, "growth"> {
  const file = join(dir, `scale-${shape.actions}-${shape.smmus}-${shape.scenarios}.smmu`);
  writeFileSync(file, generateScale(shape));
  const r = spawnSync(process.execPath, ["--import", "tsx", RUNNER, file], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${label}: the run failed (${r.status ?? r.signal}): ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
  const m = JSON.parse(r.stdout) as { wallMs: number; cpuMs: number; peakMb: number; passed: boolean; summary: string };
  if (!m.passed) throw new Error(`${label}: the scenarios did not pass: ${m.summary}`);
  rmSync(file);
  return { label, actions: shape.actions, smmus: shape.smmus, scenarios: shape.scenarios, wallMs: m.wallMs, cpuMs: m.cpuMs, peakMb: m.peakMb, actionsPerSec: (shape.actions * 1000) / m.cpuMs };
}

/** Each row's growth against the row before it. */
function series(rows: Omit<ScaleRow, "growth">[]): ScaleRow[] {
  return rows.map((r, i) => ({ ...r, growth: i === 0 ? null : r.cpuMs / rows[i - 1]!.cpuMs / (r.actions / rows[i - 1]!.actions) }));
}

export const SCALE_SIZES = [250_000, 500_000, 1_000_000, 2_000_000];

export function benchScale(options: { sizes?: readonly number[]; single?: number; smmuSweep?: { actions: number; smmus: readonly number[] } } = {}): {
  sizes: ScaleRow[];
  single: ScaleRow[];
  smmus: ScaleRow[];
} {
  const dir = mkdtempSync(join(tmpdir(), "smmu-emu-scale-"));
  try {
    const sizes = series((options.sizes ?? SCALE_SIZES).map((actions) => measure(`${actions} actions`, { ...SCALE_DEFAULTS, actions }, dir)));
    const single = options.single === 0 ? [] : series([measure("one scenario", { ...SCALE_DEFAULTS, scenarios: 1, actions: options.single ?? 4_000_000 }, dir)]);
    const sweep = options.smmuSweep ?? { actions: 250_000, smmus: [32, 128] };
    /* the same operations on the devices of the first 32 SMMUs, one scenario: only the SMMUs no operation touches grow */
    const active = Math.min(...sweep.smmus);
    const smmus = sweep.smmus.map((n) => {
      const shape = { ...SCALE_DEFAULTS, smmus: n, scenarios: 1, activeSmmus: active };
      const setUp = measure(`${n} SMMUs, set-up`, { ...shape, actions: ACTIONS_PER_ITERATION }, dir);
      const row = measure(`${n} SMMUs`, { ...shape, actions: sweep.actions }, dir);
      return { ...row, growth: null, netUsPerAction: ((row.cpuMs - setUp.cpuMs) * 1000) / (sweep.actions - ACTIONS_PER_ITERATION) };
    });
    return { sizes, single, smmus };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
