/**
 * Running a compiled file: each scenario on a fresh platform built from the
 * file's topology, its statements in order, every expectation checked. An
 * operation that fails (-errno, a livelock, an oops, a use after free), an
 * expectation that does not hold, or a stale translation nobody expected is
 * a failure at the line it came from.
 */
import type { Span } from "../core/diagnostics.js";
import { errnoName, ERRNOS } from "../core/errno.js";
import { InputError, diagnostic, type Diagnostic } from "../core/diagnostics.js";
import { globMatcher, isGlob } from "../core/glob.js";
import { KernelOopsError, UseAfterFreeError } from "../core/rcu.js";
import { LivelockError } from "../core/steps.js";
import { NoHandlerError, PluginFault } from "../core/bus.js";
import { isOperation, scenarioStatements, type DriverChoice, type ErrorExpectation, type Operation, type Scenario, type SmmuFile, type Stmt } from "../dsl/ast.js";
import { assertNever } from "../model/assert-never.js";
import { DriverUnsupportedError, type InvsAlgebra } from "../model/driver.js";
import type { TranslateResult } from "../model/translation.js";
import { formatCmd } from "../model/commands.js";
import type { DriverSpec, JsonValue } from "../model/topology.js";
import { PageTableError, PteLimitError } from "../model/page-table.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { driverProblem } from "../schema/validate.js";
import { checkCond, checkContains, checkDma, checkExact, checkInvs } from "./expectations.js";
import { MetricsRecorder, type InvalidationMetric, type ScenarioMetrics } from "./metrics.js";
import { CacheCounter, type CacheStats } from "./cache-stats.js";
import { Simulator, type Op } from "./simulator.js";
import type { Registers } from "./thread.js";
import type { SpanSink, Timeline } from "./timeline.js";
import type { Violation } from "./oracle.js";
import { hex } from "../model/hex.js";
import { ExpectedError } from "../model/expected-error.js";

export interface Failure {
  span: Span;
  message: string;
  /** Expected against actual, one line each ("- expected", "+ actual", "  same"). */
  detail?: string[];
  /**
   * What failed, as a schedule explorer tells failures apart: "expect" (an
   * expectation), "warn" (a WARN nobody expected), an operation's ("errno",
   * "oops", "use_after_free", "livelock", "plugin"), or the oracle's
   * violation kind ("stale", "stale-walk", ...). Not in the JSON report.
   */
  kind?: string;
  /**
   * Set when the statement needs what this driver or variant lacks (a domain
   * on a second SMMU before sharing, an invalidation array before the
   * series): what it lacks, short ("-EINVAL", "no array"); `compare` shows
   * such a cell as n/a.
   */
  lacks?: string;
  /** How many times this failure occurred at its place (a loop repeating it), when more than once. */
  count?: number;
  /** Failures at this place not kept, past the first PER_PLACE distinct ones (a loop failing differently each time). */
  others?: number;
}

/** Distinct failures kept per statement; the rest only counted (a loop must not fill the report). */
const PER_PLACE = 10;
/** Distinct warnings kept per scenario; the rest only counted. */
const WARNINGS_KEPT = 1000;

/**
 * passed: nothing failed; failed: something failed; skipped: the first
 * failure was a statement needing what the driver or variant lacks (an
 * invalidation array, a domain on a second SMMU), so the scenario could not
 * be judged under it. A skip is never a pass and never a failure.
 */
export type ScenarioStatus = "passed" | "failed" | "skipped";

export function scenarioStatus(r: Pick<ScenarioResult, "passed" | "skipped">): ScenarioStatus {
  return r.passed ? "passed" : r.skipped ? "skipped" : "failed";
}

export interface ScenarioResult {
  name: string;
  span: Span;
  driver: { plugin: string; variant: string; options?: Record<string, JsonValue> };
  /** Nothing failed. */
  passed: boolean;
  /**
   * Skipped (so not passed, and not failed): its first failure was a
   * statement that needs what the driver lacks; why, and what it lacks, short
   * (Failure.lacks).
   */
  skipped?: { span: Span; reason: string; lacks: string };
  /** Every failure, in the order they happened; when skipped, the lack first, then what followed it (not judged). */
  failures: Failure[];
  violations: Violation[];
  warnings: string[];
  /** What its `show` statements printed, in the order they ran; absent when it has none. */
  shows?: ShownState[];
  /** Commands and CMD_SYNCs each SMMU received. */
  commands: Record<string, { commands: number; syncs: number }>;
  /** Simulated time: what each invalidation took and queued; and what each cache and table walker did. */
  metrics: ScenarioMetrics & CacheStats;
}

/** What one `show` statement printed, where it is written. */
export interface ShownState {
  span: Span;
  /** The statement, as written: "show cd gpu0 pasid 1". */
  what: string;
  lines: string[];
}

