/**
 * Checking expectations: command streams against patterns (exact, or as an
 * ordered subsequence), invalidation arrays against entries, DMA results,
 * conditions over litmus threads' registers.
 * Each check returns null when it holds, or the lines that explain why not.
 */
import type { CmdPattern, DmaExpectation, InvPattern, RegCond, RegOperand } from "../dsl/ast.js";
import { formatCmd, type Cmd } from "../model/commands.js";
import type { InvsSnapshot } from "../model/driver.js";
import type { TranslateResult } from "../model/translation.js";
import { assertNever } from "../model/assert-never.js";
import { hex } from "../model/hex.js";
import { diffItems, foldDiff, lineDiff } from "../core/line-diff.js";

/** A field or ID as the expectations print it: decimal below 10, hex from there. */
const short = (v: number | bigint): string => (v < 10 ? v.toString() : hex(v));

/** A command's fields as 64-bit integers (booleans as 0/1). */
function fieldsOf(cmd: Cmd): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(cmd)) {
    if (k === "op") continue;
    out[k] = typeof v === "bigint" ? v : BigInt(typeof v === "boolean" ? Number(v) : (v as number));
  }
  return out;
}

function matches(p: CmdPattern, cmd: Cmd): boolean {
  if (p.op !== cmd.op) return false;
  const f = fieldsOf(cmd);
  for (const [k, v] of Object.entries(p.fields)) if (f[k] !== v) return false;
  if (!p.rest) for (const [k, v] of Object.entries(f)) if (!(k in p.fields) && v !== 0n) return false;
  return true;
}

function formatPattern(p: CmdPattern): string {
  const fields = Object.entries(p.fields).map(([k, v]) => `${k} ${short(v)}`);
  return [p.op, ...fields, ...(p.rest ? ["..."] : [])].join(" ");
}

/** Patterns with `x N` written out. */
function expand(patterns: readonly CmdPattern[]): CmdPattern[] {
  return patterns.flatMap((p) => Array.from({ length: p.repeat }, () => p));
}

/** The commands must be exactly the patterns, in order; the detail is a diff with a little context. */
export function checkExact(patterns: readonly CmdPattern[], cmds: readonly Cmd[]): string[] | null {
  return lineDiff(expand(patterns), cmds, { same: matches, want: formatPattern, got: formatCmd });
}

/** The patterns must appear in the commands in this order, others may come between. */
export function checkContains(patterns: readonly CmdPattern[], cmds: readonly Cmd[]): string[] | null {
  const want = expand(patterns);
  let j = 0;
  for (const c of cmds) if (j < want.length && matches(want[j]!, c)) j++;
  if (j === want.length) return null;
  return [
    `  first missing: ${formatPattern(want[j]!)}`,
    ...(cmds.length ? cmds.map((c) => `  + ${formatCmd(c)}`) : ["  (no command)"]),
  ];
}

type EntryLike = { smmu?: string; type: string; id: number; ssid: number; users: number };

function formatEntry(e: EntryLike, smmu: boolean): string {
  return `${smmu && e.smmu !== undefined ? `${e.smmu} ` : ""}${e.type} ${short(e.id)} ssid ${e.ssid} users ${e.users}`;
}

/**
 * What `show invs` prints of a domain's array: each entry within num_invs as
 * `expect invs` writes it, then its trash count; or why there is none.
 */
export function invsLines(got: InvsSnapshot | null, why: string): string[] {
  if (!got) return [why];
  if (got.error) return [`the array pointer holds ${got.error}`];
  const lines = got.entries.map((e) => formatEntry(e, true));
  return [...(lines.length ? lines : ["empty"]), ...(got.trashes ? [`trash ${got.trashes}`] : [])];
}

/** An entry matches a pattern; a pattern without an SMMU matches any. */
function entryMatches(w: InvPattern, g: EntryLike): boolean {
  return (w.smmu === undefined || w.smmu === g.smmu) && w.type === g.type && w.id === g.id && w.ssid === g.ssid && w.users === g.users;
}

