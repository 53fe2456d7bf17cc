/**
 * A scenario's `concurrently` block as a Program for the explorer: its
 * operations are agents (a CPU each, or the device of a DMA), every SMMU's
 * command queue is an agent of its own, and under `tso` and `arm` each CPU's
 * store buffer is one too. An execution builds the platform afresh, runs the
 * scenario up to the block as `run` would, lets the explorer take every step
 * of the block, then runs the rest of the scenario; its result is what the
 * operations returned and what the scenario then found wrong.
 */
import { Exec, stepIn } from "../../core/exec.js";
import { KernelOopsError, UseAfterFreeError } from "../../core/rcu.js";
import type { MemoryModel } from "../../core/weak-memory.js";
import type { Scenario, SmmuFile, Stmt } from "../../dsl/ast.js";
import type { SmmuNode } from "../../model/nodes.js";
import { PageTableError } from "../../model/page-table.js";
import { namedBy, type SharedAccess, type Step } from "../../model/step.js";
import { blockAgent, ScenarioRun, type BlockRequest, type RunOptions, type ScenarioResult } from "../runner.js";
import { Registers } from "../thread.js";
import type { ConcurrentBlock } from "../simulator.js";
import type { Choice, Execution, Program, Result, StepInfo, Waiting } from "./program.js";

/** What to explore: one top-level `concurrently` block of one scenario, under a memory model. */
export interface BlockTarget {
  readonly file: SmmuFile;
  readonly scenario: Scenario;
  /** The block's ordinal among the scenario's top-level `concurrently` blocks. */
  readonly block: number;
  readonly memory: MemoryModel;
  readonly options: Omit<RunOptions, "scenario" | "onProgress" | "onTimeline">;
}

/** The top-level `concurrently` blocks of a scenario, in order. */
export function concurrentBlocks(scenario: Scenario): Extract<Stmt, { kind: "concurrently" }>[] {
  return scenario.body.filter((s): s is Extract<Stmt, { kind: "concurrently" }> => s.kind === "concurrently");
}

type AgentRole = { kind: "op"; index: number } | { kind: "smmu"; name: string } | { kind: "sb"; cpu: string };

export class BlockProgram implements Program {
  readonly agents: readonly string[];
  readonly background: readonly number[];
  readonly roles: readonly AgentRole[];
  readonly cpus: readonly string[];

  constructor(readonly target: BlockTarget) {
    const block = concurrentBlocks(target.scenario)[target.block];
    if (!block) throw new Error(`scenario "${target.scenario.name}" has no concurrently block ${target.block}`);
    const ops = block.body.map((s, i) => blockAgent(s, i));
    this.cpus = ops.filter((a) => a.startsWith("cpu"));
    const roles: AgentRole[] = ops.map((_, index) => ({ kind: "op", index }));
    for (const s of target.file.topology.smmus) roles.push({ kind: "smmu", name: s.name });
    const sbs = target.memory === "sc" ? [] : this.cpus;
    for (const cpu of sbs) roles.push({ kind: "sb", cpu });
    this.roles = roles;
    this.agents = [...ops, ...target.file.topology.smmus.map((s) => s.name), ...sbs.map((c) => `${c}.sb`)];
    this.background = sbs.map((_, i) => ops.length + target.file.topology.smmus.length + i);
  }

  start(): Execution {
    return new BlockExecution(this);
  }

  /** The driver the block runs under, its default variant resolved, as reports name it. */
  driver(): ScenarioResult["driver"] {
    const { file, scenario, options } = this.target;
    return new ScenarioRun(file, scenario, options).result().driver;
  }
}

/** What an operation of the block has come to. */
type OpState = { done: false; next: Step } | { done: true; result: unknown };

export class BlockExecution implements Execution {
  private readonly run: ScenarioRun;
  private readonly script: Generator<BlockRequest, void, unknown[]>;
  private readonly exec: Exec;
  private readonly smmus: SmmuNode[];
  private block: { req: BlockRequest; conc: ConcurrentBlock; ops: OpState[] } | null = null;
  /** What the block's operations returned, for the outcome. */
  private results: unknown[] = [];
  private over = false;
  /** Steps taken in the block so far, for the timeline's schedule steps. */
  private steps = 0;
  /** An operation died (an oops, a use after free): the platform is unusable, the execution ends there. */
  private dead = false;

  constructor(private readonly program: BlockProgram) {
    const { target } = program;
    /* first: what the platform and the prefix make is named by it (core/exec.ts born()) */
    this.exec = new Exec(target.memory, program.cpus);
    this.run = namedBy(this.exec, () => new ScenarioRun(target.file, target.scenario, { ...target.options }));
    this.smmus = this.run.sim.platform.smmus().map((s) => s);
    for (const s of this.smmus) {
      if (!s.queueAgent) throw new Error(`SMMU ${s.name} cannot be explored: its plugin's node has no queueAgent (the queue as an agent beside the CPUs)`);
    }
    this.script = this.run.script(undefined, (i) => i === target.block);
    namedBy(this.exec, () => this.advance(this.script.next()));
  }

  /** Up to the explored block (set it up) or the end of the scenario. */
  private advance(r: IteratorResult<BlockRequest, void>): void {
    if (r.done) {
      this.over = true;
      return;
    }
    const req = r.value;
    for (const s of this.smmus) s.queueAgent!.setDeferred(true);
    const names = req.ops.map((_, i) => this.program.agents[i]!);
    const conc = this.run.sim.openBlock(req.ops, names);
    this.block = { req, conc, ops: [] };
    this.results = new Array<unknown>(req.ops.length);
    /* each operation up to its first step: nothing shared is touched before it */
    for (let i = 0; i < req.ops.length; i++) this.block.ops.push(this.take(i).state);
  }

