/**
 * `run --schedule S`: one scenario with one of its `concurrently` blocks
 * taken step by step as the schedule says (a schedule `explore` printed),
 * instead of as --seed picks; its report is run's, after the steps taken.
 */
import { diagnostic, InputError } from "../../core/diagnostics.js";
import type { Scenario } from "../../dsl/ast.js";
import { replay, ScheduleError } from "../../engine/explore/index.js";
import { BlockProgram, concurrentBlocks, type BlockExecution } from "../../engine/explore/scenario.js";
import type { RunOptions, ScenarioResult } from "../../engine/runner.js";
import type { RunOpts } from "../options.js";
import type { SelectedFile } from "./select.js";

/** A schedule that does not fit the block: a usage error on --schedule (or --block). */
export class ReplayError extends Error {
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(message);
  }
}

/** The replayed scenario's result, and its steps as "N agent: what it did". */
export function replayScenario(input: SelectedFile, scenario: Scenario, o: RunOpts, opts: RunOptions): { result: ScenarioResult; steps: string[] } {
  const block = (o.block ?? 1) - 1;
  const blocks = concurrentBlocks(scenario).length;
  if (block >= blocks) {
    throw new ReplayError(o.block === undefined ? "--schedule" : "--block", `"${scenario.name}" has ${blocks === 0 ? "no" : blocks} top-level concurrently block${blocks === 1 ? "" : "s"}${o.block === undefined ? " to replay" : `, not ${o.block}`}`);
  }
  const { onProgress: _progress, onTimeline: _timeline, ...options } = opts;
  let program: BlockProgram;
  try {
    program = new BlockProgram({ file: input.file, scenario, block, memory: o.memory, options });
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError([diagnostic(concurrentBlocks(scenario)[block]!.span, "explore", (err as Error).message)]);
  }
  try {
    const r = replay(program, o.schedule!);
    const result = (r.execution as BlockExecution).scenarioResult();
    opts.onResult?.(result);
    return { result, steps: r.trace.map((line, i) => `${String(i + 1).padStart(String(r.trace.length).length)}  ${line}`) };
  } catch (err) {
    if (err instanceof ScheduleError) throw new ReplayError("--schedule", `${err.message} (agents: ${program.agents.map((a, i) => `${i} ${a}`).join(", ")})`);
    throw err;
  }
}