export interface RunOptions {
  registry: PluginRegistry;
  /** Run only the scenarios these names or globs match (see selectScenarios). */
  scenario?: string | readonly string[];
  /** Override the file's and scenarios' driver. */
  driver?: DriverSpec;
  /** Seeds the interleavings of `concurrently` blocks (0 by default). */
  seed?: number;
  stepLimit?: number;
  /** Page-table entries a scenario may hold at once (DEFAULT_MAX_PTES); a map beyond it is bad input at its statement. */
  maxPtes?: number;
  /**
   * Called before each of a scenario's top-level statements, and again every
   * TICK_STEPS steps while it runs: how far the scenario has got and the
   * statement running (for a progress line).
   */
  onProgress?: (scenario: string, done: number, total: number, running: RunningStatement) => void;
  /** Shape-check the events of the built-in plugins too (a user's plugins are always checked). */
  checkPlugins?: boolean;
  /**
   * Called with each scenario's result and the whole timeline of its run.
   * The timeline keeps every span only when this is given: a long run
   * streams them through `spans` instead.
   */
  onTimeline?: (result: ScenarioResult, timeline: Timeline) => void;
  /** Called once a scenario's platform is set up: what hears the spans of its run as they end (a trace written as the run goes). */
  spans?: () => SpanSink;
  /** Called once a scenario's platform is set up, before it runs: what listens to its bus (`run --log`). */
  onSimulator?: (sim: Simulator, scenario: Scenario) => void;
  /**
   * Keep each invalidation's figures in the results' `metrics.invalidations`
   * (true by default, false by default when `onInvalidation` is given): a
   * long run's would not fit in memory. The statistics are kept anyway.
   */
  keepInvalidations?: boolean;
  /** Hears each invalidation's figures as it ends, scenario after scenario (each scenario's before its result). */
  onInvalidation?: (m: InvalidationMetric) => void;
  /** Called with each scenario's result as it finishes. */
  onResult?: (result: ScenarioResult) => void;
  /** Called as each statement starts, nested ones too: where a watchdog on another thread finds the run when it stops it. */
  onStatement?: (span: Span) => void;
}

/** The statement a progress report is about: where it is and what it is. */
export interface RunningStatement {
  line: number;
  kind: Stmt["kind"];
}

/** Something the statement did that an `expect error` can catch. */
class OpFailure extends ExpectedError {
  constructor(
    /**
     * "unsupported": the driver has nothing the statement can work on (it keeps no
     * invalidation array): the scenario stops, skipped unless something failed first.
     * "missing": what the statement works on was never made (the statement that should have failed).
     */
    readonly kind: ErrorExpectation["kind"] | "plugin" | "unsupported" | "missing",
    message: string,
    readonly errno = 0,
    /** What the driver lacks, when that is why (Failure.lacks). */
    readonly lacks?: string,
  ) {
    super(message);
  }

  /** The statement it happened at, where the block around it (expect error, expect warn) is not where it should be reported. */
  at?: Span;
}

/** A driver:errno the driver emitted, on the CPU whose operation it belongs to. */
interface ErrnoReason {
  cpu: string;
  fn: string;
  errno: number;
  cond: string;
  lacks: boolean;
}

/** A plugin that threw or sent something malformed fails the scenario at the statement that ran it. */
function pluginFailure(err: unknown): unknown {
  if (err instanceof PluginFault) return new OpFailure("plugin", err.message);
  return err;
}

/** The topology's driver, then the file's or scenario's choice, then the command line's, each overriding the last. */
export function driverSpec(file: SmmuFile, scenario: Scenario | undefined, override?: DriverSpec): DriverSpec {
  const choice: DriverChoice | undefined = scenario?.driver ?? file.driver;
  const spec: DriverSpec = { ...file.topology.driver, ...(choice ? { plugin: choice.plugin, variant: choice.variant, options: choice.options } : {}) };
  if (!override) return spec;
  /* another driver plugin has other options: the file's only carry over to the same plugin */
  const samePlugin = override.plugin === undefined || override.plugin === spec.plugin;
  return {
    plugin: override.plugin ?? spec.plugin,
    variant: override.variant ?? (samePlugin ? spec.variant : undefined),
    options: { ...(samePlugin ? spec.options : {}), ...override.options },
  };
}

/** What a driver without invalidation arrays lacks (Failure.lacks). */
const NO_ARRAY = "no array";

/** How the report prints a driver message of each level. */
const LOG_PREFIX = { err: "dev_err", warn: "dev_warn", info: "note" } as const;

/** `expect warn "TEXT"` expects a WARN in the function named TEXT, or one whose condition contains TEXT. */
function warnMatches(text: string, w: { fn: string; cond: string }): boolean {
  return w.fn === text || w.cond.includes(text);
}

/** Why a statement about invalidation arrays cannot run under `plugin`. */
function noArray(plugin: string, what: string): string {
  return `${plugin} keeps no invalidation array: ${what} needs a driver that has one (driver-invs)`;
}

/** A statement's stepped operation and how its result is judged. */
interface Part {
  stmt: Stmt;
  op: Op;
  /** `agent`: the CPU (or device) that ran it, whose driver:errno reasons explain a failure. */
  done(result: unknown, agent: string): void;
}

/** The agent that runs operation `i` of a `concurrently` block: a CPU, or for a DMA the device's transaction. */
export function blockAgent(stmt: Stmt, i: number): string {
  return stmt.kind === "dma" ? `dma${i}` : `cpu${i}`;
}

