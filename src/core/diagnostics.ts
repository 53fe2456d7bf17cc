/**
 * Diagnostics: every problem with an input, as a value with a position,
 * printed GNU-style ("file:line:col: error: message") so editors and
 * compile-mode buffers can jump to it.
 */

/** A position in a source file; lines and columns count from 1. */
export interface Span {
  file: string;
  line: number;
  column: number;
  endLine?: number;
  endColumn?: number;
}

export type Severity = "error" | "warning";

export interface Diagnostic extends Span {
  severity: Severity;
  /** A stable identifier of the kind of problem (e.g. "parse", "unknown-node", "schema"). */
  code: string;
  message: string;
  /** What to do about it, when there is something to say. */
  hint?: string;
  /** How many times it was found at this position (a mistake in a loop's body, each time round); absent when once. */
  count?: number;
}

/** A diagnostic at `span`. */
export function diagnostic(span: Span, code: string, message: string, hint?: string, severity: Severity = "error"): Diagnostic {
  return { ...span, severity, code, message, ...(hint ? { hint } : {}) };
}

/** Thrown when input is rejected; carries every diagnostic found, not just the first. */
export class InputError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "InputError";
  }
}

/**
 * Diagnostics with their repeats counted: a mistake in the body of a loop
 * that runs a million times is one diagnostic, "... (reported 1000000
 * times)", not a million. Diagnostics with the same key are one; the first
 * one's message stands for them all.
 */
export class DiagnosticTally {
  private readonly entries = new Map<string, { d: Diagnostic; count: number }>();

  /** Count one more of the diagnostic keyed `key`; false if there is none yet (so the caller need not build its message). */
  again(key: string): boolean {
    const e = this.entries.get(key);
    if (e) e.count++;
    return e !== undefined;
  }

  add(d: Diagnostic, key: string = `${spanKey(d)}\0${d.code}\0${d.message}`): void {
    if (!this.again(key)) this.entries.set(key, { d, count: 1 });
  }

  /** How many different diagnostics there are. */
  get size(): number {
    return this.entries.size;
  }

  list(): Diagnostic[] {
    return [...this.entries.values()].map(({ d, count }) => (count === 1 ? d : { ...d, message: `${d.message} (reported ${count} times)`, count }));
  }
}

/** A span as a key: file, start and end. */
export function spanKey(s: Span): string {
  return `${s.file}\0${s.line}\0${s.column}\0${s.endLine ?? ""}\0${s.endColumn ?? ""}`;
}

/** `ds` with each diagnostic repeated at one position (same code and message) reported once, with its count. */
export function countRepeats(ds: readonly Diagnostic[]): Diagnostic[] {
  const tally = new DiagnosticTally();
  for (const d of ds) tally.add(d);
  return tally.list();
}

/** Order diagnostics by file, line and column so output is deterministic. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
}

/** "file:line:col: error: message [code]" and, if there is one, an indented hint line. */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

/** The source line of `d` with a caret under its column, for people reading a terminal. */
export function codeFrame(d: Diagnostic, source: string): string {
  const text = source.split(/\r\n?|\n/)[d.line - 1];
  if (text === undefined) return "";
  const width = d.endLine === d.line && d.endColumn && d.endColumn > d.column ? d.endColumn - d.column : 1;
  const gutter = String(d.line).padStart(5);
  return `${gutter} | ${text}\n${" ".repeat(gutter.length)} | ${" ".repeat(d.column - 1)}${"^".repeat(width)}`;
}
