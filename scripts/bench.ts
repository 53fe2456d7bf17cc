/**
 * npm run bench: the invalidation-array algebra against its native C
 * reference, arm_smmu_domain_inv_range() over growing arrays, parse +
 * validate + run of a 100,000-line file, what a schedule explorer pays per
 * schedule, `smmu-emu run` at platform scale (250k to 2M actions, 4M in
 * one scenario, 32 against 128 SMMUs), and the CLI's cold start against
 * `node -e 0`. `--json` prints the rows as JSON; `--quick` leaves out the 2M
 * and 4M runs.
 */
import { benchColdStart } from "./bench-cold.js";
import { benchInvRange } from "./bench-inv-range.js";
import { benchInvs, type InvsBenchRow } from "./bench-invs.js";
import { benchParse } from "./bench-parse.js";
import { benchScale, SCALE_SIZES, type ScaleRow } from "./bench-scale.js";
import { benchSchedules, formatSchedules } from "./bench-schedules.js";

/** Sizes where JS must stay within GOAL_RATIO of C for every operation. */
const GOAL_SIZES = [1024, 65536];
const GOAL_RATIO = 2;

function fmt(v: number | null, digits: number): string {
  return v === null ? "-" : v.toFixed(digits);
}

function opsPerSec(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(0);
}