  /** Operation `i` run to its next step (or its end) as its agent, and what it touched on the way. */
  private take(i: number): { state: OpState; accesses: SharedAccess[] } {
    const block = this.block!;
    const { value, accesses } = stepIn(this.exec, this.program.agents[i]!, () => {
      try {
        return block.conc.step(i);
      } catch (err) {
        return this.died(i, err);
      }
    });
    if (!value.done) return { state: { done: false, next: value.value }, accesses };
    block.conc.end(i);
    this.results[i] = value.value;
    return { state: { done: true, result: value.value }, accesses };
  }

  /** An operation that threw: an errno from io-pgtable ends it; an oops or use after free ends the execution. */
  private died(i: number, err: unknown): IteratorResult<Step, unknown> {
    const stmt = this.block!.req.stmt.body[i]!;
    const what = stmt.kind;
    if (err instanceof PageTableError) {
      this.run.failBlock(stmt.span, "errno", `${what}: ${err.message}: -${err.errno}`);
      return { done: true, value: `-${err.errno}` };
    }
    const kind = err instanceof UseAfterFreeError ? "use_after_free" : err instanceof KernelOopsError ? "oops" : null;
    if (!kind) throw err;
    this.run.failBlock(stmt.span, kind, `${what}: ${(err as Error).message}`);
    this.dead = true;
    return { done: true, value: kind };
  }

  choices(): readonly Choice[] {
    if (this.over || this.dead || !this.block) return [];
    const out: Choice[] = [];
    this.block.ops.forEach((op, agent) => {
      if (!op.done && (!op.next.ready || op.next.ready())) out.push({ agent, option: 0 });
    });
    this.program.roles.forEach((role, agent) => {
      if (role.kind === "smmu") for (const option of this.smmu(role.name).queueAgent!.options()) out.push({ agent, option });
      else if (role.kind === "sb") for (const option of this.exec.wm.drainable(role.cpu)) out.push({ agent, option });
    });
    return out;
  }

  step(c: Choice): StepInfo {
    const block = this.block!;
    const role = this.program.roles[c.agent]!;
    const name = this.program.agents[c.agent]!;
    let label: string;
    let accesses: SharedAccess[];
    if (role.kind === "op") {
      const op = block.ops[role.index]!;
      if (op.done) throw new Error(`${name} has finished`);
      label = `${op.next.fn}: ${op.next.access}`;
      const taken = this.take(role.index);
      accesses = taken.accesses;
      block.ops[role.index] = taken.state;
    } else if (role.kind === "smmu") {
      const smmu = this.smmu(role.name);
      ({ value: label, accesses } = stepIn(this.exec, name, () => smmu.queueAgent!.step(c.option)));
    } else {
      ({ value: label, accesses } = stepIn(this.exec, name, () => this.exec.wm.drain(role.cpu, c.option)));
    }
    this.run.sim.timeline.step(++this.steps, name, label);
    if (!this.dead) this.finishBlockIfDone();
    return { accesses: [...accesses], label };
  }

  /** Once every operation, queue and store buffer of the block is done: the rest of the scenario runs. */
  private finishBlockIfDone(): void {
    const block = this.block!;
    if (block.ops.some((o) => !o.done)) return;
    if (this.smmus.some((s) => !s.queueAgent!.idle())) return;
    if (this.program.cpus.some((c) => this.exec.wm.pending(c) > 0)) return;
    for (const s of this.smmus) s.queueAgent!.setDeferred(false);
    this.block = null;
    namedBy(this.exec, () => this.advance(this.script.next(this.results)));
  }

  private smmu(name: string): SmmuNode {
    return this.run.sim.platform.smmu(name);
  }

  waiting(): readonly Waiting[] {
    if (!this.block || this.dead) return [];
    const out: Waiting[] = [];
    this.block.ops.forEach((op, agent) => {
      if (!op.done && op.next.ready && !op.next.ready()) out.push({ agent, option: 0, accesses: op.next.waits ?? [] });
    });
    return out;
  }

  finished(): boolean {
    return this.over || this.dead;
  }

  /** The scenario's result as `run` reports it, once the execution has ended. */
  scenarioResult(): ScenarioResult {
    return this.run.result();
  }

  result(): Result {
    /* the first line of detail is what went wrong (the violation, the command that differs) */
    const failures = this.run.failures.map((f) => ({
      kind: f.kind ?? "expect",
      message: `${f.span.file}:${f.span.line}:${f.span.column}: ${f.message}${f.detail?.length ? `: ${f.detail[0]!.trim()}` : ""}`,
    }));
    /* an operation the execution ended before (an oops elsewhere) never returned */
    const ops = Array.from(this.results, (r, i) => `${this.program.agents[i]}=${i in this.results ? describe(r) : "unfinished"}`);
    const kinds = [...new Set(failures.map((f) => f.kind))].sort();
    return { outcome: `${ops.join(" ")}${kinds.length ? `; ${kinds.join(", ")}` : ""}`, failures };
  }
}

/** An operation's result, short: 0 or -errno, a DMA's outcome, a thread's registers ("r0=0 r1=1"), or "done". */
function describe(r: unknown): string {
  if (typeof r === "number") return r === 0 ? "0" : String(r);
  if (r instanceof Registers && r.values.size > 0) return String(r);
  if (typeof r === "string") return r;
  if (r && typeof r === "object" && "kind" in r) {
    const t = r as { kind: string; via?: string; event?: string };
    return t.kind === "ok" ? `via ${t.via}` : t.kind === "fault" ? `fault ${t.event}` : t.kind;
  }
  if (r && typeof r === "object" && "ret" in r) return String((r as { ret: number }).ret);
  return "done";
}
