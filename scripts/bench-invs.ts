/**
 * invsMerge / invsUnref / invsPurge against the native C reference
 * (/work/shared/bench/ref_invs.c), on exactly the reference's workload:
 *
 *   base: N live ATS entries, inv[k] = { smmu: k / 1024, id: 2 * (k % 1024), users: 1 }
 *   add:  m = N / 8 entries,  inv[k] = { smmu: 8k / 1024, id: 2 * (8k % 1024) + 1, users: 0 }
 *   each rep: x = merge(base, add); unref(x, add);
 *             x.inv[x.num_invs / 2].users = 0; x.num_trashes++; y = purge(x);
 *             free(x); free(y)
 *
 * Each operation is timed on its own, as the C program does (its free()s are
 * not timed there, nor invsFree() here), and reported in
 * nanoseconds per entry: merge and unref per N + m entries, purge per N; the
 * JS figure is the median of timed rounds of at least as many repetitions as
 * the C program makes. When a C compiler is present the reference is built
 * with `cc -O2` in a temporary directory (never in the repository), run
 * between the JS sizes, and its figures are put beside ours.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { isErr } from "../src/core/errno.js";
import { ATS, invsAlloc, invsFree, invsMerge, invsPurge, invsUnref, type Invs } from "../plugins/driver-invs/invs.js";

const run = promisify(execFile);

export const BENCH_SIZES = [16, 64, 256, 1024, 4096, 16384, 65536] as const;
export const BENCH_OPS = ["merge", "unref", "purge"] as const;
export type InvsBenchOp = (typeof BENCH_OPS)[number];

/** Where the C reference lives (../shared/bench beside the repository); SMMU_EMU_REF_INVS_C overrides it. */
export const REF_INVS_C = process.env.SMMU_EMU_REF_INVS_C ?? fileURLToPath(new URL("../../shared/bench/ref_invs.c", import.meta.url));

export interface InvsBenchRow {
  /** N, the number of live entries in the base array. */
  size: number;
  op: InvsBenchOp;
  /** What the per-entry figures divide by: N + m for merge and unref, N for purge. */
  entries: number;
  /** Timed repetitions behind the JS figure, over all its rounds (the median round is reported). */
  reps: number;
  jsNsPerEntry: number;
  /** Calls of the operation per second in JS. */
  jsOpsPerSec: number;
  /** The C reference's figure (median of its runs), or null when it could not be built or run. */
  cNsPerEntry: number | null;
  /** jsNsPerEntry / cNsPerEntry. */
  ratio: number | null;
  /** Why there is no C figure. */
  cMissing?: string;
}

export interface InvsBenchOptions {
  sizes?: readonly number[];
  /** Timed rounds per size (at least); the median round is reported. */
  rounds?: number;
  /** Time to spend on the timed rounds of one size, in ms (at least). */
  msPerSize?: number;
  /** Skip the C reference. */
  noC?: boolean;
}

interface Workload {
  base: Invs;
  add: Invs;
  m: number;
}

function workload(n: number): Workload {
  const m = Math.max(1, Math.floor(n / 8));
  const base = invsAlloc(n);
  for (let k = 0; k < n; k++) base.set(k, { smmu: Math.floor(k / 1024), type: ATS, id: 2 * (k % 1024), users: 1 });
  const add = invsAlloc(m);
  for (let k = 0; k < m; k++) add.set(k, { smmu: Math.floor((k * 8) / 1024), type: ATS, id: 2 * ((k * 8) % 1024) + 1 });
  return { base, add, m };
}

interface RoundTimes {
  merge: number;
  unref: number;
  purge: number;
}

let sink = 0;

/** `reps` repetitions of the reference's loop; total nanoseconds per operation. */
function round(w: Workload, reps: number): RoundTimes {
  const { base, add } = w;
  let tm = 0;
  let tu = 0;
  let tp = 0;
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    const x = invsMerge(base, add);
    tm += performance.now() - t0;
    if (isErr(x)) throw new Error(`invsMerge failed: ${String(x)}`);
    t0 = performance.now();
    invsUnref(x, add);
    tu += performance.now() - t0;
    /* make trash mid-array so purge copies */
    x.setUsers(x.numInvs >> 1, 0);
    x.numTrashes++;
    t0 = performance.now();
    const y = invsPurge(x);
    tp += performance.now() - t0;
    if (isErr(y)) throw new Error(`invsPurge failed: ${String(y)}`);
    sink += y ? y.numInvs : 0;
    invsFree(x);
    if (y) invsFree(y);
  }
  return { merge: tm * 1e6, unref: tu * 1e6, purge: tp * 1e6 };
}

