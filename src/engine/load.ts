/**
 * From a path to something runnable: read, compile (.smmu) or parse (.json),
 * and validate the topology against the schemas of the core and of every
 * plugin it uses. Bad input throws InputError with every diagnostic.
 */
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { diagnostic, InputError, sortDiagnostics, type Diagnostic, type Span } from "../core/diagnostics.js";
import type { SmmuFile } from "../dsl/ast.js";
import { compileSmmu } from "../dsl/compile.js";
import type { Topology } from "../model/topology.js";
import { loadPlugins, PluginLoadError } from "../plugin/load.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { loadTopologyJson } from "../schema/json-source.js";
import { driverProblem, validateTopology } from "../schema/validate.js";

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new InputError([diagnostic({ file: path, line: 1, column: 1 }, "io", `cannot read ${path}: ${code}`)]);
  }
}

/** Compile and validate a .smmu file whose plugins are already in `registry`. */
export function loadSmmu(path: string, registry: PluginRegistry, text: string = read(path)): SmmuFile {
  return validated(compileSmmu(text, path, { readFile: (p) => readFileSync(p, "utf8") }), registry);
}

/** Each `driver` line of the file (its own and its scenarios') checked against the driver plugins: at the option, or at the line. */
function driverChoiceProblems(file: SmmuFile, registry: PluginRegistry): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const choice of [file.driver, ...file.scenarios.map((s) => s.driver)]) {
    if (!choice) continue;
    const p = driverProblem({ ...file.topology.driver, plugin: choice.plugin, variant: choice.variant, options: choice.options }, registry);
    if (!p) continue;
    const at = (p.option !== undefined ? choice.optionSpans?.[p.option] : undefined) ?? choice.span;
    out.push(diagnostic(at, "setup", p.message, p.hint));
  }
  return out;
}

function validated(file: SmmuFile, registry: PluginRegistry): SmmuFile {
  const fallback: Span = { file: file.file, line: 1, column: 1 };
  const diags = validateTopology(file.topology, registry, (pointer) => file.locations.get(pointer) ?? (pointer === "" ? fallback : undefined), "smmu");
  diags.push(...driverChoiceProblems(file, registry));
  if (diags.some((d) => d.severity === "error")) throw new InputError(sortDiagnostics(diags));
  return file;
}

/**
 * Load the plugins given on the command line into `registry` (paths relative
 * to the working directory). A plugin that fails is an InputError at 1:1 of
 * its own path.
 */
export async function loadCliPlugins(specs: readonly string[], registry: PluginRegistry): Promise<void> {
  for (const spec of specs) {
    try {
      await loadPlugins(spec, process.cwd(), registry);
    } catch (err) {
      if (!(err instanceof PluginLoadError)) throw err;
      throw new InputError([diagnostic({ file: spec, line: 1, column: 1 }, "plugin", err.message)]);
    }
  }
}

/**
 * Compile a .smmu file, load the plugins it `use`s into `registry`, and
 * validate it. Each `use` is relative to the file that contains it (an
 * included file's `use` to the included file).
 */
export async function loadSmmuWithPlugins(path: string, registry: PluginRegistry, text: string = read(path)): Promise<SmmuFile> {
  const file = compileSmmu(text, path, { readFile: (p) => readFileSync(p, "utf8") });
  const problems = [];
  for (const use of file.uses) {
    try {
      await loadPlugins(use.path, dirname(use.span.file), registry);
    } catch (err) {
      if (!(err instanceof PluginLoadError)) throw err;
      problems.push(diagnostic(use.span, "plugin", err.message));
    }
  }
  if (problems.length) throw new InputError(problems);
  return validated(file, registry);
}

/** Parse and validate a topology written as JSON. */
export function loadTopology(path: string, registry: PluginRegistry, text: string = read(path)): Topology {
  return loadTopologyJson(text, path, registry);
}
