/**
 * `explore`: the interleavings of every top-level `concurrently` block of
 * the selected scenarios, searched (engine/explore), each block reported
 * with the command that replays its failing schedules; `--shard K/N` writes
 * a part of each search as JSON, `--merge` combines the parts.
 */
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { diagnostic, InputError, sortDiagnostics, type Diagnostic } from "../../core/diagnostics.js";
import type { Scenario } from "../../dsl/ast.js";
import { encodeSchedule, explore, ExplorePool, merge, SearchStalled, type ExploreOptions, type FailureReport, type StalledPlace, type Summary } from "../../engine/explore/index.js";
import { resolvedDriver } from "../../engine/runner.js";
import { concurrentBlocks } from "../../engine/explore/scenario.js";
import type { Span } from "../../core/diagnostics.js";
import { colors, formatDiagnostics } from "../../report/human.js";
import { exploreJson, formatExploredBlock, formatExploreTotals, type ExploredBlock } from "../../report/explore.js";
import { jsonSchemaCompiler } from "../../core/json-schema.js";
import { parseJsonSource } from "../../schema/json-source.js";
import exploreSchema from "../../../schemas/explore.schema.json" with { type: "json" };
import { EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, type Io } from "../io.js";
import { LIMIT_FLAGS, type CommandContext, type ExploreOpts, type InputLimits } from "../options.js";
import { inPluginText } from "../../plugin/running.js";
import { Lines } from "../lines.js";
import { usage } from "./common.js";
import { blockFactory, blockProgramOf, type BlockSpec } from "./explore-target.js";
import { driverOverride, loadSelected, type SelectedFile } from "./select.js";

/** A block to explore: where it is, and how to build and replay it. */
interface Target {
  spec: BlockSpec;
  input: SelectedFile;
  scenario: Scenario;
  span: Span;
}

/** The flags of one mode only, given under another: a usage error naming the first. */
function misplacedFlag(o: ExploreOpts): [string, string] | null {
  const mode = o.mode ?? (o.seeds ? "random" : "dpor");
  const only: [keyof ExploreOpts, string, string[]][] = [
    ["maxSchedules", "--max-schedules", ["dpor", "naive"]],
    ["preemptions", "--preemptions", ["dpor", "naive"]],
    ["splitDepth", "--split-depth", ["dpor", "naive"]],
    ["depth", "--depth", ["pct"]],
    ["runs", "--runs", ["pct"]],
    ["seed", "--seed", ["pct"]],
    ["seeds", "--seeds", ["random"]],
  ];
  for (const [key, flag, modes] of only) {
    if (o[key] !== undefined && !modes.includes(mode)) return [flag, `applies to --mode ${modes.join(" or ")}, not ${mode}`];
  }
  return null;
}

function exploreOptions(o: ExploreOpts): ExploreOptions {
  return {
    mode: o.mode ?? (o.seeds ? "random" : "dpor"),
    maxSchedules: o.maxSchedules,
    preemptionBound: o.preemptions,
    splitDepth: o.splitDepth,
    maxSteps: o.maxSteps,
    depth: o.depth,
    runs: o.runs,
    seed: o.seed,
    seedFrom: o.seeds?.from,
    seedTo: o.seeds?.to,
    shard: o.shard,
  };
}

