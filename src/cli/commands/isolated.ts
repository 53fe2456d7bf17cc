/**
 * `run` on a worker thread (run-worker.ts), for runs that load user plugins
 * or set a --timeout or --max-memory: a plugin's code cannot hang the command
 * or take its memory, print into its report, or end the process. The
 * worker's stdout and stderr come out on stderr. A scenario that runs past
 * --timeout, or a worker over --max-memory (V8's resource limits), is
 * stopped: it fails at the statement that was running, naming the plugin
 * and event if a plugin's code was running, and a new worker runs the
 * scenarios after it. Results, invalidations and trace spans come back as
 * the in-process run makes them, so the reports are the same bytes.
 */
import { once } from "node:events";
import type { Readable } from "node:stream";
import type { Worker } from "node:worker_threads";
import type { Diagnostic, Span } from "../../core/diagnostics.js";
import { InputError } from "../../core/diagnostics.js";
import { startWorker, stopWorker } from "../../core/thread.js";
import type { Scenario, SmmuFile, Stmt } from "../../dsl/ast.js";
import type { InvalidationMetric } from "../../engine/metrics.js";
import { stoppedResult, type RunOptions, type RunningStatement, type ScenarioResult } from "../../engine/runner.js";
import type { SpanSink } from "../../engine/timeline.js";
import type { DriverSpec } from "../../model/topology.js";
import type { TraceWriter } from "../../report/trace.js";
import type { Io } from "../io.js";
import type { LogCategory, RunOpts } from "../options.js";
import { inPluginText } from "../../plugin/running.js";
import { Watch, type WatchedPlace } from "../../plugin/watch.js";
import { Lines } from "../lines.js";
import { InvalidationSpools, type Invalidations } from "./output.js";
import { printSteps, ReplayError, replayOf, type Replay } from "./replay.js";
import { driverOverride, type SelectedFile } from "./select.js";

export type SpanKind = keyof SpanSink;

/** What the worker is started with. */
export interface WorkerSetup {
  /** --plugin, as given (relative to the working directory, which the worker shares). */
  plugins: readonly string[];
  watch: SharedArrayBuffer;
}

/** Scenarios of one file to run: their indexes in `file.scenarios`. */
export interface Job {
  file: SmmuFile;
  /** The file's path, as the command line named it (the log's scenario lines). */
  path: string;
  scenarios: number[];
  /** Check the file's scenarios against the plugins first (the preflight loading deferred when a user's plugin is loaded). */
  preflight: boolean;
  /** run --schedule: the one scenario is replayed, its steps posted before its result. */
  replay?: Replay;
  options: {
    driver?: DriverSpec;
    stepLimit?: number;
    maxPtes?: number;
    seed?: number;
    checkPlugins?: boolean;
    /** post each invalidation's figures */
    invalidations: boolean;
    /** post the trace's spans */
    spans: boolean;
    /** post progress */
    progress: boolean;
    /** post the --log lines of these categories */
    log?: LogCategory[];
  };
}

export type FromWorker =
  | { t: "ready" }
  | { t: "start"; k: number }
  | { t: "invalidations"; list: InvalidationMetric[] }
  | { t: "spans"; list: [SpanKind, unknown][] }
  | { t: "log"; lines: string[] }
  | { t: "progress"; scenario: string; done: number; total: number; running: RunningStatement }
  | { t: "steps"; k: number; lines: string[] }
  | { t: "result"; k: number; result: ScenarioResult }
  | { t: "usage"; flag: string; message: string }
  | { t: "done" }
  | { t: "input"; diagnostics: Diagnostic[] }
  | { t: "fatal"; message: string; stack?: string };

/** How a job ended. */
type Outcome = { done: true } | { input: Diagnostic[] } | { usage: ReplayError } | { stopped: string; place: WatchedPlace };

/** Lines of a stream, each to `line` as it completes; the rest when it ends. */
function forwardLines(stream: Readable, line: (text: string) => void): Promise<void> {
  const lines = new Lines(line);
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => lines.push(chunk));
  return once(stream, "end").then(() => lines.flush());
}

