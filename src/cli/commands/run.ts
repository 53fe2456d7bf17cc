/**
 * `run`: the selected scenarios of each file, reported as the chosen
 * reporter prints them (human, --json, ktap, junit), with an optional trace.
 * Output files are opened before anything runs.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { InputError, sortDiagnostics, type Diagnostic } from "../../core/diagnostics.js";
import { runScenario, scenarioStatus, type RunOptions, type ScenarioResult } from "../../engine/runner.js";
import type { Timeline } from "../../engine/timeline.js";
import { colors, formatDiagnostics, formatScenario, formatSummary } from "../../report/human.js";
import { jsonReport, type FileReport } from "../../report/json.js";
import { junitDocument, type FileOutcome } from "../../report/junit.js";
import { ktapHeader, ktapRejected, ktapSuite } from "../../report/ktap.js";
import { formatMetrics } from "../../report/metrics.js";
import { traceDocument, type TracedRun } from "../../report/trace.js";
import { EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, type Io } from "../io.js";
import type { CommandContext, RunOpts } from "../options.js";
import { usage, type Colors } from "./common.js";
import { driverOverride, loadSelected, type SelectedFile } from "./select.js";

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

/** An output file, created (or truncated) before the run; undefined after a usage error naming `flag`. */
function openOutput(ctx: CommandContext, flag: string, path: string): number | undefined {
  try {
    return openSync(path, "w");
  } catch (err) {
    usage(ctx, flag, `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return undefined;
  }
}

/** What a reporter is told as the run goes; end() prints what is left and gives the exit status. */
interface Reporter {
  ran(n: number, path: string, results: ScenarioResult[]): void;
  rejected(n: number, path: string, diagnostics: Diagnostic[]): void;
  end(): number;
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

function humanReporter(o: RunOpts, io: Io, c: Colors): Reporter {
  const all = new Outcomes();
  return {
    ran(_n, path, results) {
      all.ran(path, results);
      io.out(c.bold(path));
      for (const r of results) {
        io.out(formatScenario(c, r));
        if (o.metrics) io.out(formatMetrics(c, r));
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

function jsonReporter(io: Io, version: string): Reporter {
  const all = new Outcomes();
  return {
    ran: (_n, path, results) => all.ran(path, results),
    rejected: (_n, path, ds) => all.rejected(path, ds),
    end() {
      const reports = all.files.filter((f): f is FileReport => "scenarios" in f);
      io.out(JSON.stringify(jsonReport(reports, sortDiagnostics(all.diagnostics), version, { rejected: all.files.length - reports.length }), null, 2));
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

/** Run the selected scenarios of one file; bad input found while running throws InputError. */
function runSelected(input: SelectedFile, o: RunOpts, io: Io, traced: TracedRun[] | undefined): ScenarioResult[] {
  const onTimeline = traced && ((result: ScenarioResult, timeline: Timeline): void => void traced.push({ result, timeline }));
  const onProgress = o.json ? undefined : progressOf(io, input.path);
  const opts: RunOptions = { registry: input.plugins, driver: driverOverride(o), stepLimit: o.stepLimit, seed: o.seed, onTimeline, onProgress };
  try {
    return input.scenarios.map((s) => runScenario(input.file, s, opts));
  } finally {
    if (onProgress) io.progress?.(null);
  }
}

export async function runCommand(files: readonly string[], o: RunOpts, ctx: CommandContext): Promise<number> {
  const { io, version } = ctx;
  if (o.json && o.reporter !== "human") return usage(ctx, "--reporter", `--reporter ${o.reporter} and --json are two reports: choose one`);
  if (o.metrics && o.reporter !== "human") return usage(ctx, "--metrics", `only in the human report, not with --reporter ${o.reporter}`);
  const traceFd = o.trace === undefined ? undefined : openOutput(ctx, "--trace", o.trace);
  if (o.trace !== undefined && traceFd === undefined) return EXIT_BAD_INPUT;
  const traced: TracedRun[] | undefined = traceFd === undefined ? undefined : [];
  try {
    const inputs = await loadSelected(files, o, ctx);
    if ("status" in inputs) return inputs.status;
    const c = colors(ctx.useColor(o));
    const report =
      o.json ? jsonReporter(io, version) : o.reporter === "ktap" ? ktapReporter(io, c, inputs.length) : o.reporter === "junit" ? junitReporter(io, c) : humanReporter(o, io, c);
    for (const [i, input] of inputs.entries()) {
      if ("diagnostics" in input) {
        report.rejected(i + 1, input.path, input.diagnostics);
        continue;
      }
      let results: ScenarioResult[];
      try {
        results = runSelected(input, o, io, traced);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        report.rejected(i + 1, input.path, err.diagnostics);
        continue;
      }
      report.ran(i + 1, input.path, results);
    }
    if (traceFd !== undefined) {
      try {
        writeSync(traceFd, `${JSON.stringify(traceDocument(traced!, version))}\n`);
      } catch (err) {
        return usage(ctx, "--trace", `cannot write ${o.trace}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
    return report.end();
  } finally {
    if (traceFd !== undefined) closeSync(traceFd);
  }
}
