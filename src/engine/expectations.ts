/**
 * Checking expectations: command streams against patterns (exact, or as an
 * ordered subsequence), invalidation arrays against entries, DMA results.
 * Each check returns null when it holds, or the lines that explain why not.
 */
import type { CmdPattern, DmaExpectation, InvPattern } from "../dsl/ast.js";
import { formatCmd, type Cmd } from "../model/commands.js";
import type { InvsSnapshot } from "../model/driver.js";
import type { TranslateResult } from "../model/translation.js";

const hex = (v: bigint): string => (v < 10n ? v.toString() : `0x${v.toString(16)}`);

/** A command's fields as 64-bit integers (booleans as 0/1). */
function fieldsOf(cmd: Cmd): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(cmd)) {
    if (k === "op") continue;
    out[k] = typeof v === "bigint" ? v : BigInt(typeof v === "boolean" ? Number(v) : (v as number));
  }
  return out;
}

export function matches(p: CmdPattern, cmd: Cmd): boolean {
  if (p.op !== cmd.op) return false;
  const f = fieldsOf(cmd);
  for (const [k, v] of Object.entries(p.fields)) if (f[k] !== v) return false;
  if (!p.rest) for (const [k, v] of Object.entries(f)) if (!(k in p.fields) && v !== 0n) return false;
  return true;
}

export function formatPattern(p: CmdPattern): string {
  const fields = Object.entries(p.fields).map(([k, v]) => `${k} ${hex(v)}`);
  return [p.op, ...fields, ...(p.rest ? ["..."] : [])].join(" ");
}

/** Patterns with `x N` written out. */
function expand(patterns: readonly CmdPattern[]): CmdPattern[] {
  return patterns.flatMap((p) => Array.from({ length: p.repeat }, () => p));
}

/** The commands must be exactly the patterns, in order. */
export function checkExact(patterns: readonly CmdPattern[], cmds: readonly Cmd[]): string[] | null {
  const want = expand(patterns);
  let ok = want.length === cmds.length;
  const lines: string[] = [];
  for (let i = 0; i < Math.max(want.length, cmds.length); i++) {
    const p = want[i];
    const c = cmds[i];
    if (p && c && matches(p, c)) {
      lines.push(`    ${formatCmd(c)}`);
      continue;
    }
    ok = false;
    if (p) lines.push(`  - ${formatPattern(p)}`);
    if (c) lines.push(`  + ${formatCmd(c)}`);
  }
  return ok ? null : lines;
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

function formatEntry(e: { smmu?: string; type: string; id: number; ssid: number; users: number }, smmu: boolean): string {
  const id = e.id < 10 ? String(e.id) : `0x${e.id.toString(16)}`;
  return `${smmu && e.smmu !== undefined ? `${e.smmu} ` : ""}${e.type} ${id} ssid ${e.ssid} users ${e.users}`;
}

/** The entries within num_invs and the trash count; a pattern without an SMMU matches any. */
export function checkInvs(want: readonly InvPattern[], trash: number | undefined, got: InvsSnapshot | null): string[] | null {
  if (!got) return ["  this driver keeps no invalidation array"];
  if (got.error) return [`  the array pointer holds ${got.error}`];
  const wantLines = want.map((w) => formatEntry(w, true));
  const gotLines = got.entries.map((g, i) => formatEntry(g, want[i]?.smmu !== undefined || i >= want.length));
  const same = wantLines.length === gotLines.length && wantLines.every((l, i) => l === gotLines[i]);
  const trashOk = trash === undefined || trash === got.trashes;
  if (same && trashOk) return null;
  const lines: string[] = [];
  for (let i = 0; i < Math.max(wantLines.length, gotLines.length); i++) {
    if (wantLines[i] === gotLines[i]) lines.push(`    ${wantLines[i]!}`);
    else {
      if (wantLines[i] !== undefined) lines.push(`  - ${wantLines[i]!}`);
      if (gotLines[i] !== undefined) lines.push(`  + ${gotLines[i]!}`);
    }
  }
  if (!trashOk) lines.push(`  - trash ${trash}`, `  + trash ${got.trashes}`);
  return lines;
}

export function describeResult(r: TranslateResult): string {
  if (r.kind === "ok") return `ok via ${r.via} (pa 0x${r.t.pa.toString(16)})`;
  if (r.kind === "fault") return `fault ${r.event} (${r.detail})`;
  return `abort (${r.detail})`;
}

export function checkDma(want: DmaExpectation, got: TranslateResult): string | null {
  const ok =
    want.kind === "ok"
      ? got.kind === "ok"
      : want.kind === "via"
        ? got.kind === "ok" && got.via === want.via
        : want.kind === "fault"
          ? got.kind === "fault" && (!want.event || got.event === want.event)
          : got.kind === "abort";
  if (ok) return null;
  const w = want.kind === "via" ? `ok via ${want.via}` : want.kind === "fault" ? `fault${want.event ? ` ${want.event}` : ""}` : want.kind;
  return `expected ${w}, got ${describeResult(got)}`;
}
