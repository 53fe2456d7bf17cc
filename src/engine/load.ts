/**
 * From a path to something runnable: read, compile (.smmu) or parse (.json),
 * and validate the topology against the schemas of the core and of every
 * plugin it uses. Bad input throws InputError with every diagnostic.
 */
import { dirname } from "node:path";
import { diagnostic, InputError, sortDiagnostics, type Diagnostic, type Span } from "../core/diagnostics.js";
import { readSource, SourceError } from "../core/source.js";
import type { SmmuFile } from "../dsl/ast.js";
import { compileSmmu, type CompileOptions } from "../dsl/compile.js";
import { limitsWith, type Limits } from "../dsl/limits.js";
import type { Topology } from "../model/topology.js";
import { loadPlugins, PluginLoadError } from "../plugin/load.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { loadTopologyJson } from "../schema/json-source.js";
import { driverProblem, validateTopology } from "../schema/validate.js";

/** The file named on the command line (a regular file or a pipe), within the file size limit; else an InputError at its 1:1. */
function readInput(path: string, limits: Partial<Limits> = {}): string {
  const max = limitsWith(limits).fileSize;
  try {
    return readSource(path, max, true);
  } catch (err) {
    if (!(err instanceof SourceError)) throw err;
    const at = { file: path, line: 1, column: 1 };
    if (err.code === "too-big") {
      const size = err.bytes === undefined ? "" : ` ${err.bytes} bytes,`;
      throw new InputError([diagnostic(at, "limit", `${path} is${size} over the file size limit of ${max} bytes`)]);
    }
    throw new InputError([diagnostic(at, "io", `cannot read ${path}: ${err.message}`)]);
  }
}

/** How the compiler reads what a file includes, within `limits`. */
function compileOptions(limits: Partial<Limits>): CompileOptions {
  return { readFile: (p, max) => readSource(p, max), limits };
}

/** Compile and validate a .smmu file whose plugins are already in `registry`. */
export function loadSmmu(path: string, registry: PluginRegistry, text?: string, limits: Partial<Limits> = {}): SmmuFile {
  return validated(compileSmmu(text ?? readInput(path, limits), path, compileOptions(limits)), registry);
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
export async function loadSmmuWithPlugins(path: string, registry: PluginRegistry, text?: string, limits: Partial<Limits> = {}): Promise<SmmuFile> {
  const file = compileSmmu(text ?? readInput(path, limits), path, compileOptions(limits));
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
export function loadTopology(path: string, registry: PluginRegistry, text?: string, limits: Partial<Limits> = {}): Topology {
  return loadTopologyJson(text ?? readInput(path, limits), path, registry);
}