/** A `concurrently` block handed to a schedule explorer: its ordinal among the scenario's top-level ones, and its operations. */
export interface BlockRequest {
  readonly index: number;
  readonly stmt: Extract<Stmt, { kind: "concurrently" }>;
  readonly ops: readonly Op[];
}

export class ScenarioRun {
  readonly sim: Simulator;
  readonly failures: Failure[] = [];
  /** Each distinct warning, with how many times it fired. */
  private readonly warningCounts = new Map<string, number>();
  private warningsDropped = 0;
  /** addFailure()'s indexes: by place, message and kind; by place, how many distinct ones and the last kept. */
  private readonly failureKeys = new Map<string, Failure>();
  private readonly failuresAt = new Map<string, { n: number; last: Failure }>();
  readonly shows: ShownState[] = [];
  /** Violations found so far that an `expect stale` acknowledged, or that were reported. */
  private seen = 0;
  private violationSpans: Span[] = [];

  private readonly seed: number;
  private readonly driverSpec: DriverSpec;
  private readonly metrics: MetricsRecorder;
  private readonly caches: CacheCounter;

  constructor(
    readonly file: SmmuFile,
    readonly scenario: Scenario,
    opts: RunOptions,
  ) {
    this.seed = opts.seed ?? 0;
    this.onStatement = opts.onStatement;
    const driver = (this.driverSpec = driverSpec(file, scenario, opts.driver));
    const choice = scenario.driver ?? file.driver;
    const choiceSpan = choice?.span ?? scenario.span;
    const problem = driverProblem(driver, opts.registry);
    if (problem) {
      const at = (problem.option !== undefined ? choice?.optionSpans?.[problem.option] : undefined) ?? choiceSpan;
      throw new InputError([diagnostic(at, "setup", problem.message, problem.hint)]);
    }
    const progress = opts.onProgress;
    const onSteps = progress && ((): void => progress(scenario.name, this.done, this.total, this.running!));
    try {
      this.sim = new Simulator(file.topology, {
        registry: opts.registry,
        driver,
        stepLimit: opts.stepLimit,
        maxPtes: opts.maxPtes,
        checkPlugins: opts.checkPlugins,
        keepSpans: opts.onTimeline !== undefined,
        ...(onSteps ? { onSteps } : {}),
      });
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      throw new InputError([diagnostic(choiceSpan, "setup", err.message)]);
    }
    const smmus = this.sim.platform.smmus().map((x) => x.name);
    this.metrics = new MetricsRecorder(smmus, { keep: opts.keepInvalidations ?? opts.onInvalidation === undefined, onInvalidation: opts.onInvalidation });
    this.sim.timeline.listen(this.metrics);
    if (opts.spans) this.sim.timeline.listen(opts.spans());
    this.caches = new CacheCounter(this.sim.bus);
    opts.onSimulator?.(this.sim, scenario);
    this.sim.bus.on("driver:warn", "runner", (w) => {
      this.warn(`WARNING: ${w.fn}: ${w.cond}`);
      this.firedWarns.push(w);
    });
    this.sim.bus.on("driver:log", "runner", (m) => this.warn(`${LOG_PREFIX[m.level]}: ${m.fn}: ${m.msg}`));
    this.sim.bus.on("driver:errno", "runner", (e) => this.reasons.push({ cpu: this.sim.clock.cpu, fn: e.fn, errno: e.errno, cond: e.cond, lacks: e.lacks === true }));
  }

  /** WARNs fired since the last statement was judged. */
  private readonly firedWarns: { fn: string; cond: string }[] = [];
  /** The `expect warn` blocks running, innermost last. */
  private readonly warnExpects: { text: string; matched: number }[] = [];

  /**
   * The WARNs `stmt` fired: each is an expected one if an `expect warn`
   * around it matches (innermost first), else a failure at the statement.
   */
  private judgeWarns(span: Span): void {
    for (const w of this.firedWarns.splice(0)) {
      const by = this.warnExpects.findLast((e) => warnMatches(e.text, w));
      if (by) by.matched++;
      else this.fail(span, `unexpected WARN in ${w.fn}(): ${w.cond}`, undefined, "warn");
    }
  }

  /** Run one statement of a block and judge the WARNs it fired, whether it failed or not. */
  private exec(s: Stmt): void {
    this.onStatement?.(s.span);
    try {
      this.stmt(s);
    } finally {
      this.judgeWarns(s.span);
    }
  }

  private readonly onStatement: RunOptions["onStatement"];

  /** Top-level statements done, of how many, and the one running (for progress). */
  private done = 0;
  private total = 0;
  private running: RunningStatement | undefined;

  /** The driver:errno reasons of the operations running now (cleared before each statement). */
  private reasons: ErrnoReason[] = [];

  run(onProgress?: RunOptions["onProgress"]): void {
    const script = this.script(onProgress, () => false);
    const first = script.next();
    if (!first.done) throw new Error(`block ${first.value.index} was handed out`);
  }

