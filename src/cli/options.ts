/** The command line's options as the commands receive them, and the parsers of their values. */
import { InvalidArgumentError } from "commander";
import type { Limits } from "../dsl/limits.js";
import type { JsonValue } from "../model/topology.js";
import type { Io } from "./io.js";

/** The limits --limit sets: the language's (dsl/limits.ts) and the run's. */
export interface InputLimits extends Partial<Limits> {
  /** Page-table entries a scenario may hold at once (engine/iommu-core.ts's DEFAULT_MAX_PTES). */
  ptes?: number;
}

export interface GlobalOpts {
  json?: boolean;
  color: boolean;
  plugin?: string[];
  limit?: InputLimits;
}

export const REPORTERS = ["human", "ktap", "junit"] as const;
type ReporterName = (typeof REPORTERS)[number];

export interface RunOpts extends GlobalOpts, ReplayOpts {
  /** names or globs; repeatable */
  scenario?: string[];
  list?: boolean;
  reporter: ReporterName;
  seed?: number;
  driver?: string;
  variant?: string;
  stepLimit?: number;
  driverOption?: Record<string, JsonValue>;
  trace?: string;
  /** run --log: the categories logged, and where (stderr without --log-file) */
  log?: LogCategory[];
  logFile?: string;
  metrics?: boolean;
  /** A topology (.json or .smmu) each file is read after, as if it began by including it. */
  topology?: string;
  checkPlugins?: boolean;
  /** Seconds a scenario may run (on a worker thread) before it is stopped. */
  timeout?: number;
  /** MB of JS heap the worker thread running the scenarios may use. */
  maxMemory?: number;
}

/** check, validate, export, graph, compare and plugins --timeout: seconds the command may run (on a worker thread) before it is stopped. */
interface WatchableOpts {
  timeout?: number;
}

export interface CheckOpts extends GlobalOpts, WatchableOpts {
  topology?: string;
}

/** `run --schedule`: replay one explored schedule of one scenario's block. */
interface ReplayOpts {
  schedule?: string;
  /** From 1. */
  block?: number;
  memory: "sc" | "tso" | "arm";
}

export interface ExploreOpts extends GlobalOpts, ReplayOpts {
  scenario?: string[];
  topology?: string;
  driver?: string;
  variant?: string;
  driverOption?: Record<string, JsonValue>;
  mode?: "dpor" | "naive" | "pct" | "random";
  maxSchedules?: number;
  preemptions?: number;
  splitDepth?: number;
  maxSteps?: number;
  depth?: number;
  runs?: number;
  seed?: number;
  seeds?: { from: number; to: number };
  jobs?: number;
  /** Seconds a search may go without progress (a step, an execution) before its worker is stopped. */
  timeout?: number;
  shard?: { index: number; count: number };
  merge?: boolean;
}

export interface GraphOpts extends GlobalOpts, WatchableOpts {
  scenario?: string;
  topology?: string;
}

export interface CompareOpts extends GlobalOpts, WatchableOpts {
  scenario?: string[];
  topology?: string;
  seed: number;
}

/** What every command gets besides its options. */
export interface CommandContext {
  io: Io;
  version: string;
  /** colours for these options: a terminal, --color, and not --json */
  useColor(o: GlobalOpts): boolean;
}

/** A repeatable option's values, in the order given. */
export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** `--driver-option key[=value]`, repeatable: true without a value; true/false, integers and words as written. */
export function driverOption(v: string, prev: Record<string, JsonValue> = {}): Record<string, JsonValue> {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(v);
  if (!m) throw new InvalidArgumentError(`not key or key=value: ${v}`);
  const raw = m[2];
  const value = raw === undefined || raw === "true" ? true : raw === "false" ? false : /^-?\d+$/.test(raw) ? Number(raw) : raw;
  return { ...prev, [m[1]!]: value };
}

/** Every limit's name on the command line (a Record over the keys: the type check keeps the list whole). */
export const LIMIT_FLAGS: Readonly<Record<keyof InputLimits, string>> = {
  nesting: "nesting",
  iterations: "iterations",
  nodes: "nodes",
  statements: "statements",
  evaluations: "evaluations",
  literalLength: "literal-length",
  fileSize: "file-size",
  includeSize: "include-size",
  includeDepth: "include-depth",
  ptes: "ptes",
};

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `--limit name=N`, repeatable: N a positive integer, or with K, M or G (binary, as in .smmu files). */
export function limitOption(v: string, prev: InputLimits = {}): InputLimits {
  const m = /^([a-z-]+)=([0-9]+)([KMG]?)$/.exec(v);
  const names = Object.values(LIMIT_FLAGS).join(", ");
  if (!m) throw new InvalidArgumentError(`not name=N: ${v} (limits: ${names})`);
  const key = (Object.keys(LIMIT_FLAGS) as (keyof InputLimits)[]).find((k) => LIMIT_FLAGS[k] === m[1]);
  if (!key) throw new InvalidArgumentError(`no limit named "${m[1]}" (limits: ${names})`);
  const n = Number(m[2]) * UNITS[m[3]!]!;
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`not a positive integer: ${v}`);
  return { ...prev, [key]: n };
}

export function seedInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`not a seed (0..4294967295): ${v}`);
  return n;
}

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`not a positive integer: ${v}`);
  return n;
}

/** A positive number of seconds (fractions allowed). */
export function seconds(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0) || n > 2_000_000) throw new InvalidArgumentError(`not a number of seconds > 0: ${v}`);
  return n;
}

export function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`not an integer >= 0: ${v}`);
  return n;
}

/** `--seeds A..B`: the seeds A to B, both included. */
export function seedRange(v: string): { from: number; to: number } {
  const m = /^(\d+)\.\.(\d+)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`not A..B (two seeds, the first no greater): ${v}`);
  const from = seedInt(m[1]!);
  const to = seedInt(m[2]!);
  if (from > to) throw new InvalidArgumentError(`${from} is greater than ${to}: ${v}`);
  return { from, to };
}

/** `--shard K/N`: the K-th of N parts, K from 1. */
export function shardSpec(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || !Number.isSafeInteger(count) || index < 1 || index > count) throw new InvalidArgumentError(`not K/N with 1 <= K <= N: ${v}`);
  return { index, count };
}

/** What `run --log` can log (src/report/log.ts LogCategory: run.ts passes these there, so tsc checks they are its). */
export const LOG_CATEGORIES = ["cmds", "dma", "atc", "tlb", "walk", "invs"] as const;
export type LogCategory = (typeof LOG_CATEGORIES)[number];

/** --log's categories, "cmds,dma" or "all", in LOG_CATEGORIES order; a word that is none is named in the error. */
export function logCategories(v: string): LogCategory[] {
  if (v === "all") return [...LOG_CATEGORIES];
  const words = v.split(",").map((w) => w.trim());
  const bad = words.find((w) => !(LOG_CATEGORIES as readonly string[]).includes(w));
  if (bad !== undefined) throw new InvalidArgumentError(`no log category "${bad}" (categories: ${LOG_CATEGORIES.join(", ")}, or all)`);
  return LOG_CATEGORIES.filter((c) => words.includes(c));
}