/** The entries within num_invs and the trash count; the detail is a diff with a little context. */
export function checkInvs(want: readonly InvPattern[], trash: number | undefined, got: InvsSnapshot): string[] | null {
  if (got.error) return [`  the array pointer holds ${got.error}`];
  /* patterns that name no SMMU (the kunit test's arrays): the entries are shown without theirs */
  const smmu = want.length === 0 || want.some((w) => w.smmu !== undefined);
  const lines = diffItems(want, got.entries, { same: entryMatches, want: (w) => formatEntry(w, true), got: (g) => formatEntry(g, smmu) });
  const trashOk = trash === undefined || trash === got.trashes;
  if (trashOk && lines.every((l) => l.mark === " ")) return null;
  if (!trashOk) lines.push({ mark: "-", text: `trash ${trash}` }, { mark: "+", text: `trash ${got.trashes}` });
  return foldDiff(lines);
}

function describeResult(r: TranslateResult): string {
  switch (r.kind) {
    case "ok":
      return `ok via ${r.via} (pa ${hex(r.t.pa)})`;
    case "fault":
      return `fault ${r.event} (${r.detail})`;
    case "abort":
      return `abort (${r.detail})`;
    default:
      return assertNever(r);
  }
}

/** Whether `got` is what `want` expects, and how `want` reads. */
function judgeDma(want: DmaExpectation, got: TranslateResult): { ok: boolean; wanted: string } {
  switch (want.kind) {
    case "ok":
      return { ok: got.kind === "ok", wanted: "ok" };
    case "via":
      return { ok: got.kind === "ok" && got.via === want.via, wanted: `ok via ${want.via}` };
    case "fault":
      return { ok: got.kind === "fault" && (!want.event || got.event === want.event), wanted: `fault${want.event ? ` ${want.event}` : ""}` };
    case "abort":
      return { ok: got.kind === "abort", wanted: "abort" };
    default:
      return assertNever(want);
  }
}

export function checkDma(want: DmaExpectation, got: TranslateResult): string | null {
  const { ok, wanted } = judgeDma(want, got);
  return ok ? null : `expected ${wanted}, got ${describeResult(got)}`;
}

/** A condition as it is written, with the parentheses its precedence needs (not, then and, then or). */
function formatCond(c: RegCond): string {
  const operand = (o: RegOperand): string => ("reg" in o ? o.reg : String(o.value));
  switch (c.kind) {
    case "cmp":
      return `${operand(c.left)} ${c.op} ${operand(c.right)}`;
    case "not":
      return `not ${c.cond.kind === "and" || c.cond.kind === "or" ? `(${formatCond(c.cond)})` : formatCond(c.cond)}`;
    case "and":
      return c.operands.map((o) => (o.kind === "or" ? `(${formatCond(o)})` : formatCond(o))).join(" and ");
    case "or":
      return c.operands.map(formatCond).join(" or ");
  }
}

/** The registers `c` reads, each once, in the order written. */
function condRegisters(c: RegCond, out = new Set<string>()): Set<string> {
  if (c.kind === "cmp") {
    for (const o of [c.left, c.right]) if ("reg" in o) out.add(o.reg);
  } else if (c.kind === "not") condRegisters(c.cond, out);
  else for (const o of c.operands) condRegisters(o, out);
  return out;
}

function holds(c: RegCond, regs: ReadonlyMap<string, number>): boolean {
  const value = (o: RegOperand): number => ("reg" in o ? regs.get(o.reg)! : o.value);
  switch (c.kind) {
    case "cmp":
      return (value(c.left) === value(c.right)) === (c.op === "==");
    case "not":
      return !holds(c.cond, regs);
    case "and":
      return c.operands.every((o) => holds(o, regs));
    case "or":
      return c.operands.some((o) => holds(o, regs));
  }
}

/** `expect COND;` over the registers the threads loaded into: null if it holds, else what they hold. */
export function checkCond(c: RegCond, regs: ReadonlyMap<string, number>): string | null {
  const read = [...condRegisters(c)];
  const missing = read.filter((r) => !regs.has(r));
  if (missing.length) return `${missing.join(", ")} ${missing.length === 1 ? "holds" : "hold"} nothing: the thread that loads into ${missing.length === 1 ? "it" : "them"} did not run`;
  if (holds(c, regs)) return null;
  return `expected ${formatCond(c)}, but ${read.map((r) => `${r}=${regs.get(r)}`).join(" ")}`;
}
