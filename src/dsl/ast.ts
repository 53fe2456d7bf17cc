/**
 * The typed AST of a .smmu file after lowering: parameters, loops and
 * includes are resolved, so a scenario is a flat list of statements, each
 * with the span it was written at.
 */
import type { Span } from "../core/diagnostics.js";
import type { Cmd } from "../model/commands.js";
import type { Access, Via } from "../model/translation.js";
import type { InvTypeName } from "../model/driver.js";
import type { JsonValue, Topology } from "../model/topology.js";

/** A driver plugin and variant, as `driver invs v9;` names them. */
export interface DriverChoice {
  plugin: string;
  variant?: string;
  /** The driver plugin's options, with where each was written. */
  options?: Record<string, JsonValue>;
  optionSpans?: Record<string, Span>;
  span: Span;
}

/** One command an `expect commands` block describes. */
export interface CmdPattern {
  op: Cmd["op"];
  /** Fields given, by name; a field not given must be zero unless `rest` is set. */
  fields: Record<string, bigint>;
  /** `...`: fields not given may be anything */
  rest: boolean;
  /** `x N`: the pattern stands for N consecutive commands */
  repeat: number;
  span: Span;
}

/** One entry an `expect invs` or `array` block describes. */
export interface InvPattern {
  /** left out in arrays of no SMMU (the kunit test's): then any SMMU matches */
  smmu?: string;
  type: InvTypeName;
  id: number;
  ssid: number;
  users: number;
  span: Span;
}

export type DmaExpectation =
  | { kind: "via"; via: Via }
  | { kind: "ok" }
  | { kind: "fault"; event?: string }
  | { kind: "abort" };

/** The failures the emulator detects that `expect error` may name: a livelock, a kernel oops, a use after free. */
export const EMULATOR_ERRORS = ["livelock", "oops", "use_after_free"] as const;

/** What `expect error` waits for: an errno from the driver, or an emulator-detected failure. */
export type ErrorExpectation = { kind: "errno"; errno: number; name: string } | { kind: (typeof EMULATOR_ERRORS)[number] };

/**
 * A memory operation of a litmus `thread { }`, named as the kernel's
 * primitives are, on a shared variable (not SMMU state) that starts at 0.
 */
export type MemOp = At &
  (
    | { op: "WRITE_ONCE" | "smp_store_release"; var: string; value: number }
    | { op: "READ_ONCE" | "smp_load_acquire"; var: string; reg: string }
    | { op: "smp_mb" | "smp_wmb" | "smp_rmb" }
  );

/** A register a thread loaded into, or an integer. */
export type RegOperand = { reg: string } | { value: number };

/** What `expect r0 == 1 or r1 == 1;` holds the registers to. */
export type RegCond =
  | { kind: "cmp"; op: "==" | "!="; left: RegOperand; right: RegOperand }
  | { kind: "and" | "or"; operands: RegCond[] }
  | { kind: "not"; cond: RegCond };

interface At {
  span: Span;
}

export type Stmt = At &
  (
    | { kind: "attach"; device: string; target: string; pasid?: number; sva?: true }
    | { kind: "detach"; device: string; pasid?: number }
    | { kind: "map"; domain: string; iova: number; size: number; pa?: number; readonly: boolean }
    | { kind: "unmap"; domain: string; iova: number; size: number }
    | { kind: "flush"; domain: string }
    | { kind: "dma"; device: string; access: Access; iova: number; pasid?: number; sid?: number; expect?: DmaExpectation }
    | { kind: "mm-invalidate"; domain: string; start?: bigint; size?: bigint }
    | { kind: "mm-release"; domain: string }
    /** IOMMU_HWPT_INVALIDATE on a vSMMU: the guest's commands as it queued them */
    | { kind: "vsmmu-invalidate"; vsmmu: string; cmds: Cmd[] }
    | { kind: "fail-alloc"; site: string; count: number }
    | { kind: "fault"; device: string; fault: string; on: boolean }
    | { kind: "expect-commands"; smmu: string; contains: boolean; patterns: CmdPattern[] }
    | { kind: "expect-count"; smmu: string; what: string; count: number }
    | { kind: "expect-invs"; domain: string; entries: InvPattern[]; trash?: number }
    | { kind: "expect-error"; error: ErrorExpectation; body: Stmt[] }
    /** the body fires a WARN in the function `text` names, or whose condition contains `text` */
    | { kind: "expect-warn"; text: string; body: Stmt[] }
    | { kind: "expect-stale"; none: boolean; device?: string; iova?: number }
    | { kind: "array-set"; target: string; entries: InvPattern[] }
    | { kind: "array-alloc"; target: string; size: number }
    | { kind: "array-merge"; target: string; base: string; other: string }
    | { kind: "array-purge"; target: string; base: string }
    | { kind: "array-unref"; base: string; other: string }
    | { kind: "expect-array"; target: string; entries: InvPattern[]; trash?: number }
    | { kind: "concurrently"; body: Operation[] }
    | { kind: "expect-state"; node: string; key: string; value: number | string | boolean }
    /** a litmus test's thread: plain memory operations on one CPU */
    | { kind: "thread"; ops: MemOp[] }
    | { kind: "expect-cond"; cond: RegCond }
    /** what a domain's array, an STE or CD, an SMMU's TLB or an endpoint's ATC holds, printed into the report */
    | { kind: "show"; what: ShowWhat; target: string; pasid?: number }
  );

