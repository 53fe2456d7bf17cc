/**
 * `run`: the selected scenarios of each file, reported as the chosen
 * reporter prints them (human, --json, ktap, junit), with an optional trace.
 * Output files are opened before anything runs.
 */
import { InputError, sortDiagnostics, type Diagnostic } from "../../core/diagnostics.js";
import type { Scenario } from "../../dsl/ast.js";
import { runScenario, scenarioStatus, type RunOptions, type ScenarioResult } from "../../engine/runner.js";
import { colors, formatDiagnostics, formatScenario, formatSummary, tally } from "../../report/human.js";
import { streamedFileJson, streamedReport, streamedScenarioJson } from "../../report/json.js";
import { junitDocument, type FileOutcome } from "../../report/junit.js";
import { ktapHeader, ktapRejected, ktapSuite } from "../../report/ktap.js";
import { cacheLines, metricsHeader } from "../../report/metrics.js";
import { TraceWriter } from "../../report/trace.js";
import { logScenario } from "../../report/log.js";
import { EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, type Io } from "../io.js";
import type { CommandContext, RunOpts } from "../options.js";
import { usage, type Colors } from "./common.js";
import { emit, InvalidationSpools, OutputFile, RECORD, type Invalidations } from "./output.js";
import { printSteps, ReplayError, replayOf, replayScenario } from "./replay.js";
import { holdPluginTimers } from "../sandbox.js";
import type { Isolation } from "./isolated.js";
import { driverOverride, loadSelected, type FileInput, type SelectedFile } from "./select.js";

/** Where `--log` lines go: stderr a line at a time, or --log-file in blocks. */
class LogWriter {
  private pending: string[] = [];
  private size = 0;

  constructor(
    private readonly io: Io,
    readonly file: OutputFile | undefined,
  ) {}

  readonly line = (text: string): void => {
    if (!this.file) return this.io.err(text);
    this.pending.push(text);
    this.size += text.length;
    if (this.size >= LOG_BLOCK) this.flush();
  };

  flush(): void {
    if (!this.file || !this.pending.length) return;
    this.file.write([`${this.pending.join("\n")}\n`]);
    this.pending = [];
    this.size = 0;
  }
}

/** Characters of log lines held before they are written to --log-file. */
const LOG_BLOCK = 1 << 16;

/** How often the progress line may redraw. */
const PROGRESS_MS = 100;

/**
 * A progress reporter for a run of `path`: the statement running, redrawn at
 * most every PROGRESS_MS (wall clock: display only), also while one statement
 * runs long (the runner calls again every TICK_STEPS steps).
 */
function progressOf(io: Io, path: string): RunOptions["onProgress"] {
  const draw = io.progress;
  if (!draw) return undefined;
  const now = io.now ?? Date.now;
  let last = -Infinity;
  return (scenario, done, total, running) => {
    const t = now();
    if (t - last < PROGRESS_MS) return;
    last = t;
    draw(`${path}: "${scenario}" statement ${done + 1}/${total} (line ${running.line}: ${running.kind})`);
  };
}

/** What a reporter is told as the run goes (a file's results with each scenario's invalidations); end() prints what is left and gives the exit status. */
interface Reporter {
  ran(n: number, path: string, results: ScenarioResult[], invalidations: Invalidations[]): void | Promise<void>;
  rejected(n: number, path: string, diagnostics: Diagnostic[]): void;
  end(): number | Promise<number>;
}

function exitStatus(results: readonly ScenarioResult[], diagnostics: readonly Diagnostic[]): number {
  if (diagnostics.length) return EXIT_BAD_INPUT;
  return results.some((r) => scenarioStatus(r) === "failed") ? EXIT_FAILED : EXIT_OK;
}

/** The outcomes of a run as every reporter needs them. */
class Outcomes {
  readonly files: FileOutcome[] = [];
  readonly results: ScenarioResult[] = [];
  readonly diagnostics: Diagnostic[] = [];

  ran(path: string, results: ScenarioResult[]): void {
    this.files.push({ file: path, scenarios: results });
    this.results.push(...results);
  }

  rejected(path: string, diagnostics: Diagnostic[]): void {
    this.files.push({ file: path, diagnostics });
    this.diagnostics.push(...diagnostics);
  }

  get status(): number {
    return exitStatus(this.results, this.diagnostics);
  }
}

/** `run --metrics` after a scenario: its figures, then a line per invalidation, dimmed as one block. */
function* metricsBlock(c: Colors, r: ScenarioResult, invalidations: Invalidations): Generator<string> {
  /* the dim codes around the whole block, as c.dim() of its text puts them */
  const [open, close] = c.dim("\0").split("\0") as [string, string];
  yield open;
  yield metricsHeader(r, invalidations.count).join("\n");
  for (const line of invalidations.spool.split()) yield `\n${line}`;
  for (const line of cacheLines(r)) yield `\n${line}`;
  yield close;
}