function table(rows: readonly InvsBenchRow[]): string {
  const head = ["size", "op", "ns/entry JS", "ns/entry C", "JS/C", "ops/s JS"];
  const body = rows.map((r) => [
    String(r.size),
    r.op,
    fmt(r.jsNsPerEntry, 2),
    fmt(r.cNsPerEntry, 2),
    r.ratio === null ? "-" : `${r.ratio.toFixed(2)}x`,
    opsPerSec(r.jsOpsPerSec),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 1 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join("  ");
  const out = [line(head), width.map((w) => "-".repeat(w)).join("  ")];
  let last = -1;
  for (const [i, b] of body.entries()) {
    if (last !== -1 && rows[i]!.size !== last) out.push("");
    last = rows[i]!.size;
    out.push(line(b));
  }
  return out.join("\n");
}

/* the scale goals: 1M actions under 10 s (5 s) and 1 GB; twice the work at most 2.2 times the time; 32 and 128 SMMUs alike */
const SCALE_GOAL = { actions: 1_000_000, seconds: 10, stretchSeconds: 5, mb: 1024, growth: 1.1, smmuRatio: 1.1 };

function scaleTable(rows: readonly ScaleRow[]): string {
  const head = ["run", "actions", "SMMUs", "cpu s", "wall s", "actions/s", "peak MB", "growth"];
  const body = rows.map((r) => [
    r.label,
    String(r.actions),
    String(r.smmus),
    (r.cpuMs / 1000).toFixed(2),
    (r.wallMs / 1000).toFixed(2),
    opsPerSec(r.actionsPerSec),
    r.peakMb.toFixed(0),
    r.growth === null ? "-" : `${r.growth.toFixed(2)}x`,
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join("  ");
  return [line(head), width.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

function scaleVerdict(scale: ReturnType<typeof benchScale>): string {
  const out: string[] = [];
  const goal = scale.sizes.find((r) => r.actions === SCALE_GOAL.actions);
  if (goal) {
    const s = goal.cpuMs / 1000;
    const ok = s < SCALE_GOAL.seconds && goal.peakMb < SCALE_GOAL.mb;
    out.push(`${ok ? "Goal met" : "Goal missed"}: ${SCALE_GOAL.actions} actions in ${s.toFixed(2)} s (under ${SCALE_GOAL.seconds} s; stretch ${SCALE_GOAL.stretchSeconds} s) and ${goal.peakMb.toFixed(0)} MB (under ${SCALE_GOAL.mb}).`);
  }
  const worst = Math.max(...scale.sizes.map((r) => r.growth ?? 0));
  out.push(`${worst <= SCALE_GOAL.growth ? "Goal met" : "Goal missed"}: twice the work takes at most ${(2 * worst).toFixed(2)}x the time (at most ${2 * SCALE_GOAL.growth}x).`);
  const [few, many] = scale.smmus;
  if (few && many) {
    const ratio = many.netUsPerAction! / few.netUsPerAction!;
    out.push(
      `${ratio <= SCALE_GOAL.smmuRatio ? "Goal met" : "Goal missed"}: the same operations take ${ratio.toFixed(2)}x the time with ${many.smmus} SMMUs as with ${few.smmus} ` +
        `(${many.netUsPerAction!.toFixed(1)} against ${few.netUsPerAction!.toFixed(1)} us of CPU per action once set up; whole runs ${(many.cpuMs / few.cpuMs).toFixed(2)}x).`,
    );
  }
  return out.join("\n");
}

const quick = process.argv.includes("--quick");
const rows = await benchInvs();
const invRange = benchInvRange();
const parse = benchParse();
const schedules = await benchSchedules();
const coldStart = benchColdStart();
const scale = benchScale(quick ? { sizes: SCALE_SIZES.filter((n) => n <= 1_000_000), single: 0 } : {});
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ invs: rows, invRange, parse, schedules, scale, coldStart }, null, 2));
} else {
  console.log("invsMerge / invsUnref / invsPurge vs ref_invs.c (cc -O2); merge and unref per N + N/8 entries, purge per N\n");
  console.log(table(rows));
  const missing = rows.find((r) => r.cMissing)?.cMissing;
  if (missing) {
    console.log(`\nNo JS/C ratios: ${missing}.`);
  } else {
    const goal = rows.filter((r) => GOAL_SIZES.includes(r.size));
    const misses = goal.filter((r) => r.ratio !== null && r.ratio > GOAL_RATIO);
    console.log(
      misses.length === 0
        ? `\nGoal met: JS within ${GOAL_RATIO}x of C for every op at N = ${GOAL_SIZES.join(", ")}.`
        : `\nGoal missed (JS within ${GOAL_RATIO}x of C at N = ${GOAL_SIZES.join(", ")}): ` +
            misses.map((r) => `${r.op}@${r.size} ${r.ratio!.toFixed(2)}x`).join(", "),
    );
  }
}

if (!process.argv.includes("--json")) {
  console.log("\narm_smmu_domain_inv_range() of one 4 KiB leaf, driver only (queues replaced by counters)\n");
  console.log("entries  SMMUs  commands/op      ops/s    us/op");
  for (const r of invRange) {
    console.log(
      `${String(r.entries).padStart(7)}  ${String(r.smmus).padStart(5)}  ${r.commandsPerOp.toFixed(0).padStart(11)}  ${opsPerSec(r.opsPerSec).padStart(9)}  ${(r.nsPerOp / 1000).toFixed(1).padStart(7)}`,
    );
  }
  console.log(`\nparse + validate + run of a generated ${parse.lines}-line file (${(parse.bytes / 1e6).toFixed(1)} MB)\n`);
  console.log(`parse ${parse.parseMs.toFixed(0)} ms, validate ${parse.validateMs.toFixed(0)} ms, run ${parse.runMs.toFixed(0)} ms: ${Math.round(parse.linesPerSec)} lines/s`);
  const parseCpu = parse.parseValidateCpuMs;
  console.log(`${parseCpu < 1000 ? "Goal met" : "Goal missed"}: parse + validate took ${parseCpu.toFixed(0)} ms of CPU (under 1000).`);
  console.log(`\n${formatSchedules(schedules)}`);
  console.log("\nsmmu-emu run at platform scale (scripts/gen-scale.ts: 64 SMMUs x 64 devices, 256 domains; a process per run; growth: time ratio over work ratio)\n");
  console.log(scaleTable([...scale.sizes, ...scale.single, ...scale.smmus]));
  console.log(`\n${scaleVerdict(scale)}`);
  console.log("\ncold start: the built CLI as a new process (median of 9 rounds), against node -e 0\n");
  const width = Math.max(...coldStart.map((r) => r.label.length));
  console.log(`${"command".padEnd(width)}  median ms  x node -e 0`);
  for (const r of coldStart) console.log(`${r.label.padEnd(width)}  ${r.medianMs.toFixed(0).padStart(9)}  ${r.ratio.toFixed(2).padStart(10)}x`);
}