  /**
   * The scenario statement by statement (so a long one can show where it
   * is). A top-level `concurrently` block that `explored` picks (by its
   * ordinal among them) is handed to the caller instead of run by the seed:
   * the generator yields its operations and takes back their results.
   */
  *script(onProgress: RunOptions["onProgress"], explored: (index: number) => boolean): Generator<BlockRequest, void, unknown[]> {
    try {
      const { count, statements, lastLooks: last } = scenarioStatements(this.scenario);
      this.total = count;
      const lastLooks = this.keepCommandsForLooks(last);
      let blocks = 0;
      let i = -1;
      for (const s of statements) {
        i++;
        this.done = i;
        this.running = { line: s.span.line, kind: s.kind };
        onProgress?.(this.scenario.name, i, count, this.running);
        if (s.kind === "concurrently" && explored(blocks++)) {
          this.onStatement?.(s.span);
          const parts = this.parts(s);
          this.reasons = [];
          const results = yield { index: blocks - 1, stmt: s, ops: parts.map((p) => p.op) };
          this.judgeParts(parts, results, (k) => blockAgent(s.body[k]!, k));
          this.judgeWarns(s.span);
          this.noteViolations(s.span);
        } else {
          this.block([s]);
        }
        for (const smmu of lastLooks.get(i) ?? []) this.sim.keepCommands(smmu, false);
      }
    } catch (err) {
      if (!(err instanceof OpFailure)) throw err;
    }
    this.judgeWarns(this.scenario.span);
    this.unexpectedViolations(this.scenario.span);
  }

  /** An operation of a handed-out block failed (an errno from io-pgtable, an oops, a use after free). */
  failBlock(span: Span, kind: "errno" | "oops" | "use_after_free", message: string): void {
    this.addFailure({ span, message, kind });
  }

  /**
   * An SMMU's commands are kept only until the last statement that looks at
   * them (`expect commands`, `expect count`); after it, and for an SMMU no
   * statement looks at, they are only counted. `last` gives, per SMMU, its
   * last look (lastLooks()); returns, per statement, the SMMUs whose last
   * look it holds.
   */
  private keepCommandsForLooks(last: ReadonlyMap<string, number>): Map<number, string[]> {
    for (const smmu of this.sim.platform.smmus()) if (!last.has(smmu.name)) this.sim.keepCommands(smmu.name, false);
    const byStmt = new Map<number, string[]>();
    for (const [smmu, i] of last) byStmt.set(i, [...(byStmt.get(i) ?? []), smmu]);
    return byStmt;
  }

  private block(stmts: readonly Stmt[]): void {
    for (const s of stmts) {
      try {
        this.exec(s);
      } catch (caught) {
        const err = pluginFailure(caught);
        if (err instanceof OpFailure) {
          this.addFailure({ span: err.at ?? s.span, message: err.message, kind: err.kind, ...(err.lacks ? { lacks: err.lacks } : {}) });
          /* an emulator-level failure leaves the platform unusable: stop here */
          if (err.kind !== "errno") throw err;
        } else throw err;
      }
      this.noteViolations(s.span);
    }
  }

  private noteViolations(span: Span): void {
    while (this.violationSpans.length < this.sim.violations.length) this.violationSpans.push(span);
  }

  /** Run one operation, `at` the statement; emulator-detected failures become OpFailures, a bound of the emulator's an InputError. */
  private op<T>(what: string, at: Span, f: () => T): T {
    try {
      return f();
    } catch (err) {
      if (err instanceof PteLimitError) {
        const limit = this.sim.core.maxPtes;
        const held = limit - err.room;
        throw new InputError([diagnostic(at, "limit", `${what} needs ${err.needed} page-table entries; with the ${held} mapped, over the limit of ${limit} a scenario may hold (ptes)`)]);
      }
      if (err instanceof LivelockError) throw new OpFailure("livelock", `${what}: ${err.message}`);
      if (err instanceof KernelOopsError) throw new OpFailure("oops", `${what}: ${err.message}`);
      if (err instanceof UseAfterFreeError) throw new OpFailure("use_after_free", `${what}: ${err.message}`);
      if (err instanceof PageTableError) throw new OpFailure("errno", `${what}: ${err.message}: -${err.errno}`, ERRNOS.get(err.errno)!);
      throw err;
    }
  }

  /**
   * A -errno result as a failure, with the kernel's reason: the last
   * driver:errno of that errno the operation on `cpu` emitted (an SVA bind
   * may have skipped others on its way).
   */
  private errno(what: string, ret: number, cpu: string): void {
    if (ret === 0) return;
    throw this.errnoFailure(`${what} failed: ${errnoName(-ret)}`, ret, cpu);
  }

  /** The failure `message` (its -errno `ret`) with the reason the operation on `cpu` gave, if any. */
  private errnoFailure(message: string, ret: number, cpu: string): OpFailure {
    const why = this.reasons.findLast((r) => r.cpu === cpu && r.errno === -ret);
    return new OpFailure("errno", `${message}${why ? ` (${why.fn}: ${why.cond})` : ""}`, -ret, why?.lacks ? errnoName(-ret) : undefined);
  }

  private at(span: Span): string {
    return `${span.file}:${span.line}:${span.column}`;
  }

