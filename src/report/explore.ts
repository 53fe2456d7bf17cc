/**
 * `smmu-emu explore`: per explored `concurrently` block, what the search
 * covered, the distinct outcomes, and each failure kind once with its
 * shortest schedule and the command that replays it; --json gives the same
 * as data (schemas/explore.schema.json).
 */
import type { Bound, Summary } from "../engine/explore/index.js";
import type { ScenarioResult } from "../engine/runner.js";
import type { MemoryModel } from "../core/weak-memory.js";
import { driverLabel, type colors } from "./human.js";
import { REPORT_FORMAT_VERSION } from "./json.js";

type Colors = ReturnType<typeof colors>;

/** One block and what exploring it found. */
export interface ExploredBlock {
  file: string;
  scenario: string;
  /** The block's ordinal among the scenario's top-level `concurrently` blocks, from 1. */
  block: number;
  line: number;
  memory: MemoryModel;
  driver: ScenarioResult["driver"];
  summary: Summary;
  /** The command line that replays one of its schedules, but for --schedule. */
  replay: string;
}

/** Outcomes listed in the human report; --json has them all. */
const OUTCOMES_SHOWN = 10;

const n = (x: number): string => x.toLocaleString("en-US");
const plural = (x: number, one: string, many = `${one}s`): string => `${n(x)} ${x === 1 ? one : many}`;

function boundText(b: Bound, s: Summary): string {
  switch (b) {
    case "maxSchedules":
      return `stopped at --max-schedules ${n(s.options.maxSchedules!)}`;
    case "preemptionBound":
      return `bounded by --preemptions ${s.options.preemptionBound}`;
    case "maxSteps":
      return `an execution reached --max-steps ${n(s.options.maxSteps)}`;
    case "sampled":
      return `sampled (${s.mode} never covers the space)`;
    case "timeout":
      return "stopped by --timeout";
  }
}

/** "dpor", "pct --depth 2 --runs 1000 --seed 0", "random --seeds 0..999". */
function modeText(s: Summary): string {
  const o = s.options;
  if (o.mode === "pct") return `pct --depth ${o.depth} --runs ${n(o.runs!)} --seed ${o.seed}`;
  if (o.mode === "random") return `random --seeds ${o.seedFrom}..${o.seedTo}`;
  return o.preemptionBound === null ? o.mode : `${o.mode} --preemptions ${o.preemptionBound}`;
}

/** The human report of one block. */
export function formatExploredBlock(c: Colors, b: ExploredBlock): string {
  const s = b.summary;
  const out = [c.bold(`${b.file}: "${b.scenario}", block ${b.block} (line ${b.line})`)];
  out.push(`  ${driverLabel(b.driver)}, memory ${b.memory}, ${modeText(s)}${s.shard ? `, shard ${s.shard.index}/${s.shard.count}` : ""}`);
  out.push(`  agents: ${s.agents.map((a, i) => `${i} ${a}`).join(", ")}`);
  const blocked = s.blocked ? `, ${n(s.blocked)} blocked` : "";
  const covered = s.covered ? c.green("space covered") : c.yellow(`not covered: ${s.bounds.map((x) => boundText(x, s)).join("; ")}`);
  out.push(`  ${plural(s.schedules, "schedule")} (${plural(s.steps, "step")}${blocked}), ${covered}`);
  const width = Math.max(0, ...s.outcomes.slice(0, OUTCOMES_SHOWN).map((o) => n(o.count).length));
  /* none only when the watchdog stopped the search before a schedule ended */
  if (s.outcomes.length) out.push(`  ${plural(s.outcomes.length, "outcome")}:`);
  for (const o of s.outcomes.slice(0, OUTCOMES_SHOWN)) out.push(`    ${n(o.count).padStart(width)}  ${o.outcome}`);
  if (s.outcomes.length > OUTCOMES_SHOWN) out.push(c.dim(`    and ${n(s.outcomes.length - OUTCOMES_SHOWN)} more (--json lists them all)`));
  if (!s.failures.length) out.push(`  ${c.green("no finding")}`);
  for (const f of s.failures) {
    out.push(`  ${c.red(`FAIL ${f.kind}`)}: ${f.message}`);
    out.push(`    shortest schedule: ${f.schedule} (${plural(f.preemptions, "preemption")}, ${plural(f.steps, "step")})`);
    out.push(c.dim(`    replay: ${b.replay} --schedule ${f.schedule}`));
  }
  return out.join("\n");
}

/** The last line: blocks explored, with findings, schedules in all. */
export function formatExploreTotals(c: Colors, blocks: readonly ExploredBlock[]): string {
  const found = blocks.filter((b) => b.summary.failures.length);
  const schedules = blocks.reduce((x, b) => x + b.summary.schedules, 0);
  const kinds = [...new Set(found.flatMap((b) => b.summary.failures.map((f) => f.kind)))].sort();
  const head = `${plural(blocks.length, "block")} explored, ${plural(schedules, "schedule")}: `;
  return found.length ? c.red(`${head}${n(found.length)} with findings (${kinds.join(", ")})`) : c.green(`${head}no finding`);
}

/** The --json document. */
export function exploreJson(blocks: readonly ExploredBlock[], version: string): Record<string, unknown> {
  return {
    formatVersion: REPORT_FORMAT_VERSION,
    tool: "smmu-emu",
    version,
    blocks,
    findings: blocks.reduce((x, b) => x + b.summary.failures.length, 0),
  };
}
