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
