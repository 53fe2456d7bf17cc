/**
 * One fuzz case, judged (issue 13): the text is loaded (a file or bad input
 * whose every diagnostic is positioned inside the text) and, when it loads,
 * its scenarios run to results (a failure at a position inside the text) or
 * to bad input. Anything else is a finding: an internal error (an exception
 * that is no InputError), a diagnostic or failure placed outside the text,
 * or a case slower than the bound a hostile file may take.
 */
import { InputError } from "../src/core/diagnostics.js";
import type { Span } from "../src/core/diagnostics.js";
import { loadSmmu } from "../src/engine/load.js";
import { runFile } from "../src/engine/runner.js";
import type { PluginRegistry } from "../src/plugin/registry.js";

export const FUZZ_FILE = "fuzz.smmu";
/** Steps one operation may take: a livelock is found in this many, not the default's millions. */
const STEP_LIMIT = 20_000;

export type Outcome =
  | { kind: "rejected" }
  | { kind: "ran"; passed: number; failed: number; skipped: number }
  | { kind: "finding"; what: "internal" | "unplaced" | "slow"; message: string };

/** A position inside `text` (a line past the last is the end of the file). */
function placed(span: Span, lines: number): boolean {
  return span.file === FUZZ_FILE && span.line >= 1 && span.line <= lines + 1 && span.column >= 1;
}

function badInput(err: InputError, lines: number): Outcome {
  const off = err.diagnostics.find((d) => !placed(d, lines));
  return off ? { kind: "finding", what: "unplaced", message: `${off.file}:${off.line}:${off.column}: ${off.message}` } : { kind: "rejected" };
}

/** Judge one case; `slowMs`: the most it may take. */
export function judge(text: string, registry: PluginRegistry, slowMs: number): Outcome {
  const lines = text.split("\n").length;
  const start = performance.now();
  const outcome = ((): Outcome => {
    try {
      const file = loadSmmu(FUZZ_FILE, registry, text);
      const results = runFile(file, { registry, stepLimit: STEP_LIMIT, keepInvalidations: false });
      const off = results.flatMap((r) => r.failures).find((f) => !placed(f.span, lines));
      if (off) return { kind: "finding", what: "unplaced", message: `${off.span.file}:${off.span.line}:${off.span.column}: ${off.message}` };
      const skipped = results.filter((r) => r.skipped).length;
      const passed = results.filter((r) => r.passed).length;
      return { kind: "ran", passed, failed: results.length - passed - skipped, skipped };
    } catch (err) {
      if (err instanceof InputError) return badInput(err, lines);
      return { kind: "finding", what: "internal", message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  })();
  const ms = performance.now() - start;
  if (outcome.kind !== "finding" && ms > slowMs) return { kind: "finding", what: "slow", message: `took ${Math.round(ms)} ms (bound ${slowMs} ms)` };
  return outcome;
}
