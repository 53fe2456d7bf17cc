/**
 * `run --schedule S`: one scenario with one of its `concurrently` blocks
 * taken step by step as the schedule says (a schedule `explore` printed),
 * instead of as --seed picks; its report is run's, after the steps taken.
 */
import { diagnostic, InputError } from "../../core/diagnostics.js";
import type { Scenario, SmmuFile } from "../../dsl/ast.js";
import { replay, ScheduleError } from "../../engine/explore/index.js";
import { BlockProgram, concurrentBlocks, type BlockExecution } from "../../engine/explore/scenario.js";
import type { RunOptions, ScenarioResult } from "../../engine/runner.js";
import type { MemoryModel } from "../../core/weak-memory.js";
import type { Io } from "../io.js";
import type { RunOpts } from "../options.js";

/** A schedule that does not fit the block: a usage error on --schedule (or --block). */
export class ReplayError extends Error {
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a replay takes from the command line: the schedule, the block it interleaves (from 1), the memory model. */
export interface Replay {
  readonly schedule: string;
  readonly block?: number;
  readonly memory: MemoryModel;
}

/** The replay the flags ask for, if --schedule is given. */
export function replayOf(o: RunOpts): Replay | undefined {
  return o.schedule === undefined ? undefined : { schedule: o.schedule, ...(o.block !== undefined ? { block: o.block } : {}), memory: o.memory };
}

/** The steps of a replay, before the report (the human one only). */
export function printSteps(io: Io, o: RunOpts, path: string, scenario: string, steps: readonly string[]): void {
  if (o.reporter === "human" && !o.json) io.out(`${path}: "${scenario}", schedule ${o.schedule}, memory ${o.memory}:\n${steps.join("\n")}`);
}

/** The replayed scenario's result, and its steps as "N agent: what it did". */
export function replayScenario(file: SmmuFile, scenario: Scenario, o: Replay, opts: RunOptions): { result: ScenarioResult; steps: string[] } {
  const block = (o.block ?? 1) - 1;
  const blocks = concurrentBlocks(scenario).length;
  if (block >= blocks) {
    throw new ReplayError(o.block === undefined ? "--schedule" : "--block", `"${scenario.name}" has ${blocks === 0 ? "no" : blocks} top-level concurrently block${blocks === 1 ? "" : "s"}${o.block === undefined ? " to replay" : `, not ${o.block}`}`);
  }
  const { onProgress: _progress, onTimeline: _timeline, ...options } = opts;
  let program: BlockProgram;
  try {
    program = new BlockProgram({ file, scenario, block, memory: o.memory, options });
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError([diagnostic(concurrentBlocks(scenario)[block]!.span, "explore", (err as Error).message)]);
  }
  try {
    const r = replay(program, o.schedule);
    const result = (r.execution as BlockExecution).scenarioResult();
    opts.onResult?.(result);
    return { result, steps: r.trace.map((line, i) => `${String(i + 1).padStart(String(r.trace.length).length)}  ${line}`) };
  } catch (err) {
    if (err instanceof ScheduleError) throw new ReplayError("--schedule", err.message);
    throw err;
  }
}