/** What `show` shows: a domain's invalidation array, a device's STEs or CD, an SMMU's TLB (and walk cache), an endpoint's ATC. */
export type ShowWhat = "invs" | "ste" | "cd" | "iotlb" | "atc";

/** The statements that are operations, stepped paths of the driver or a device (a litmus thread too): the ones a `concurrently` block may hold. */
const OPERATION_KINDS = ["attach", "detach", "map", "unmap", "flush", "dma", "mm-invalidate", "mm-release", "vsmmu-invalidate", "thread"] as const satisfies readonly Stmt["kind"][];
const OPERATIONS: ReadonlySet<Stmt["kind"]> = new Set(OPERATION_KINDS);

export type Operation = Extract<Stmt, { kind: (typeof OPERATION_KINDS)[number] }>;

export function isOperation(s: Stmt): s is Operation {
  return OPERATIONS.has(s.kind);
}

export interface Scenario {
  name: string;
  span: Span;
  driver?: DriverChoice;
  /** Its statements, loops unrolled. For a scenario with a `stream`, reading this makes them all at once. */
  body: Stmt[];
  /**
   * Set for a scenario whose loops unroll to more statements than a
   * compiled file keeps (CompileOptions.keep): its statements are lowered
   * again, one at a time, as a run reaches them.
   */
  stream?: ScenarioStream;
}

/** A scenario's statements made as they are reached, rather than held. */
interface ScenarioStream {
  /** How many statements there are (the length of `body`). */
  readonly count: number;
  /** The statements, in order, as `body` holds them. */
  statements(): Iterable<Stmt>;
  /** Per SMMU, the index of the last statement that looks at its commands (commandLooks()). */
  readonly lastLooks: ReadonlyMap<string, number>;
}

/** Visit each SMMU whose received commands `s` looks at (`expect commands`, `expect count`), in blocks too. */
export function commandLooks(s: Stmt, visit: (smmu: string) => void): void {
  if (s.kind === "expect-commands" || s.kind === "expect-count") visit(s.smmu);
  else if ("body" in s) for (const inner of s.body) commandLooks(inner, visit);
}

/** Per SMMU, the index of the last of `stmts` that looks at its commands. */
export function lastLooks(stmts: readonly Stmt[]): Map<string, number> {
  const last = new Map<string, number>();
  stmts.forEach((s, i) => commandLooks(s, (smmu) => last.set(smmu, i)));
  return last;
}

/** The top-level statements of `scenario` in order: made one at a time for a streamed one. */
export function statementsOf(scenario: Scenario): Iterable<Stmt> {
  return scenario.stream?.statements() ?? scenario.body;
}

/** The statements of `scenario` as a run takes them, how many, and each SMMU's last look at its commands. */
export function scenarioStatements(scenario: Scenario): { count: number; statements: Iterable<Stmt>; lastLooks: ReadonlyMap<string, number> } {
  const stream = scenario.stream;
  if (stream) return { count: stream.count, statements: stream.statements(), lastLooks: stream.lastLooks };
  return { count: scenario.body.length, statements: scenario.body, lastLooks: lastLooks(scenario.body) };
}

/** A `use "path";` of a plugin module. */
export interface PluginUse {
  path: string;
  /** Where the `use` is written: `span.file` is the file that contains it, which a relative `path` is relative to. */
  span: Span;
}

export interface SmmuFile {
  file: string;
  topology: Topology;
  /** Where each node of `topology` was written, by JSON Pointer. */
  locations: Map<string, Span>;
  driver?: DriverChoice;
  uses: PluginUse[];
  scenarios: Scenario[];
}