/** The workload must do the same work as C's: fail loudly if the algebra changed under it. */
function checkWorkload(w: Workload, n: number): void {
  const x = invsMerge(w.base, w.add);
  if (isErr(x) || x.numInvs !== n + w.m) {
    throw new Error(`bench workload: merge gave ${String(isErr(x) ? x : x.numInvs)}, want ${n + w.m}`);
  }
  invsUnref(x, w.add);
  if (x.numInvs !== n + w.m || x.numTrashes !== w.m) {
    throw new Error(`bench workload: unref left ${x.numInvs} entries and ${x.numTrashes} trash, want ${n + w.m} and ${w.m}`);
  }
  const mid = x.numInvs >> 1;
  if (x.users(mid) !== 1) throw new Error(`bench workload: the middle entry ${mid} is not a live base entry`);
  x.setUsers(mid, 0);
  x.numTrashes++;
  const y = invsPurge(x);
  if (y === null || isErr(y) || y.numInvs !== n - 1) throw new Error(`bench workload: purge gave ${String(y)}, want ${n - 1} entries`);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** The C program's repetition count; JS does at least as many per round. */
function repsFor(n: number): number {
  return Math.floor(2_000_000 / n) + 10;
}

interface JsFigures {
  reps: number;
  rounds: number;
  /** ns per call */
  ns: RoundTimes;
}

function benchJs(n: number, minRounds: number, msPerSize: number): JsFigures {
  const w = workload(n);
  checkWorkload(w, n);
  const reps = Math.max(repsFor(n), 50);
  round(w, reps); /* warm-up at this size */
  const samples: RoundTimes[] = [];
  const t0 = performance.now();
  while (samples.length < minRounds || performance.now() - t0 < msPerSize) samples.push(round(w, reps));
  return { reps, rounds: samples.length, ns: pick(samples, reps) };
}

function pick(samples: readonly RoundTimes[], reps: number): RoundTimes {
  return {
    merge: median(samples.map((s) => s.merge)) / reps,
    unref: median(samples.map((s) => s.unref)) / reps,
    purge: median(samples.map((s) => s.purge)) / reps,
  };
}

type CFigures = Map<number, RoundTimes>;

/** The C reference, built once; run() prints one set of figures. */
export interface CReference {
  run(): Promise<CFigures>;
  dispose(): Promise<void>;
}

/** Build the C reference with `cc -O2` in a temporary directory, or say why it cannot be. */
export async function buildCReference(source = REF_INVS_C): Promise<CReference | string> {
  if (!existsSync(source)) return `C reference ${source} not found`;
  const dir = await mkdtemp(join(tmpdir(), "smmu-emu-bench-"));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const exe = join(dir, "ref_invs");
  try {
    await run("cc", ["-O2", "-o", exe, source]);
  } catch (err) {
    await dispose();
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") return "no C compiler: `cc` is not on PATH";
    return `cc -O2 failed: ${(e.stderr ?? e.message).trim()}`;
  }
  return {
    run: async () => parseC((await run(exe, [])).stdout),
    dispose,
  };
}

/** "N merge_ns unref_ns purge_ns" lines. */
function parseC(stdout: string): CFigures {
  const out: CFigures = new Map();
  for (const line of stdout.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 4) continue;
    const [n, merge, unref, purge] = f.map(Number) as [number, number, number, number];
    if ([n, merge, unref, purge].some((v) => !Number.isFinite(v))) throw new Error(`ref_invs: bad line "${line}"`);
    out.set(n, { merge, unref, purge });
  }
  if (out.size === 0) throw new Error(`ref_invs printed nothing usable:\n${stdout}`);
  return out;
}

/**
 * Measure every size in JS and, when a compiler is present, in C. The C
 * program is run once before each size and once at the end, and its median
 * per figure is taken, so that both sides see the same machine: on a shared
 * host the speed of either drifts by tens of percent over a minute.
 */
export async function benchInvs(opts: InvsBenchOptions = {}): Promise<InvsBenchRow[]> {
  const sizes = opts.sizes ?? BENCH_SIZES;
  const rounds = opts.rounds ?? 7;
  const msPerSize = opts.msPerSize ?? 800;
  const ref = opts.noC ? "C reference skipped" : await buildCReference();
  const cRuns: CFigures[] = [];

  try {
    /* global warm-up: get every path optimised before the first timed size */
    const warm = workload(1024);
    for (const t0 = performance.now(); performance.now() - t0 < 300; ) round(warm, 20);

    const js = new Map<number, JsFigures>();
    for (const n of sizes) {
      if (typeof ref !== "string") cRuns.push(await ref.run());
      js.set(n, benchJs(n, rounds, msPerSize));
    }
    if (typeof ref !== "string") cRuns.push(await ref.run());

    const rows: InvsBenchRow[] = [];
    for (const n of sizes) {
      const m = Math.max(1, Math.floor(n / 8));
      const f = js.get(n)!;
      const got = cRuns.map((c) => c.get(n)).filter((t): t is RoundTimes => t !== undefined);
      const cRow = got.length > 0 ? pick(got, 1) : undefined;
      for (const op of BENCH_OPS) {
        const entries = op === "purge" ? n : n + m;
        const jsNs = f.ns[op] / entries;
        const cNs = cRow ? cRow[op] : null;
        const row: InvsBenchRow = {
          size: n,
          op,
          entries,
          reps: f.reps * f.rounds,
          jsNsPerEntry: jsNs,
          jsOpsPerSec: 1e9 / f.ns[op],
          cNsPerEntry: cNs,
          ratio: cNs ? jsNs / cNs : null,
        };
        if (typeof ref === "string") row.cMissing = ref;
        else if (!cRow) row.cMissing = `the C reference printed no figures for N=${n}`;
        rows.push(row);
      }
    }
    if (sink < 0) console.log(sink); /* keep the results alive */
    return rows;
  } finally {
    if (typeof ref !== "string") await ref.dispose();
  }
}
