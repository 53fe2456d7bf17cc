/**
 * Schedules as strings, and exact replay.
 *
 * A schedule lists the choices of one execution. Each is written as the
 * agent's index in Program.agents, followed by `:R` when the agent offered
 * several options there and the R-th (from 0, in the order choices() gave
 * them) was taken; a run of N equal choices is written once with `*N`.
 * Choices are separated by dots: "0*3.1.2:1.0*2" is agent 0 three times,
 * agent 1, the second option of agent 2, then agent 0 twice. "-" is the
 * empty schedule.
 */
import { finalResult, Run } from "./run.js";
import type { Execution, Program, Result } from "./program.js";

/** One decision: an agent and the rank of the option taken among the agent's offered ones. */
export interface Decision {
  readonly agent: number;
  readonly rank: number;
}

export class ScheduleError extends Error {
  constructor(
    message: string,
    /** The step (from 1) and character (from 1) of the schedule string where it went wrong. */
    readonly step: number,
    readonly column: number,
  ) {
    super(`schedule step ${step} (character ${column}): ${message}`);
    this.name = "ScheduleError";
  }
}

export function encodeSchedule(ds: readonly Decision[]): string {
  if (ds.length === 0) return "-";
  const out: string[] = [];
  for (let i = 0; i < ds.length; ) {
    const d = ds[i]!;
    let j = i + 1;
    while (j < ds.length && ds[j]!.agent === d.agent && ds[j]!.rank === d.rank) j++;
    const tok = d.rank === 0 ? `${d.agent}` : `${d.agent}:${d.rank}`;
    out.push(j - i > 1 ? `${tok}*${j - i}` : tok);
    i = j;
  }
  return out.join(".");
}

interface Parsed extends Decision {
  readonly column: number;
}

const TOKEN = /^(\d+)(?::(\d+))?(?:\*(\d+))?$/;

/** Decode a schedule string; a malformed token is an error naming its position. */
export function decodeSchedule(s: string): Parsed[] {
  const text = s.trim();
  if (text === "-") return [];
  const out: Parsed[] = [];
  let column = 1;
  for (const tok of text.split(".")) {
    const m = TOKEN.exec(tok);
    const count = m?.[3] === undefined ? 1 : Number(m[3]);
    if (!m || count < 1 || !Number.isSafeInteger(count)) {
      throw new ScheduleError(
        `"${tok}" is not a choice (AGENT, AGENT:OPTION, or either followed by *COUNT; choices are separated by dots)`,
        out.length + 1,
        column,
      );
    }
    for (let k = 0; k < count; k++) out.push({ agent: Number(m[1]), rank: m[2] === undefined ? 0 : Number(m[2]), column });
    column += tok.length + 1;
  }
  return out;
}

export interface Replayed {
  readonly schedule: string;
  /** The label of each step, "agent: label". */
  readonly trace: readonly string[];
  readonly preemptions: number;
  readonly result: Result;
  /** The execution, ended: for what else the program can tell of it. */
  readonly execution: Execution;
}

/**
 * Run `schedule` on `program` exactly. An agent that does not exist, cannot
 * run, or lacks the option named is an error at that step, and so is a
 * schedule that ends while agents can still run (unless it reached
 * `maxSteps`, where the explorer stops an execution as a livelock).
 */
export function replay(program: Program, schedule: string, maxSteps = Infinity): Replayed {
  const ds = decodeSchedule(schedule);
  const run = new Run(program);
  const trace: string[] = [];
  const names = program.agents;
  for (const [i, d] of ds.entries()) {
    const err = (msg: string): ScheduleError => new ScheduleError(msg, i + 1, d.column);
    if (d.agent >= names.length) throw err(`agent ${d.agent} does not exist (the program has ${names.length}: ${agentList(names)})`);
    if (run.choices.length === 0) throw err(`the execution has ended after ${i} steps`);
    const k = run.indexOf(d.agent, d.rank);
    if (k < 0) {
      const n = run.options(d.agent);
      if (n === 0) throw err(`agent ${d.agent} (${names[d.agent]}) cannot run here (can run: ${run.runnable()})`);
      throw err(`agent ${d.agent} (${names[d.agent]}) has ${n} option${n === 1 ? "" : "s"} here, not option ${d.rank}`);
    }
    trace.push(`${names[d.agent]}: ${run.take(k).label}`);
  }
  const limited = run.steps >= maxSteps;
  if (run.choices.length > 0 && !limited) {
    throw new ScheduleError(`the schedule ends after ${run.steps} steps, but ${run.runnable()} can still run`, ds.length + 1, schedule.trim().length + 1);
  }
  return { schedule: encodeSchedule(run.decisions), trace, preemptions: run.preemptions, result: finalResult(run, limited), execution: run.exec };
}

function agentList(names: readonly string[]): string {
  return names.map((n, i) => `${i} ${n}`).join(", ");
}
