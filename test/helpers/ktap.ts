/**
 * A KTAP version 1 parser written from Documentation/dev-tools/ktap.rst, to
 * check `run --reporter ktap` by its structure, never by matching strings:
 * version lines, plan lines, test case result lines with their directive,
 * diagnostic lines, nested tests (indented, each starting with its own
 * version line; kunit adds "# Subtest: NAME" after it), unknown lines.
 * It throws on what the specification forbids: no version line, a plan that
 * is not kept, numbers that do not count up from 1, a subtest block with no
 * result line after it, or a parent that passed while a subtest failed.
 */

interface KtapDirective {
  /** SKIP, TODO, XFAIL, TIMEOUT or ERROR */
  keyword: string;
  /** what follows the keyword */
  text: string;
}

export interface KtapTest {
  ok: boolean;
  number: number;
  description: string;
  directive?: KtapDirective;
  /** diagnostic data after "#" that is not a directive */
  data?: string;
  /** the diagnostic lines ("# ...", without "# ") directly before the result line */
  diagnostics: string[];
  /** the nested tests, when the test has subtests */
  subtests?: KtapDocument;
}

export interface KtapDocument {
  version: string;
  /** kunit's "# Subtest: NAME" after the version line */
  subtest?: string;
  /** N of "1..N", if there is a plan line */
  plan?: number;
  tests: KtapTest[];
  /** diagnostic lines after the last result line */
  trailing: string[];
  /** lines that are none of KTAP's kinds */
  unknown: string[];
}

const VERSION = /^(KTAP version 1|TAP version 1[34])$/;
const PLAN = /^1\.\.(\d+)$/;
const RESULT = /^(ok|not ok) (\d+)(?: - )?([^#]*?)(?: # (.*))?$/;
const DIRECTIVES = ["SKIP", "TODO", "XFAIL", "TIMEOUT", "ERROR"];

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

class Parser {
  private i = 0;
  constructor(private readonly lines: readonly string[]) {}

  document(indent: number): KtapDocument {
    const head = this.lines[this.i];
    if (head === undefined || indentOf(head) !== indent || !VERSION.test(head.trim())) {
      throw new Error(`line ${this.i + 1}: expected a version line at indentation ${indent}, got ${JSON.stringify(head)}`);
    }
    this.i++;
    const doc: KtapDocument = { version: head.trim(), tests: [], trailing: [], unknown: [] };
    let pending: string[] = [];
    let nested: KtapDocument | undefined;
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      const text = line.trim();
      const at = indentOf(line);
      if (text === "") {
        this.i++;
        continue;
      }
      if (at > indent && VERSION.test(text)) {
        if (nested) throw new Error(`line ${this.i + 1}: a second block of subtests before the result line of the first`);
        nested = this.document(at);
        continue;
      }
      if (at < indent) break;
      if (at === indent && doc.plan === undefined && doc.tests.length === 0 && !nested && PLAN.test(text)) {
        doc.plan = Number(PLAN.exec(text)![1]);
        this.i++;
        continue;
      }
      if (at === indent && doc.plan === undefined && doc.tests.length === 0 && pending.length === 0 && text.startsWith("# Subtest: ")) {
        doc.subtest = text.slice("# Subtest: ".length);
        this.i++;
        continue;
      }
      const result = at === indent ? RESULT.exec(text) : null;
      if (result) {
        const test = this.result(result, pending, nested);
        if (test.number !== doc.tests.length + 1) throw new Error(`line ${this.i + 1}: test number ${test.number}, expected ${doc.tests.length + 1}`);
        doc.tests.push(test);
        pending = [];
        nested = undefined;
        this.i++;
        continue;
      }
      /* a diagnostic line, at this level or (an unknown line may be indented) deeper */
      if (text.startsWith("#")) pending.push(text.replace(/^# ?/, ""));
      else doc.unknown.push(line);
      this.i++;
    }
    if (nested) throw new Error(`line ${this.i + 1}: subtests with no result line of their parent`);
    if (doc.plan !== undefined && doc.plan !== doc.tests.length) throw new Error(`plan 1..${doc.plan}, but ${doc.tests.length} test(s)`);
    doc.trailing = pending;
    return doc;
  }

  private result(m: RegExpExecArray, diagnostics: string[], subtests: KtapDocument | undefined): KtapTest {
    const test: KtapTest = { ok: m[1] === "ok", number: Number(m[2]), description: m[3]!.trim(), diagnostics };
    const rest = m[4];
    if (rest !== undefined) {
      const word = /^(\S+)\s*(.*)$/.exec(rest);
      if (word && DIRECTIVES.includes(word[1]!.toUpperCase())) test.directive = { keyword: word[1]!.toUpperCase(), text: word[2]! };
      else test.data = rest;
    }
    if (subtests) {
      test.subtests = subtests;
      /* "If one of the subtests fail, for example, the parent test should also fail" */
      const failed = subtests.tests.some((t) => !t.ok && t.directive?.keyword !== "SKIP");
      if (failed && test.ok) throw new Error(`line ${this.i + 1}: "${test.description}" is ok, but a subtest failed`);
    }
    return test;
  }
}

/** Parse KTAP output: the top-level document, every nested one in its tests' `subtests`. */
export function parseKtap(text: string): KtapDocument {
  const lines = text.split("\n");
  while (lines.length && lines.at(-1) === "") lines.pop();
  const parser = new Parser(lines);
  return parser.document(0);
}

/** A test's outcome as KTAP says it: a SKIP directive first, then ok or not ok. */
export function ktapOutcome(t: KtapTest): "ok" | "not ok" | "skip" {
  return t.directive?.keyword === "SKIP" ? "skip" : t.ok ? "ok" : "not ok";
}