  /** The stepped operation a statement performs, and how its result (of the operation on `cpu`) is judged. */
  private operation(s: Operation): { op: Op; done(result: unknown, cpu: string): void } {
    const sim = this.sim;
    const at = this.at(s.span);
    const none = (): void => {};
    switch (s.kind) {
      case "attach": {
        const what = `${s.sva ? "sva bind" : "attach"} ${s.device} ${s.target}${s.pasid !== undefined ? ` pasid ${s.pasid}` : ""}`;
        const op = s.pasid !== undefined ? sim.ops.attachPasid(s.device, s.target, s.pasid, at) : sim.ops.attach(s.device, s.target, at);
        return { op, done: (ret, cpu) => this.errno(what, ret as number, cpu) };
      }
      case "detach":
        return { op: sim.ops.detachPasid(s.device, s.pasid!, at), done: none };
      case "map":
        return { op: sim.ops.map(s.domain, s.iova, s.size, { pa: s.pa, writable: !s.readonly, at }), done: none };
      case "unmap":
        return { op: sim.ops.unmap(s.domain, s.iova, s.size, at), done: none };
      case "flush":
        return { op: sim.ops.flush(s.domain, at), done: none };
      case "mm-invalidate": {
        const start = s.start ?? 0n;
        const end = s.size !== undefined ? start + s.size : (1n << 64n) - 1n;
        return { op: sim.ops.mmInvalidate(s.domain, start, end, at), done: none };
      }
      case "mm-release":
        return { op: sim.ops.mmRelease(s.domain, at), done: none };
      case "vsmmu-invalidate":
        return {
          op: sim.ops.vsmmuInvalidate(s.vsmmu, s.cmds, at),
          done: (r, cpu) => {
            const { ret, entryNum } = r as { ret: number; entryNum: number };
            if (ret === 0) return;
            const at = entryNum < s.cmds.length ? ` (entry ${entryNum}: ${formatCmd(s.cmds[entryNum]!)})` : "";
            throw this.errnoFailure(`vsmmu ${s.vsmmu} invalidate failed: ${errnoName(-ret)}, entry_num ${entryNum} of ${s.cmds.length}${at}`, ret, cpu);
          },
        };
      case "thread":
        return { op: sim.ops.thread(s.ops, at), done: (r) => this.setRegisters(r as Registers) };
      case "dma":
        return {
          op: sim.ops.dma(s.device, s.access, s.iova, { pasid: s.pasid, sid: s.sid, at }),
          done: (r) => {
            const why = s.expect && checkDma(s.expect, r as TranslateResult);
            if (why) this.fail(s.span, `dma ${s.device} ${s.access} ${hex(s.iova)}: ${why}`);
          },
        };
      default:
        return assertNever(s);
    }
  }

  /** A `concurrently` block: its operations interleaved by the scenario's seed, then each judged. */
  private concurrently(s: Extract<Stmt, { kind: "concurrently" }>): void {
    const parts = this.parts(s);
    const seed = (this.seed * 1_000_003 + this.blocks++) >>> 0;
    this.reasons = [];
    const results = this.op("concurrently", s.span, () => this.sim.runConcurrently(parts.map((p) => p.op), seed));
    /* runConcurrently() runs the i-th operation on cpu<i> */
    this.judgeParts(parts, results, (i) => `cpu${i}`);
  }

  private parts(s: Extract<Stmt, { kind: "concurrently" }>): Part[] {
    return s.body.map((b) => ({ stmt: b, ...this.operation(b) }));
  }

  /** Each operation of a block judged on its result; `agentOf(i)` ran the i-th. */
  private judgeParts(parts: readonly Part[], results: readonly unknown[], agentOf: (i: number) => string): void {
    for (const [i, p] of parts.entries()) {
      try {
        p.done(results[i], agentOf(i));
      } catch (err) {
        if (!(err instanceof OpFailure)) throw err;
        this.addFailure({ span: p.stmt.span, message: err.message, kind: err.kind, ...(err.lacks ? { lacks: err.lacks } : {}) });
      }
    }
  }

  private blocks = 0;

