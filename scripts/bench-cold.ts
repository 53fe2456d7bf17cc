/**
 * Cold start: the built CLI (bin/smmu-emu.js, which runs dist/) started as a
 * new process each time, against `node -e 0` on the same machine at the same
 * moment. The commands run in turn, round after round, so a machine that
 * gets busier slows them alike; each figure is the median of its rounds, and
 * its ratio is to the median of `node -e 0`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface ColdStartRow {
  label: string;
  argv: string[];
  medianMs: number;
  /** medianMs over node -e 0's */
  ratio: number;
}

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** What is started, after `node`. The quick start is README's first command. */
const COMMANDS: ReadonlyArray<{ label: string; argv: string[] }> = [
  { label: "node -e 0", argv: ["-e", "0"] },
  { label: "smmu-emu --version", argv: ["bin/smmu-emu.js", "--version"] },
  { label: "smmu-emu --help", argv: ["bin/smmu-emu.js", "--help"] },
  { label: "smmu-emu run examples/s1-shared.smmu (quick start)", argv: ["bin/smmu-emu.js", "run", "examples/s1-shared.smmu"] },
];

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Milliseconds from spawn to exit of `node argv`; a non-zero exit is an error. */
function timed(argv: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${argv.join(" ")} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

/** Build dist/ (so the figures are the sources' as they are), then `rounds` rounds of every command. */
export function benchColdStart(rounds = 9): ColdStartRow[] {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "pipe" });
  /* one warm-up round: the file system cache, not the process, is what it warms */
  for (const c of COMMANDS) timed(c.argv);
  const times = COMMANDS.map((): number[] => []);
  for (let r = 0; r < rounds; r++) COMMANDS.forEach((c, i) => times[i]!.push(timed(c.argv)));
  const base = median(times[0]!);
  return COMMANDS.map((c, i) => {
    const m = median(times[i]!);
    return { label: c.label, argv: c.argv, medianMs: m, ratio: m / base };
  });
}
