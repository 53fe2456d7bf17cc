/**
 * One execution under the explorer's control: the choices on offer, the
 * decisions taken (as agent and option rank, the schedule string's terms),
 * and the preemptions among them. A preemption is a step by another agent
 * while the agent of the previous step could still run (Musuvathi and
 * Qadeer's context bounding). Background agents (store buffers) are left
 * out of it: their steps are never preemptions, and "the previous agent" is
 * the last agent in the foreground.
 */
import type { Choice, Execution, Failure, Program, Result, StepInfo } from "./program.js";
import type { Decision } from "./schedule.js";

export class Run {
  readonly exec: Execution;
  choices: readonly Choice[];
  readonly decisions: Decision[] = [];
  preemptions = 0;
  /** The agent of the last foreground step, or -1. */
  last = -1;
  private readonly background: readonly boolean[];

  constructor(readonly program: Program) {
    this.exec = program.start();
    this.choices = this.exec.choices();
    this.background = backgroundFlags(program);
  }

  get steps(): number {
    return this.decisions.length;
  }

  /** The index in `choices` of `agent`'s option of rank `rank`, or -1. */
  indexOf(agent: number, rank: number): number {
    let r = 0;
    for (let k = 0; k < this.choices.length; k++) {
      if (this.choices[k]!.agent === agent && r++ === rank) return k;
    }
    return -1;
  }

  /** How many options `agent` has now. */
  options(agent: number): number {
    let n = 0;
    for (const c of this.choices) if (c.agent === agent) n++;
    return n;
  }

  /** Whether taking choices[k] now would be a preemption. */
  preempts(k: number): boolean {
    const a = this.choices[k]!.agent;
    return this.last >= 0 && a !== this.last && !this.background[a] && this.options(this.last) > 0;
  }

  /** The default continuation: the previous agent's first option if it can run, else the first choice; -1 if none. */
  defaultIndex(): number {
    if (this.last >= 0) {
      for (let k = 0; k < this.choices.length; k++) if (this.choices[k]!.agent === this.last) return k;
    }
    return this.choices.length > 0 ? 0 : -1;
  }

  take(k: number): StepInfo {
    const c = this.choices[k]!;
    let rank = 0;
    for (let j = 0; j < k; j++) if (this.choices[j]!.agent === c.agent) rank++;
    if (this.preempts(k)) this.preemptions++;
    const info = this.exec.step(c);
    this.decisions.push({ agent: c.agent, rank });
    if (!this.background[c.agent]) this.last = c.agent;
    this.choices = this.exec.choices();
    return info;
  }

  /** The agents that can run now, by name. */
  runnable(): string {
    const names = [...new Set(this.choices.map((c) => this.program.agents[c.agent]!))];
    return names.length ? names.join(", ") : "none";
  }
}

const FLAGS = new WeakMap<Program, readonly boolean[]>();

/** Per agent, whether it runs in the background. */
export function backgroundFlags(program: Program): readonly boolean[] {
  let flags = FLAGS.get(program);
  if (!flags) {
    const f = program.agents.map(() => false);
    for (const a of program.background ?? []) f[a] = true;
    FLAGS.set(program, (flags = f));
  }
  return flags;
}

/**
 * The result of a run that has stopped: nothing offered, or the step limit
 * (`limited`) reached. A stop with agents left and nothing offered is a
 * deadlock, one at the limit a livelock; either is added if the program did
 * not report it.
 */
export function finalResult(run: Run, limited: boolean): Result {
  const r = run.exec.result();
  const extra: Failure[] = [];
  if (limited && run.choices.length > 0 && !r.failures.some((f) => f.kind === "livelock")) {
    extra.push({ kind: "livelock", message: `still running after ${run.steps} steps (the step limit); can run: ${run.runnable()}` });
  } else if (run.choices.length === 0 && !run.exec.finished() && !r.failures.some((f) => f.kind === "deadlock")) {
    extra.push({ kind: "deadlock", message: `nothing can run after ${run.steps} steps, and the execution has not finished` });
  }
  return extra.length ? { outcome: r.outcome, failures: [...r.failures, ...extra] } : r;
}