  private stmt(s: Stmt): void {
    const sim = this.sim;
    if (isOperation(s)) {
      const o = this.operation(s);
      this.reasons = [];
      /* run() runs the operation on cpu0 */
      return o.done(this.op(o.op.label, s.span, () => sim.run(o.op)), "cpu0");
    }
    switch (s.kind) {
      case "concurrently":
        return this.concurrently(s);
      case "fail-alloc":
        return this.input(s.span, () => sim.failAllocs(s.site, s.count));
      case "fault":
        return this.input(s.span, () => sim.inject(s.device, s.fault, s.on));
      case "expect-commands": {
        const cmds = this.window(s.smmu);
        const lines = s.contains ? checkContains(s.patterns, cmds) : checkExact(s.patterns, cmds);
        if (lines) this.fail(s.span, `commands on ${s.smmu} ${s.contains ? "do not contain the expected ones" : "differ"}`, lines);
        return;
      }
      case "expect-count": {
        const cmds = this.window(s.smmu);
        const n = s.what === "commands" ? cmds.length : cmds.filter((c) => c.op === s.what).length;
        if (n !== s.count) this.fail(s.span, `expected ${s.count} ${s.what === "commands" ? "commands" : `${s.what} commands`} on ${s.smmu}, got ${n}`);
        return;
      }
      case "expect-invs": {
        const got = sim.invs(s.domain);
        if (!got) {
          /* a driver with arrays has none for some domains (a nested one is invalidated through its S2 parent's) */
          if (sim.driver.invsAlgebra) return this.fail(s.span, `${sim.driver.plugin} keeps no invalidation array for ${s.domain}`);
          return this.fail(s.span, noArray(sim.driver.plugin, `expect invs ${s.domain}`), undefined, "expect", NO_ARRAY);
        }
        const lines = checkInvs(s.entries, s.trash, got);
        if (lines) this.fail(s.span, `the invalidation array of ${s.domain} differs`, lines);
        return;
      }
      case "expect-error":
        return this.expectError(s);
      case "expect-warn":
        return this.expectWarn(s);
      case "expect-stale":
        return this.expectStale(s);
      case "expect-cond": {
        const why = checkCond(s.cond, this.registers);
        if (why) this.fail(s.span, why);
        return;
      }
      case "show": {
        const what = `show ${s.what} ${s.target}${s.pasid !== undefined ? ` pasid ${s.pasid}` : ""}`;
        try {
          this.shows.push({ span: s.span, what, lines: sim.show(s.what, s.target, s.pasid) });
        } catch (err) {
          /* a node whose plugin shows nothing of itself */
          if (!(err instanceof NoHandlerError)) throw err;
          this.fail(s.span, `${what}: ${err.message}`, undefined, "plugin");
        }
        return;
      }
      case "expect-state": {
        const got = sim.states.get(s.node)?.get(s.key);
        if (got !== s.value) {
          this.fail(s.span, `${s.node} ${s.key}: expected ${JSON.stringify(s.value)}, got ${got === undefined ? "nothing (no plugin of this node exposes it)" : JSON.stringify(got)}`);
        }
        return;
      }
      case "array-set":
        this.arrays.set(s.target, this.algebra().from(s.entries));
        return;
      case "array-alloc":
        this.arrays.set(s.target, this.algebra().alloc(s.size));
        return;
      case "array-merge": {
        const r = this.algebra().merge(this.array(s.base), this.array(s.other));
        if (typeof r === "number") throw new OpFailure("errno", `arm_smmu_invs_merge() failed: ${errnoName(-r)}`, -r);
        this.arrays.set(s.target, r);
        return;
      }
      case "array-purge": {
        const r = this.algebra().purge(this.array(s.base));
        if (typeof r === "number") throw new OpFailure("errno", `arm_smmu_invs_purge() failed: ${errnoName(-r)}`, -r);
        if (r === null) return this.fail(s.span, `arm_smmu_invs_purge(${s.base}) returned NULL: nothing to purge`);
        this.arrays.set(s.target, r);
        return;
      }
      case "array-unref":
        return this.algebra().unref(this.array(s.base), this.array(s.other));
      case "expect-array": {
        const lines = checkInvs(s.entries, s.trash, this.algebra().snapshot(this.array(s.target)));
        if (lines) this.fail(s.span, `array ${s.target} differs`, lines);
        return;
      }
      default:
        return assertNever(s);
    }
  }

  private readonly arrays = new Map<string, object>();

  /** The registers the scenario's threads have loaded into, for `expect` conditions. */
  private readonly registers = new Map<string, number>();

  private setRegisters(r: Registers): void {
    for (const [reg, v] of r.values) this.registers.set(reg, v);
  }

  /** An array a statement made; none if that statement failed (the scenario has already failed there). */
  private array(name: string): object {
    const a = this.arrays.get(name);
    if (!a) throw new OpFailure("missing", `array ${name} holds nothing: the statement that should have made it failed`);
    return a;
  }

  private algebra(): InvsAlgebra {
    const a = this.sim.driver.invsAlgebra;
    if (!a) throw new OpFailure("unsupported", noArray(this.sim.driver.plugin, "an array statement"), 0, NO_ARRAY);
    return a;
  }

  /** A statement whose argument only the plugins can check (an allocation site, a fault name). */
  private input(span: Span, f: () => void): void {
    try {
      f();
    } catch (err) {
      if (err instanceof DriverUnsupportedError) throw new OpFailure("unsupported", err.message, 0, NO_ARRAY);
      if (err instanceof PluginFault || !(err instanceof Error)) throw err;
      throw new InputError([diagnostic(span, "unknown-name", err.message)]);
    }
  }

  /** The commands `smmu` received since its last command expectation. */
  private window(smmu: string): ReturnType<Simulator["commands"]> {
    const cmds = this.sim.commands(smmu);
    this.sim.forgetCommands(smmu);
    return cmds;
  }

