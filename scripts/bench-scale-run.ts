/**
 * One measured `smmu-emu run` of a file, in a process of its own so that its
 * peak memory is its own: prints { wallMs, cpuMs, peakMb, passed } as JSON.
 * Output goes nowhere (the report is built and written as for a terminal-less stdout).
 * The front end's limits are raised (--limit): the default ones stop a file
 * of 1,000,000 actions.
 *
 *   node --import tsx scripts/bench-scale-run.ts FILE
 */
import { main } from "../src/cli/main.js";

/** The summary line of a run whose every scenario passed (a skip is not a pass: its actions stopped being judged). */
const ALL_PASSED = /^(\d+) scenarios?: \1 passed, 0 failed$/m;

const file = process.argv[2];
if (!file) throw new Error("usage: bench-scale-run.ts FILE");
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let summary = "";
const t0 = performance.now();
const c0 = cpu();
/* the workload goes past the front end's default limits from 1,000,000 actions on: raised, as a user would raise them */
const LIMITS = ["--limit", "iterations=100000000", "--limit", "statements=100000000", "--limit", "evaluations=1000000000"];
const status = await main(["run", ...LIMITS, file], { out: (t) => void (summary = t), err: () => undefined, tty: false });
const wallMs = performance.now() - t0;
const cpuMs = cpu() - c0;
process.stdout.write(`${JSON.stringify({ wallMs, cpuMs, peakMb: process.resourceUsage().maxRSS / 1024, passed: status === 0 && ALL_PASSED.test(summary), summary })}\n`);