function humanReporter(o: RunOpts, io: Io, c: Colors): Reporter {
  const all = new Outcomes();
  return {
    async ran(_n, path, results, invalidations) {
      all.ran(path, results);
      io.out(c.bold(path));
      for (const [i, r] of results.entries()) {
        io.out(formatScenario(c, r));
        if (o.metrics) await emit(io, metricsBlock(c, r, invalidations[i]!));
      }
    },
    rejected: (_n, path, ds) => all.rejected(path, ds),
    end() {
      const rejected = all.files.filter((f) => "diagnostics" in f).length;
      if (all.diagnostics.length) io.err(formatDiagnostics(c, sortDiagnostics(all.diagnostics)));
      io.out(formatSummary(c, all.results) + (rejected ? c.red(`; ${rejected} file(s) not run: bad input`) : ""));
      return all.status;
    },
  };
}

/** The JSON report, written in pieces at the end: each scenario's invalidations come from its spool. */
function jsonReporter(io: Io, version: string): Reporter {
  const all = new Outcomes();
  const ran: Array<{ path: string; results: ScenarioResult[]; invalidations: Invalidations[] }> = [];
  return {
    ran(_n, path, results, invalidations) {
      all.ran(path, results);
      ran.push({ path, results, invalidations });
    },
    rejected: (_n, path, ds) => all.rejected(path, ds),
    async end() {
      const files = function* (): Generator<Generator<string>> {
        for (const f of ran) {
          const scenarios = function* (): Generator<Generator<string>> {
            for (const [i, r] of f.results.entries()) yield streamedScenarioJson(r, () => f.invalidations[i]!.spool.split(RECORD));
          };
          yield streamedFileJson(f.path, scenarios);
        }
      };
      const counts = { scenarios: all.results.length, ...tally(all.results) };
      await emit(io, streamedReport(files, counts, sortDiagnostics(all.diagnostics), version, { rejected: all.files.length - ran.length }));
      return all.status;
    },
  };
}

/** KTAP goes out file by file; bad input is also on stderr, for people. */
function ktapReporter(io: Io, c: Colors, files: number): Reporter {
  const all = new Outcomes();
  io.out(ktapHeader(files).join("\n"));
  return {
    ran(n, path, results) {
      all.ran(path, results);
      io.out(ktapSuite(n, path, results).join("\n"));
    },
    rejected(n, path, ds) {
      all.rejected(path, ds);
      io.out(ktapRejected(n, path, ds).join("\n"));
    },
    end() {
      if (all.diagnostics.length) io.err(formatDiagnostics(c, sortDiagnostics(all.diagnostics)));
      return all.status;
    },
  };
}

function junitReporter(io: Io, c: Colors): Reporter {
  const all = new Outcomes();
  return {
    ran: (_n, path, results) => all.ran(path, results),
    rejected: (_n, path, ds) => all.rejected(path, ds),
    end() {
      io.out(junitDocument(all.files));
      if (all.diagnostics.length) io.err(formatDiagnostics(c, sortDiagnostics(all.diagnostics)));
      return all.status;
    },
  };
}

/**
 * Run the selected scenarios of one file, each scenario's invalidations
 * spooled where the report shows them and its spans going to the trace as it
 * runs; bad input found while running throws InputError (its spools disposed).
 */
function runSelected(
  input: SelectedFile,
  o: RunOpts,
  io: Io,
  trace: TraceWriter | undefined,
  log: LogWriter | undefined,
  progress: ((path: string) => RunOptions["onProgress"]) | undefined,
): { results: ScenarioResult[]; invalidations: Invalidations[] } {
  const replay = replayOf(o);
  const one = (s: Scenario, opts: RunOptions): ScenarioResult => {
    if (!replay) return runScenario(input.file, s, opts);
    const { result, steps } = replayScenario(input.file, s, replay, opts);
    printSteps(io, o, input.path, s.name, steps);
    return result;
  };
  const onProgress = progress?.(input.path);
  const spools = new InvalidationSpools(o.json === true);
  const opts: RunOptions = {
    ...runOptions(input, o),
    onProgress,
    /* each scenario's invalidations as it runs: kept (on disk if need be) only where the report shows them */
    keepInvalidations: false,
    ...(o.json || o.metrics ? { onInvalidation: spools.add } : {}),
    ...(trace ? { spans: () => trace.scenario() } : {}),
    ...(log && o.log ? { onSimulator: (sim, s) => logScenario(sim, input.path, s.name, o.log!, log.line) } : {}),
    onResult: (result) => {
      trace?.ended(result);
      spools.ended();
    },
  };
  try {
    return { results: input.scenarios.map((s) => one(s, opts)), invalidations: spools.ran };
  } catch (err) {
    spools.dispose();
    throw err;
  } finally {
    spools.close();
    if (onProgress) io.progress?.(null);
  }
}