  /**
   * Record a failure once per place and message (kind too), counting its
   * repeats; past PER_PLACE distinct ones at a place, only counted on the
   * last kept there. A loop failing a million times is a few lines.
   */
  private addFailure(f: Failure): void {
    const place = `${f.span.file}\0${f.span.line}\0${f.span.column}`;
    const key = `${place}\0${f.kind ?? ""}\0${f.message}`;
    const same = this.failureKeys.get(key);
    if (same) {
      same.count = (same.count ?? 1) + 1;
      return;
    }
    const kept = this.failuresAt.get(place);
    if (kept && kept.n >= PER_PLACE) {
      kept.last.others = (kept.last.others ?? 0) + 1;
      return;
    }
    this.failuresAt.set(place, { n: (kept?.n ?? 0) + 1, last: f });
    this.failureKeys.set(key, f);
    this.failures.push(f);
  }

  /** A WARN or driver log line, kept once with how many times it fired (the first WARNINGS_KEPT distinct ones). */
  private warn(text: string): void {
    const n = this.warningCounts.get(text);
    if (n !== undefined) this.warningCounts.set(text, n + 1);
    else if (this.warningCounts.size < WARNINGS_KEPT) this.warningCounts.set(text, 1);
    else this.warningsDropped++;
  }

  private fail(span: Span, message: string, detail?: string[], kind = "expect", lacks?: string): void {
    this.addFailure({ span, message, ...(detail ? { detail } : {}), kind, ...(lacks ? { lacks } : {}) });
  }

  private expectError(s: Extract<Stmt, { kind: "expect-error" }>): void {
    const want = s.error;
    const name = want.kind === "errno" ? want.name : want.kind;
    let got: OpFailure | undefined;
    let inner: Stmt | undefined;
    try {
      for (inner of s.body) {
        this.exec(inner);
        this.noteViolations(inner.span);
      }
    } catch (caught) {
      const err = pluginFailure(caught);
      if (!(err instanceof OpFailure)) throw err;
      got = err;
    }
    if (!got) return this.fail(s.span, `expected ${name}, but nothing failed`);
    const ok = want.kind === "errno" ? got.kind === "errno" && got.errno === want.errno : got.kind === want.kind;
    /* what the driver lacks is no answer to what the block expects: it is reported as it is, at the statement that needed it */
    if (!ok && got.lacks) {
      got.at ??= inner?.span;
      throw got;
    }
    if (!ok) {
      this.fail(s.span, `expected ${name}, but: ${got.message}`);
      if (got.kind !== "errno") throw got;
    }
  }

  /**
   * `expect warn "TEXT" { ... }`: the block's statements must fire a WARN
   * that TEXT matches; WARNs it does not match still fail where they fired.
   * A failure inside goes on out, to an `expect error` around it or to the scenario.
   */
  private expectWarn(s: Extract<Stmt, { kind: "expect-warn" }>): void {
    const want = { text: s.text, matched: 0 };
    this.warnExpects.push(want);
    let inner: Stmt | undefined;
    try {
      for (inner of s.body) {
        this.exec(inner);
        this.noteViolations(inner.span);
      }
    } catch (err) {
      if (err instanceof OpFailure) err.at ??= inner!.span;
      throw err;
    } finally {
      this.warnExpects.pop();
      if (want.matched === 0) this.fail(s.span, `expected a WARN matching "${s.text}", but none fired`);
    }
  }

  private expectStale(s: Extract<Stmt, { kind: "expect-stale" }>): void {
    const fresh = this.sim.violations.slice(this.seen);
    if (s.none) {
      if (fresh.length) this.fail(s.span, `${fresh.length} stale translation(s)`, fresh.map((v) => `  ${v.message}`), fresh[0]!.kind);
      this.seen = this.sim.violations.length;
      return;
    }
    const match = fresh.filter((v) => (!s.device || v.device === s.device) && (s.iova === undefined || v.iova === s.iova));
    if (!match.length) {
      const what = [s.device, s.iova !== undefined ? hex(s.iova) : undefined].filter(Boolean).join(" ");
      this.fail(s.span, `expected a stale translation${what ? ` for ${what}` : ""}, but the oracle found none${fresh.length ? " matching" : ""}`);
    }
    this.seen = this.sim.violations.length;
  }

  /** Violations no expectation looked at are failures where they happened. */
  private unexpectedViolations(fallback: Span): void {
    const vs = this.sim.violations;
    for (let i = this.seen; i < vs.length; i++) {
      this.fail(this.violationSpans[i] ?? fallback, `${vs[i]!.kind}: ${vs[i]!.message}`, undefined, vs[i]!.kind);
    }
    this.seen = vs.length;
  }

  /** The warnings as the report lists them: each once, "(N times)" when it fired more. */
  private warningLines(): string[] {
    const lines = [...this.warningCounts].map(([w, n]) => (n > 1 ? `${w} (${n} times)` : w));
    if (this.warningsDropped) lines.push(`(${this.warningsDropped} more warnings, past the first ${WARNINGS_KEPT} distinct ones)`);
    return lines;
  }

  result(): ScenarioResult {
    /* fromEntries defines each key as its own property: an SMMU may be called "__proto__" */
    const commands: ScenarioResult["commands"] = Object.fromEntries(
      this.sim.platform.smmus().map(({ name }) => [name, { commands: this.sim.commandCount(name), syncs: this.sim.syncCount(name) }]),
    );
    const options = this.driverSpec.options;
    return {
      name: this.scenario.name,
      span: this.scenario.span,
      driver: { ...this.sim.chosenDriver, ...(options && Object.keys(options).length ? { options } : {}) },
      ...judged(this.failures),
      failures: this.failures,
      violations: [...this.sim.violations],
      warnings: this.warningLines(),
      ...(this.shows.length ? { shows: this.shows } : {}),
      commands,
      metrics: { ...this.metrics.metrics(this.sim.clock.now), ...this.caches.stats() },
    };
  }
}

