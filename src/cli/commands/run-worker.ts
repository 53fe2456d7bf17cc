/**
 * The worker thread `run` starts when user plugins are loaded, or a
 * --timeout or --max-memory is given (isolated.ts starts and watches it).
 * It loads the plugins again (the command line's and each file's `use`),
 * runs the scenarios it is sent one by one, and posts what the report needs
 * as it goes: each scenario's start, its invalidations and trace spans in
 * batches, its result. Between scenarios a turn of the event loop lets what
 * the plugins queued run, and the sandbox adds what they left behind to the
 * result. The watch says where the run is, for the thread that may stop it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { InputError, sortDiagnostics } from "../../core/diagnostics.js";
import { loadCliPlugins, loadUses } from "../../engine/load.js";
import type { InvalidationMetric } from "../../engine/metrics.js";
import { preflight } from "../../engine/preflight.js";
import { runScenario, withFailures, type RunOptions } from "../../engine/runner.js";
import type { SpanSink } from "../../engine/timeline.js";
import { builtinRegistry } from "../../index.js";
import { logScenario } from "../../report/log.js";
import { observePluginCalls } from "../../plugin/running.js";
import { Sandbox } from "../sandbox.js";
import { Watch } from "../../plugin/watch.js";
import type { FromWorker, Job, SpanKind, WorkerSetup } from "./isolated.js";
import { ReplayError, replayScenario } from "./replay.js";

const setup = workerData as WorkerSetup;
const port = parentPort!;
const watch = new Watch(setup.watch);
const sandbox = new Sandbox();
sandbox.install();
observePluginCalls((call) => watch.call(call));

const post = (m: FromWorker): void => port.postMessage(m);

/** Items posted together, not one message each. */
const BATCH = 512;
/** How often progress is posted (wall clock; display only). */
const PROGRESS_MS = 100;

/** Invalidations and spans of the running scenario, waiting to be posted. */
class Batches {
  invalidations: InvalidationMetric[] = [];
  spans: [SpanKind, unknown][] = [];
  lines: string[] = [];

  invalidation = (m: InvalidationMetric): void => {
    if (this.invalidations.push(m) >= BATCH) this.flush();
  };

  span(kind: SpanKind, s: unknown): void {
    if (this.spans.push([kind, s]) >= BATCH) this.flush();
  }

  line = (text: string): void => {
    if (this.lines.push(text) >= BATCH) this.flush();
  };

  flush(): void {
    if (this.invalidations.length) post({ t: "invalidations", list: this.invalidations });
    if (this.spans.length) post({ t: "spans", list: this.spans });
    if (this.lines.length) post({ t: "log", lines: this.lines });
    this.invalidations = [];
    this.spans = [];
    this.lines = [];
  }
}

/** A turn of the event loop: what a plugin queued runs, and a rejection nothing caught is reported. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function runJob(job: Job): Promise<void> {
  const registry = builtinRegistry();
  await loadCliPlugins(setup.plugins, registry);
  const problems = await loadUses(job.file, registry);
  if (job.preflight) {
    problems.push(...preflight(job.file, registry, job.options.driver).filter((d) => d.severity === "error"));
    /* what the plugins' setup() left here is left again where each scenario sets them up, and reported there */
    await turn();
    sandbox.take([]);
  }
  if (problems.length) throw new InputError(sortDiagnostics(problems));
  const batches = new Batches();
  /* Required: a kind of span added to the timeline must be forwarded here too */
  const sink: Required<SpanSink> = {
    op: (s) => batches.span("op", s),
    step: (s) => batches.span("step", s),
    command: (s) => batches.span("command", s),
    atcInv: (s) => batches.span("atcInv", s),
    dma: (s) => batches.span("dma", s),
    wait: (s) => batches.span("wait", s),
    invalidation: (s) => batches.span("invalidation", s),
  };
  let shown = -Infinity;
  const o = job.options;
  const opts: RunOptions = {
    registry,
    driver: o.driver,
    stepLimit: o.stepLimit,
    maxPtes: o.maxPtes,
    seed: o.seed,
    checkPlugins: o.checkPlugins,
    keepInvalidations: false,
    ...(o.invalidations ? { onInvalidation: batches.invalidation } : {}),
    ...(o.spans ? { spans: () => sink } : {}),
    ...(o.log ? { onSimulator: (sim, s) => logScenario(sim, job.path, s.name, o.log!, batches.line) } : {}),
    ...(o.progress
      ? {
          onProgress: (scenario, done, total, running) => {
            const now = Date.now();
            if (now - shown < PROGRESS_MS) return;
            shown = now;
            post({ t: "progress", scenario, done, total, running });
          },
        }
      : {}),
    onStatement: (span) => {
      watch.statement(span.line, span.column);
      sandbox.at = span;
    },
  };
  for (const [k, index] of job.scenarios.entries()) {
    const scenario = job.file.scenarios[index]!;
    watch.scenario(k);
    sandbox.at = scenario.span;
    post({ t: "start", k });
    let result;
    if (job.replay) {
      const replayed = replayScenario(job.file, scenario, job.replay, opts);
      post({ t: "steps", k, lines: replayed.steps });
      result = replayed.result;
    } else result = runScenario(job.file, scenario, opts);
    batches.flush();
    await turn();
    post({ t: "result", k, result: withFailures(result, sandbox.take(result.failures)) });
  }
}

/* loaded: the clock of --timeout starts now (a plugin's own loading counts, the thread's start does not) */
post({ t: "ready" });

port.on("message", (job: Job) => {
  runJob(job).then(
    () => post({ t: "done" }),
    (err: unknown) => {
      if (err instanceof InputError) post({ t: "input", diagnostics: err.diagnostics });
      else if (err instanceof ReplayError) post({ t: "usage", flag: err.flag, message: err.message });
      else post({ t: "fatal", message: err instanceof Error ? err.message : String(err), ...(err instanceof Error && err.stack ? { stack: err.stack } : {}) });
    },
  );
});
