/**
 * Topology files in JSON: parsed with @humanwhocodes/momoa so every value
 * and property name keeps its line and column, which is how schema errors
 * (reported by ajv as JSON Pointers) end up pointing into the user's file.
 */
import { parse, tokenize, type DocumentNode, type Token, type TokenType, type ValueNode } from "@humanwhocodes/momoa";
import { diagnostic, InputError, type Diagnostic, type Span } from "../core/diagnostics.js";
import type { Topology } from "../model/topology.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { escapePointerToken, validateTopology, type PointerPart } from "./validate.js";

export interface JsonSource {
  /** The parsed value, exactly as JSON.parse gives it. */
  value: unknown;
  /**
   * Where a JSON Pointer's target is in the file: the value, or with
   * part "key" an object member's property name. A pointer to nothing in
   * the file gives the span of its nearest parent that exists.
   */
  locate: (pointer: string, part?: PointerPart) => Span;
}

interface Place {
  key?: Span;
  value: Span;
}

/**
 * Parse `text` (the contents of `file`). Throws InputError with a "json"
 * diagnostic on a syntax error, and with one per repeated property name
 * (JSON.parse would silently keep the last).
 */
export function parseJsonSource(text: string, file: string): JsonSource {
  const src = text.startsWith("\uFEFF") ? text.slice(1) : text;
  let doc: DocumentNode;
  try {
    doc = parse(src, { mode: "json" });
  } catch (e) {
    throw new InputError([syntaxDiagnostic(src, file, e)]);
  }
  let value: unknown;
  try {
    value = JSON.parse(src);
  } catch (e) {
    // momoa accepts a little more than JSON (raw control characters in strings).
    throw new InputError([jsonParseDiagnostic(src, file, e)]);
  }

  const places = new Map<string, Place>();
  const duplicates: Diagnostic[] = [];
  const span = (loc: { start: { line: number; column: number }; end: { line: number; column: number } }): Span => ({
    file,
    line: loc.start.line,
    column: loc.start.column,
    endLine: loc.end.line,
    endColumn: loc.end.column,
  });
  const walk = (node: ValueNode, pointer: string, key?: Span): void => {
    places.set(pointer, { ...(key ? { key } : {}), value: span(node.loc) });
    if (node.type === "Object") {
      const seen = new Map<string, Span>();
      for (const m of node.members) {
        const name = m.name.type === "String" ? m.name.value : m.name.name;
        const keySpan = span(m.name.loc);
        const first = seen.get(name);
        if (first) {
          duplicates.push(diagnostic(keySpan, "json", `duplicate property "${name}" (first at line ${first.line})`, "JSON keeps only the last one; remove or rename one of them"));
        }
        seen.set(name, keySpan);
        walk(m.value, `${pointer}/${escapePointerToken(name)}`, keySpan);
      }
    } else if (node.type === "Array") {
      node.elements.forEach((el, i) => walk(el.value, `${pointer}/${i}`));
    }
  };
  walk(doc.body, "");
  if (duplicates.length > 0) throw new InputError(duplicates);

  const locate = (pointer: string, part: PointerPart = "value"): Span => {
    let p = pointer;
    for (;;) {
      const place = places.get(p);
      if (place) return part === "key" && p === pointer && place.key ? place.key : place.value;
      if (p === "") return { file, line: 1, column: 1 };
      const i = p.lastIndexOf("/");
      p = i <= 0 ? "" : p.slice(0, i);
    }
  };
  return { value, locate };
}

/**
 * Parse and validate a JSON topology file; throws InputError with every
 * diagnostic found if there is any error.
 */
export function loadTopologyJson(text: string, file: string, registry: PluginRegistry): Topology {
  const { topology, diagnostics } = locatedTopologyJson(text, file, registry);
  if (diagnostics.some((d) => d.severity === "error")) throw new InputError(diagnostics);
  return topology;
}

/**
 * A topology file parsed and validated, its problems returned rather than
 * thrown (a syntax error is still thrown: there is nothing to return), with
 * where each value is in the file: for a .smmu file including it.
 */
export function locatedTopologyJson(text: string, file: string, registry: PluginRegistry): { topology: Topology; locate: (pointer: string) => Span; diagnostics: Diagnostic[] } {
  const { value, locate } = parseJsonSource(text, file);
  const diagnostics = validateTopology(value, registry, locate);
  const { $schema: _editorsOnly, ...topology } = (value !== null && typeof value === "object" && !Array.isArray(value) ? value : {}) as Topology & { $schema?: string };
  return { topology, locate: (pointer) => locate(pointer), diagnostics };
}

// ---------------------------------------------------------------------------
// Syntax errors

const VALUE_END: ReadonlySet<TokenType> = new Set(["String", "Number", "Boolean", "Null", "RBrace", "RBracket"]);