/** A word for a POSIX shell: as it is if it is safe, else in single quotes. */
function shellWord(w: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** A scenario name as a --scenario pattern that matches only it (glob characters escaped). */
function literalPattern(name: string): string {
  return name.replace(/[\\*?[\]]/g, (ch) => `\\${ch}`);
}

/** The command line that replays a schedule of `t` (without --schedule). */
function replayCommand(t: Target, o: ExploreOpts): string {
  const args = ["smmu-emu", "run", t.spec.path, "--scenario", literalPattern(t.spec.scenario)];
  /* what the file was loaded with: the replay must load it alike */
  if (o.topology !== undefined) args.push("--topology", o.topology);
  for (const [k, v] of Object.entries(o.limit ?? {})) args.push("--limit", `${LIMIT_FLAGS[k as keyof InputLimits]}=${v}`);
  if (t.spec.block > 0) args.push("--block", String(t.spec.block + 1));
  if (t.spec.memory !== "sc") args.push("--memory", t.spec.memory);
  for (const p of o.plugin ?? []) args.push("--plugin", p);
  if (o.driver) args.push("--driver", o.driver);
  if (o.variant) args.push("--variant", o.variant);
  for (const [k, v] of Object.entries(o.driverOption ?? {})) args.push("--driver-option", v === true ? k : `${k}=${String(v)}`);
  if (o.timeout !== undefined) args.push("--timeout", String(o.timeout));
  return args.map(shellWord).join(" ");
}

/** Every block the options select: each selected scenario's top-level `concurrently` blocks, or its --block. */
function targets(inputs: readonly SelectedFile[], o: ExploreOpts): Target[] {
  const out: Target[] = [];
  for (const input of inputs) {
    for (const scenario of input.scenarios) {
      concurrentBlocks(scenario).forEach((stmt, block) => {
        if (o.block !== undefined && block !== o.block - 1) return;
        const spec: BlockSpec = {
          path: input.path,
          plugins: o.plugin ?? [],
          scenario: scenario.name,
          block,
          memory: o.memory,
          driver: driverOverride(o),
          ...(o.topology !== undefined ? { topology: o.topology } : {}),
          ...(o.limit ? { limits: o.limit } : {}),
          seed: 0,
        };
        out.push({ spec, input, scenario, span: stmt.span });
      });
    }
  }
  return out;
}

/** A progress line, redrawn as each unit of the search ends. */
function progress(io: Io, t: Target): ((done: number, total: number, schedules: number) => void) | undefined {
  const draw = io.progress;
  if (!draw) return undefined;
  return (done, total, schedules) => draw(`explore "${t.spec.scenario}" block ${t.spec.block + 1}: part ${done}/${total}, ${schedules.toLocaleString("en-US")} schedules`);
}

/**
 * What --timeout's watchdog found, as a failure of the block: at the
 * operation whose step ran (the scenario while the platform is set up and
 * the scenario runs up to the block; the block otherwise), with what ran
 * and the schedule that got there.
 */
function stalledFailure(t: Target, place: StalledPlace, seconds: number): FailureReport {
  const block = concurrentBlocks(t.scenario)[t.spec.block]!;
  const last = place.decisions?.at(-1);
  const platform = place.phase === "starting" || place.call?.event === "setup";
  const at = platform ? t.scenario.span : place.phase === "stepping" && last ? (block.body[last.agent]?.span ?? block.span) : block.span;
  const what = place.call
    ? inPluginText(place.call)
    : place.phase === "loading"
      ? "loading the plugins"
      : place.phase === "starting"
        ? "setting up the platform and the scenario up to the block"
        : place.phase === "stepping"
          ? `in step ${place.decisions?.length ?? "?"}`
          : "between two steps";
  const kept = place.decisions ? "" : " (the schedule, over 65,536 steps, was not kept)";
  return {
    kind: "timeout",
    message: `${at.file}:${at.line}:${at.column}: timed out after ${seconds} s (--timeout) ${what}${kept}`,
    schedule: encodeSchedule(place.decisions ?? []),
    preemptions: place.preemptions,
    steps: place.decisions?.length ?? 0,
  };
}

/** Explore one block, in this thread (no pool: one job) or on the pool's worker threads. */
async function exploreBlock(t: Target, o: ExploreOpts, io: Io, pool: ExplorePool | null): Promise<ExploredBlock> {
  let program;
  let driver;
  try {
    program = blockProgramOf(t.spec, t.input.file, t.input.plugins);
    /* under the watchdog no plugin's code runs here: the driver as the registry resolves it, not as its setup returns it */
    driver = o.timeout === undefined ? program.driver() : resolvedDriver(t.input.file, t.scenario, program.target.options);
  } catch (err) {
    if (err instanceof InputError) throw err;
    /* a platform the explorer cannot drive (a plugin's SMMU without a queue agent) */
    throw new InputError([diagnostic(t.span, "explore", (err as Error).message)]);
  }
  const options = exploreOptions(o);
  const onUnit = progress(io, t);
  let summary: Summary;
  try {
    summary = pool ? await pool.explore(blockFactory(t.spec), options, onUnit, program) : explore(program, options, onUnit);
  } catch (err) {
    if (!(err instanceof SearchStalled)) throw err;
    summary = err.partial(stalledFailure(t, err.place, err.seconds));
  } finally {
    io.progress?.(null);
  }
  return { file: t.spec.path, scenario: t.spec.scenario, block: t.spec.block + 1, line: t.span.line, memory: t.spec.memory, driver, summary, replay: replayCommand(t, o) };
}

function printDiagnostics(ctx: CommandContext, o: ExploreOpts, ds: Diagnostic[]): number {
  ctx.io.err(formatDiagnostics(colors(ctx.useColor(o)), sortDiagnostics(ds)));
  return EXIT_BAD_INPUT;
}

/** The blocks' report: human, or JSON (--json, and always for a shard, which is for --merge). */
function report(blocks: readonly ExploredBlock[], o: ExploreOpts, ctx: CommandContext): number {
  const status = blocks.some((b) => b.summary.failures.length) ? EXIT_FAILED : EXIT_OK;
  if (o.json || o.shard) {
    ctx.io.out(JSON.stringify(exploreJson(blocks, ctx.version), null, 2));
    return status;
  }
  const c = colors(ctx.useColor(o));
  const parts = blocks.map((b) => formatExploredBlock(c, b));
  ctx.io.out([...parts, formatExploreTotals(c, blocks)].join("\n\n"));
  return status;
}

export async function exploreCommand(files: readonly string[], o: ExploreOpts, ctx: CommandContext): Promise<number> {
  if (o.merge) return mergeCommand(files, o, ctx);
  const misplaced = misplacedFlag(o);
  if (misplaced) return usage(ctx, misplaced[0], misplaced[1]);
  if (o.mode && o.seeds && o.mode !== "random") return usage(ctx, "--seeds", `applies to --mode random, not ${o.mode}`);
  /* watched: a user plugin's setup runs on the workers only (they check the file as this thread would) */
  const inputs = await loadSelected(files, o, ctx, o.timeout !== undefined);
  if ("status" in inputs) return inputs.status;
  const rejected = inputs.flatMap((i) => ("diagnostics" in i ? i.diagnostics : []));
  if (rejected.length) return printDiagnostics(ctx, o, rejected);
  const all = targets(inputs as SelectedFile[], o);
  if (!all.length) {
    const which = o.block !== undefined ? `a concurrently block ${o.block}` : "a concurrently block";
    return usage(ctx, o.block !== undefined ? "--block" : files.join(" "), `no scenario selected has ${which} to explore`);
  }
  const blocks: ExploredBlock[] = [];
  const jobs = o.jobs ?? availableParallelism();
  // one pool for every block: workers start (and load the engine) once; this thread searches beside them, unless they are watched
  /* what the workers' plugins print goes to stderr, a line at a time, as this thread's would */
  const printed = new Lines((line) => ctx.io.err(line));
  const pool = jobs > 1 || o.timeout !== undefined ? new ExplorePool(jobs, undefined, o.timeout === undefined ? undefined : o.timeout * 1000, (text) => printed.push(text)) : null;
  try {
    for (const t of all) {
      const b = await exploreBlock(t, o, ctx.io, pool);
      blocks.push(b);
    }
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return printDiagnostics(ctx, o, err.diagnostics);
  } finally {
    await pool?.close();
    printed.flush();
  }
  return report(blocks, o, ctx);
}

/** A shard's document, read and checked against schemas/explore.schema.json. */
function readShard(path: string): ExploredBlock[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new InputError([diagnostic({ file: path, line: 1, column: 1 }, "io", `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)]);
  }
  const { value, locate } = parseJsonSource(text, path);
  const validate = jsonSchemaCompiler().getSchema(exploreSchema.$id) ?? jsonSchemaCompiler().compile(exploreSchema);
  if (!validate(value)) {
    const ds = (validate.errors ?? []).map((e) => diagnostic(locate(e.instancePath), "schema", `${e.instancePath || "the document"} ${e.message ?? "is invalid"}`));
    throw new InputError(ds);
  }
  return (value as { blocks: ExploredBlock[] }).blocks;
}

/** What identifies a block across shards: everything but its summary. */
function blockKey(b: ExploredBlock): string {
  return JSON.stringify([b.file, b.scenario, b.block, b.memory, b.driver, b.replay]);
}

/** `explore --merge FILE...`: the shards' documents combined, each block's summary as one run would give it. */
function mergeCommand(files: readonly string[], o: ExploreOpts, ctx: CommandContext): number {
  const shards: { path: string; blocks: ExploredBlock[] }[] = [];
  try {
    for (const path of files) shards.push({ path, blocks: readShard(path) });
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return printDiagnostics(ctx, o, err.diagnostics);
  }
  const first = shards[0]!;
  const keys = first.blocks.map(blockKey);
  for (const s of shards) {
    const other = s.blocks.map(blockKey);
    if (other.length !== keys.length || other.some((k, i) => k !== keys[i])) {
      return printDiagnostics(ctx, o, [diagnostic({ file: s.path, line: 1, column: 1 }, "merge", `explores other blocks than ${first.path} (another file, scenario, memory model or driver)`)]);
    }
  }
  const merged: ExploredBlock[] = [];
  for (const [i, b] of first.blocks.entries()) {
    let summary: Summary;
    try {
      summary = merge(shards.map((s) => s.blocks[i]!.summary));
    } catch (err) {
      return printDiagnostics(ctx, o, [diagnostic({ file: first.path, line: 1, column: 1 }, "merge", `"${b.scenario}", block ${b.block}: ${(err as Error).message}`)]);
    }
    merged.push({ ...b, summary });
  }
  return report(merged, { ...o, shard: undefined }, ctx);
}