/** What every scenario of `input` runs with, as the flags say. */
export function runOptions(input: SelectedFile, o: RunOpts): Pick<RunOptions, "registry" | "driver" | "stepLimit" | "maxPtes" | "seed" | "checkPlugins"> {
  return { registry: input.plugins, driver: driverOverride(o), stepLimit: o.stepLimit, maxPtes: o.limit?.ptes, seed: o.seed, checkPlugins: o.checkPlugins };
}

/** --schedule replays one scenario: what is wrong with the selection, or null. */
function replayUsage(inputs: readonly FileInput[]): [string, string] | null {
  const selected = inputs.reduce((n, i) => n + ("scenarios" in i ? i.scenarios.length : 0), 0);
  if (selected !== 1) return ["--schedule", `replays one scenario, but ${selected} are selected (choose one with --scenario)`];
  return null;
}

export async function runCommand(files: readonly string[], o: RunOpts, ctx: CommandContext): Promise<number> {
  const { io, version } = ctx;
  if (o.json && o.reporter !== "human") return usage(ctx, "--reporter", `--reporter ${o.reporter} and --json are two reports: choose one`);
  if (o.metrics && o.reporter !== "human") return usage(ctx, "--metrics", `only in the human report, not with --reporter ${o.reporter}`);
  if (o.schedule === undefined && o.block !== undefined) return usage(ctx, "--block", "goes with --schedule (the block the schedule interleaves)");
  if (o.schedule === undefined && o.memory !== "sc") return usage(ctx, "--memory", "goes with --schedule (run takes every store as seen at once; explore --memory searches the others)");
  if (o.logFile !== undefined && !o.log) return usage(ctx, "--log-file", "goes with --log (the categories to log)");
  const traceFile = o.trace === undefined ? undefined : OutputFile.open(ctx, "--trace", o.trace);
  if (o.trace !== undefined && !traceFile) return EXIT_BAD_INPUT;
  const logFile = o.logFile === undefined ? undefined : OutputFile.open(ctx, "--log-file", o.logFile);
  if (o.logFile !== undefined && !logFile) {
    traceFile?.close();
    return EXIT_BAD_INPUT;
  }
  const log = o.log ? new LogWriter(io, logFile) : undefined;
  /* no progress line with --json, nor where it would cut into the log's lines on stderr */
  const progress = o.json || (log && !log.file) ? undefined : (path: string) => progressOf(io, path);
  const trace = traceFile && new TraceWriter(version);
  const spooled: Invalidations[] = [];
  let isolation: Isolation | undefined;
  holdPluginTimers();
  try {
    const inputs = await loadSelected(files, o, ctx, true);
    if ("status" in inputs) return inputs.status;
    const replayProblem = o.schedule === undefined ? null : replayUsage(inputs);
    if (replayProblem) return usage(ctx, replayProblem[0], replayProblem[1]);
    /* a user's plugin, or a bound on time or memory: the scenarios run on a worker thread (isolated.ts) */
    if (o.timeout !== undefined || o.maxMemory !== undefined || inputs.some((f) => "plugins" in f && f.plugins.hasUserPlugins())) {
      const { Isolation } = await import("./isolated.js");
      isolation = new Isolation(o, io, trace, progress, log?.line);
    }
    const c = colors(ctx.useColor(o));
    const report =
      o.json ? jsonReporter(io, version) : o.reporter === "ktap" ? ktapReporter(io, c, inputs.length) : o.reporter === "junit" ? junitReporter(io, c) : humanReporter(o, io, c);
    for (const [i, input] of inputs.entries()) {
      if ("diagnostics" in input) {
        report.rejected(i + 1, input.path, input.diagnostics);
        continue;
      }
      let ran: ReturnType<typeof runSelected>;
      try {
        ran = isolation ? await isolation.run(input) : runSelected(input, o, io, trace, log, progress);
      } catch (err) {
        if (err instanceof ReplayError) return usage(ctx, err.flag, err.message);
        if (!(err instanceof InputError)) throw err;
        report.rejected(i + 1, input.path, err.diagnostics);
        continue;
      }
      spooled.push(...ran.invalidations);
      await report.ran(i + 1, input.path, ran.results, ran.invalidations);
    }
    if (traceFile && trace) {
      try {
        traceFile.write(trace.chunks());
      } catch (err) {
        return usage(ctx, "--trace", `cannot write ${traceFile.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
    return await report.end();
  } finally {
    await isolation?.close();
    log?.flush();
    logFile?.close();
    traceFile?.close();
    trace?.dispose();
    for (const inv of spooled) inv.spool.dispose();
  }
}