function syntaxDiagnostic(src: string, file: string, e: unknown): Diagnostic {
  const at = (line: number, column: number, message: string, hint?: string): Diagnostic =>
    diagnostic({ file, line, column }, "json", message, hint);

  if (src.trim() === "") return at(1, 1, "the file is empty; expected a JSON object");
  if (endsEarly(src, e)) {
    const quote = unterminatedString(src);
    if (quote !== undefined) {
      const { line, column } = positionOf(src, quote);
      return at(line, column, "unterminated string", `a string ends with '"' on the line it starts on`);
    }
    const end = positionOf(src, src.trimEnd().length);
    const open = unclosed(tokensBefore(src, src.length));
    const hint = open ? `the "${open.type === "LBrace" ? "{" : "["}" at line ${open.loc.start.line}, column ${open.loc.start.column} is not closed` : undefined;
    return at(end.line, end.column, "unexpected end of file", hint);
  }

  const err = e as { message?: unknown; line?: unknown; column?: unknown; offset?: unknown };
  const message = typeof err.message === "string" ? err.message.replace(/ \(\d+:\d+\)$/, "") : String(e);
  if (typeof err.line !== "number" || typeof err.column !== "number" || typeof err.offset !== "number") {
    return at(1, 1, `invalid JSON: ${message}`);
  }
  const { line, column, offset } = err as { line: number; column: number; offset: number };

  const word = /^[A-Za-z_$][\w$]*/.exec(src.slice(offset))?.[0];
  const char = /^Unexpected character '(.*)' found\.$/s.exec(message)?.[1];
  if (word !== undefined && (char !== undefined || message.startsWith("Unexpected identifier"))) {
    return at(line, column, `unexpected word "${word}"`, `strings and property names need double quotes; the bare words JSON knows are true, false and null`);
  }
  if (char !== undefined) {
    if (char === "'") return at(line, column, `unexpected "'"`, "JSON strings and property names need double quotes");
    if (char === "/") return at(line, column, `unexpected "/"`, "JSON has no comments");
    return at(line, column, `unexpected ${JSON.stringify(char)}`);
  }

  const tokenType = /^Unexpected token (\w+) found\.$/.exec(message)?.[1];
  if (tokenType !== undefined) {
    const before = tokensBefore(src, offset);
    const prev = before[before.length - 1];
    const prevPrev = before[before.length - 2];
    const open = unclosed(before);
    const found = describeToken(tokenType, tokenText(src, offset));
    if (prev?.type === "Comma" && (tokenType === "RBrace" || tokenType === "RBracket")) {
      return at(prev.loc.start.line, prev.loc.start.column, `trailing comma before ${found}`, "JSON does not allow a comma after the last item");
    }
    if (open?.type === "LBrace" && prev?.type === "String" && (prevPrev?.type === "LBrace" || prevPrev?.type === "Comma")) {
      return at(line, column, `expected ":" after property name ${tokenText(src, prev.loc.start.offset)}, found ${found}`);
    }
    if (prev && VALUE_END.has(prev.type)) {
      if (!open) return at(line, column, `unexpected ${found} after the end of the JSON value`);
      return at(line, column, `expected "," or "${open.type === "LBrace" ? "}" : "]"}", found ${found}`, `a "," is missing between two ${open.type === "LBrace" ? "properties" : "items"}?`);
    }
    if (open?.type === "LBrace" && (prev?.type === "LBrace" || prev?.type === "Comma")) {
      return at(line, column, `expected a property name in double quotes, found ${found}`);
    }
    return at(line, column, `expected a value, found ${found}`);
  }
  return at(line, column, message.charAt(0).toLowerCase() + message.slice(1));
}

/** Whether the parse failed because the text stopped too soon (momoa sometimes blames the last token instead). */
function endsEarly(src: string, e: unknown): boolean {
  if (e instanceof Error && e.message.startsWith("Unexpected end of input")) return true;
  try {
    JSON.parse(src);
    return false;
  } catch (j) {
    const message = j instanceof Error ? j.message : "";
    const position = /at position (\d+)/.exec(message)?.[1];
    return /end of JSON input/i.test(message) || (position !== undefined && Number(position) >= src.trimEnd().length);
  }
}

/** The offset of the opening quote of the first string that reaches a line end or the end of the text. */
function unterminatedString(src: string): number | undefined {
  for (let i = 0; i < src.length; i++) {
    if (src[i] !== '"') continue;
    let j = i + 1;
    while (j < src.length && src[j] !== '"' && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
    if (j >= src.length || src[j] === "\n") return i;
    i = j;
  }
  return undefined;
}

function jsonParseDiagnostic(src: string, file: string, e: unknown): Diagnostic {
  const text = e instanceof Error ? e.message : String(e);
  const offset = Number(/at position (\d+)/.exec(text)?.[1] ?? 0);
  const { line, column } = positionOf(src, offset);
  const message = text.replace(/ in JSON at position \d+.*$/s, "").replace(/ \(line \d+ column \d+\)$/, "");
  return diagnostic({ file, line, column }, "json", `invalid JSON: ${message.charAt(0).toLowerCase()}${message.slice(1)}`);
}

function tokensBefore(src: string, offset: number): Token[] {
  try {
    return tokenize(src.slice(0, offset), { mode: "json" });
  } catch {
    return [];
  }
}

/** The innermost "{" or "[" the tokens leave open. */
function unclosed(tokens: readonly Token[]): Token | undefined {
  const stack: Token[] = [];
  for (const t of tokens) {
    if (t.type === "LBrace" || t.type === "LBracket") stack.push(t);
    else if (t.type === "RBrace" || t.type === "RBracket") stack.pop();
  }
  return stack[stack.length - 1];
}

function tokenText(src: string, offset: number): string {
  const rest = src.slice(offset);
  const t = /^(?:"(?:[^"\\\n]|\\.)*"?|-?[0-9][0-9.eE+-]*|[A-Za-z_$][\w$]*)/.exec(rest)?.[0] ?? rest.charAt(0);
  return t.length > 30 ? `${t.slice(0, 27)}...` : t;
}

function describeToken(type: string, text: string): string {
  if (type === "String") return `the string ${text}`;
  if (type === "Number") return `the number ${text}`;
  return `"${text}"`;
}

/** Line and column (from 1) of a string offset. */
function positionOf(src: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < src.length; i++) {
    if (src.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}