/** The span of the statement of `scenario` at `line`:`column` (nested ones too), or the scenario's own before any ran. */
function statementAt(scenario: Scenario, line: number, column: number): Span {
  const find = (body: readonly Stmt[]): Span | undefined => {
    for (const s of body) {
      if (s.span.line === line && s.span.column === column) return s.span;
      const inner = "body" in s ? find(s.body) : undefined;
      if (inner) return inner;
    }
    return undefined;
  };
  return (line > 0 && find(scenario.body)) || scenario.span;
}

export class Isolation {
  private worker: Worker | undefined;
  /** Settles once the worker has loaded its own modules (or failed to). */
  private ready: Promise<void> = Promise.resolve();
  private output: Promise<void>[] = [];
  private watch = new Watch();

  constructor(
    private readonly o: RunOpts,
    private readonly io: Io,
    private readonly trace: TraceWriter | undefined,
    private readonly progress: ((path: string) => RunOptions["onProgress"]) | undefined,
    /** Where --log lines go, if logging. */
    private readonly log: ((line: string) => void) | undefined,
  ) {}

  private start(): Worker {
    this.watch = new Watch();
    const setup: WorkerSetup = { plugins: this.o.plugin ?? [], watch: this.watch.buffer };
    const w = startWorker(new URL("./run-worker.js", import.meta.url), {
      workerData: setup,
      stdout: true,
      stderr: true,
      ...(this.o.maxMemory !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: this.o.maxMemory } } : {}),
    });
    const err = (line: string): void => this.io.err(line);
    this.output.push(forwardLines(w.stdout, err), forwardLines(w.stderr, err));
    this.ready = new Promise((resolve) => {
      const settle = (): void => {
        w.off("message", settle);
        w.off("error", settle);
        w.off("exit", settle);
        resolve();
      };
      w.on("message", settle);
      w.on("error", settle);
      w.on("exit", settle);
    });
    return w;
  }

  /**
   * The selected scenarios of `input`, on the worker: their results and
   * invalidations as runSelected() gives them; bad input found while
   * running throws InputError.
   */
  async run(input: SelectedFile): Promise<{ results: ScenarioResult[]; invalidations: Invalidations[] }> {
    const indexes = input.scenarios.map((s) => input.file.scenarios.indexOf(s));
    const spools = new InvalidationSpools(this.o.json === true);
    const results: ScenarioResult[] = [];
    const onProgress = this.progress?.(input.path);
    try {
      const replay = replayOf(this.o);
      while (results.length < indexes.length) {
        const rest = indexes.slice(results.length);
        const before = results.length;
        /* once per file: a job after a stopped one runs what the first checked */
        const preflight = before === 0 && input.plugins.hasUserPlugins();
        const job: Job = { file: input.file, path: input.path, scenarios: rest, preflight, ...(replay ? { replay } : {}), options: this.jobOptions() };
        const outcome = await this.job(job, spools, results, onProgress);
        if ("input" in outcome) throw new InputError(outcome.input);
        if ("usage" in outcome) throw outcome.usage;
        if ("done" in outcome) continue;
        /* the first scenario whose result did not come is the one stopped; the watch says where, if it was there */
        const k = results.length - before;
        const place = outcome.place;
        const scenario = input.file.scenarios[rest[k]!]!;
        const span = place.scenario === k ? statementAt(scenario, place.line, place.column) : scenario.span;
        /* -1: the plugins loading, or the file checked against them (a plugin's setup() may be running) */
        const call = place.scenario === k || place.scenario === -1 ? place.call : undefined;
        const where = call ? ` ${inPluginText(call)}` : place.scenario === -1 ? " loading the plugins" : "";
        const message = `${outcome.stopped}${where}`;
        const result = stoppedResult(input.file, scenario, { registry: input.plugins, driver: this.jobOptions().driver }, { span, message, kind: "stopped" });
        /* stopped before it started (loading the plugins is the first scenario's time): its trace starts here */
        if (place.scenario < k) this.trace?.scenario();
        this.trace?.ended(result);
        spools.ended(false);
        results.push(result);
      }
      return { results, invalidations: spools.ran };
    } catch (err) {
      spools.dispose();
      throw err;
    } finally {
      spools.close();
      if (onProgress) this.io.progress?.(null);
    }
  }

  private jobOptions(): Job["options"] & Pick<RunOptions, "driver"> {
    const o = this.o;
    const driver = driverOverride(o);
    return {
      ...(driver ? { driver } : {}),
      stepLimit: o.stepLimit,
      maxPtes: o.limit?.ptes,
      seed: o.seed,
      checkPlugins: o.checkPlugins,
      invalidations: o.json === true || o.metrics === true,
      spans: this.trace !== undefined,
      progress: this.progress !== undefined,
      ...(this.log && o.log ? { log: o.log } : {}),
    };
  }

  /** Run `scenarios` of `input` on the worker (started if need be) until they are done, bad input stops them, or the worker is stopped. */
  private job(
    job: Job,
    spools: InvalidationSpools,
    results: ScenarioResult[],
    onProgress: RunOptions["onProgress"],
  ): Promise<Outcome> {
    const w = (this.worker ??= this.start());
    const timeout = this.o.timeout;
    return new Promise<Outcome>((resolve, reject) => {
      let sink: SpanSink | undefined;
      let deadline: NodeJS.Timeout | undefined;
      let stopping = false;
      const arm = (): void => {
        clearTimeout(deadline);
        if (timeout !== undefined) deadline = setTimeout(() => stop(`timed out after ${timeout} s (--timeout)`), timeout * 1000);
      };
      const settle = (outcome: Outcome): void => {
        clearTimeout(deadline);
        w.off("message", onMessage);
        w.off("error", onError);
        w.off("exit", onExit);
        resolve(outcome);
      };
      /* stopped: the worker is ended before the watch is read, so that it holds still */
      const stop = (why: string): void => {
        if (stopping) return;
        stopping = true;
        this.worker = undefined;
        void stopWorker(w).then(() => settle({ stopped: why, place: this.watch.read() }));
      };
      const onMessage = (m: FromWorker): void => {
        switch (m.t) {
          case "ready":
            return;
          case "start":
            sink = this.trace?.scenario();
            return arm();
          case "invalidations":
            return m.list.forEach(spools.add);
          case "spans":
            for (const [kind, s] of m.list) (sink?.[kind] as ((x: unknown) => void) | undefined)?.(s);
            return;
          case "log":
            return m.lines.forEach((l) => this.log?.(l));
          case "progress":
            return onProgress?.(m.scenario, m.done, m.total, m.running);
          case "steps":
            return printSteps(this.io, this.o, job.path, job.file.scenarios[job.scenarios[m.k]!]!.name, m.lines);
          case "result":
            this.trace?.ended(m.result);
            spools.ended();
            results.push(m.result);
            return;
          case "done":
            return settle({ done: true });
          case "input":
            return settle({ input: m.diagnostics });
          case "usage":
            return settle({ usage: new ReplayError(m.flag, m.message) });
          case "fatal":
            clearTimeout(deadline);
            this.worker = undefined;
            void w.terminate();
            return reject(Object.assign(new Error(m.message), m.stack ? { stack: m.stack } : {}));
        }
      };
      const onError = (err: Error & { code?: string }): void => {
        const mb = this.o.maxMemory;
        stop(err.code === "ERR_WORKER_OUT_OF_MEMORY" ? `ran out of memory: over ${mb ?? "the"} MB (--max-memory)` : `the run's worker thread failed: ${err.message}`);
      };
      const onExit = (code: number): void => stop(`the run's worker thread exited (code ${code})`);
      w.on("message", onMessage);
      w.on("error", onError);
      w.on("exit", onExit);
      void this.ready.then(() => {
        if (stopping) return;
        arm();
        w.postMessage(job);
      });
    });
  }

  /** Stop the worker, and let what it printed out. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
    await Promise.all(this.output);
  }
}