/** The scenarios of each file that any of `patterns` (names or globs) matches, in file order, and the patterns that matched none. */
export function matchScenarios(files: readonly SmmuFile[], patterns: readonly string[]): { selected: Scenario[][]; unmatched: string[] } {
  const tests = patterns.map(globMatcher);
  const used = new Set<number>();
  const selected = files.map((f) =>
    f.scenarios.filter((s) => {
      const hits = tests.flatMap((t, i) => (t(s.name) ? [i] : []));
      for (const i of hits) used.add(i);
      return hits.length > 0;
    }),
  );
  return { selected, unmatched: patterns.filter((_, i) => !used.has(i)) };
}

/** "no scenario named" a name, "no scenario matches" a glob, at 1:1 of `file`, listing its scenarios. */
export function unmatchedScenario(file: SmmuFile, pattern: string): Diagnostic {
  const names = file.scenarios.map((s) => `"${s.name}"`).join(", ") || "none";
  return diagnostic({ file: file.file, line: 1, column: 1 }, "unknown-scenario", `no scenario ${isGlob(pattern) ? "matches" : "named"} "${pattern}" (${names})`);
}

/**
 * The file's scenarios, or those `names` (names or globs, see core/glob.ts)
 * match; one that matches none throws InputError listing the scenarios.
 */
export function selectScenarios(file: SmmuFile, names: string | readonly string[] | undefined): Scenario[] {
  if (names === undefined) return file.scenarios;
  const { selected, unmatched } = matchScenarios([file], typeof names === "string" ? [names] : names);
  if (unmatched.length) throw new InputError(unmatched.map((p) => unmatchedScenario(file, p)));
  return selected[0]!;
}

/**
 * passed, or skipped, from the failures: skipped when the first thing that
 * went wrong is something the driver lacks (what came after is judged on a
 * platform the scenario did not mean).
 */
function judged(failures: readonly Failure[]): Pick<ScenarioResult, "passed" | "skipped"> {
  const first = failures[0];
  if (!first) return { passed: true };
  return first.lacks ? { passed: false, skipped: { span: first.span, reason: first.message, lacks: first.lacks } } : { passed: false };
}

/** `r` with `more` failures after its own (what a plugin left behind when the scenario ended), judged again. */
export function withFailures(r: ScenarioResult, more: readonly Failure[]): ScenarioResult {
  if (!more.length) return r;
  const failures = [...r.failures, ...more];
  const { skipped: _, ...rest } = r;
  return { ...rest, ...judged(failures), failures };
}

/**
 * The result of a scenario stopped before it ended (out of time or memory,
 * on another thread): `failure` alone, no figures.
 */
export function stoppedResult(file: SmmuFile, scenario: Scenario, opts: Pick<RunOptions, "registry" | "driver">, failure: Failure): ScenarioResult {
  return {
    name: scenario.name,
    span: scenario.span,
    driver: resolvedDriver(file, scenario, opts),
    ...judged([failure]),
    failures: [failure],
    violations: [],
    warnings: [],
    commands: {},
    metrics: { ...new MetricsRecorder([]).metrics(0), caches: {}, walks: {} },
  };
}

/**
 * The driver a scenario runs under as the registry resolves it, without
 * setting up a platform (no plugin's code runs): its default variant is
 * the plugin's first, or the first of a plugin it extends.
 */
export function resolvedDriver(file: SmmuFile, scenario: Scenario, opts: Pick<RunOptions, "registry" | "driver">): ScenarioResult["driver"] {
  const spec = driverSpec(file, scenario, opts.driver);
  const plugin = opts.registry.resolve("driver", spec.plugin);
  let variant = spec.variant ?? plugin.variants[0];
  for (let base = plugin.extends; variant === undefined && base !== undefined; ) {
    const p = opts.registry.resolve("driver", base);
    variant = p.variants[0];
    base = p.extends;
  }
  const options = spec.options;
  return { plugin: plugin.name, variant: variant ?? "", ...(options && Object.keys(options).length ? { options } : {}) };
}

/** Run one of a file's scenarios; bad input (a driver it cannot run under, say) throws InputError. */
export function runScenario(file: SmmuFile, scenario: Scenario, opts: RunOptions): ScenarioResult {
  const run = new ScenarioRun(file, scenario, opts);
  run.run(opts.onProgress);
  const result = run.result();
  opts.onTimeline?.(result, run.sim.timeline);
  opts.onResult?.(result);
  return result;
}

/** Run a file's scenarios (or one of them); bad input throws InputError. */
export function runFile(file: SmmuFile, opts: RunOptions): ScenarioResult[] {
  return selectScenarios(file, opts.scenario).map((scenario) => runScenario(file, scenario, opts));
}

