/**
 * From a path to something runnable: read, compile (.smmu) or parse (.json),
 * and validate the topology against the schemas of the core and of every
 * plugin it uses. Bad input throws InputError with every diagnostic.
 */
import { dirname } from "node:path";
import { diagnostic, InputError, sortDiagnostics, type Diagnostic, type Span } from "../core/diagnostics.js";
import { readSource, SourceError } from "../core/source.js";
import type { SmmuFile } from "../dsl/ast.js";
import { lowerSmmu, type CompileOptions, type Lowered } from "../dsl/compile.js";
import { limitsWith, type Limits } from "../dsl/limits.js";
import type { DriverSpec, Topology } from "../model/topology.js";
import { loadPlugins, PluginLoadError } from "../plugin/load.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { loadTopologyJson, locatedTopologyJson } from "../schema/json-source.js";
import { driverProblem, validateTopology } from "../schema/validate.js";
import { preflight } from "./preflight.js";

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

/** How a .smmu file is loaded: the driver the command line chooses over the file's own, a topology to include first, the limits. */
export interface LoadOptions {
  driver?: DriverSpec;
  /** A topology (written as JSON, or a .smmu file) the file is read after, as if it began by including it (`run --topology`). */
  topology?: string;
  /** A user's plugin loaded: leave preflight (which sets the plugins up) to the caller; `run` does it on its worker thread, where a setup() that never returns is watched. */
  deferPluginPreflight?: boolean;
  /** Overrides of DEFAULT_LIMITS (`--limit NAME=N`). */
  limits?: Partial<Limits>;
}

/** How the language reads what a file includes, within the limits: .smmu files as text, topologies written as JSON checked as `validate` checks them. */
function includes(registry: PluginRegistry, opts: LoadOptions): CompileOptions {
  const limits = opts.limits ?? {};
  return {
    readFile: (p, max) => readSource(p, max),
    readTopology: (p) => locatedTopologyJson(readSource(p, limitsWith(limits).fileSize), p, registry),
    limits,
    ...(opts.topology !== undefined ? { prelude: opts.topology } : {}),
  };
}

/** Compile and validate a .smmu file whose plugins are already in `registry`. */
export function loadSmmu(path: string, registry: PluginRegistry, text?: string, opts: LoadOptions = {}): SmmuFile {
  return validated(lowerSmmu(text ?? readInput(path, opts.limits), path, includes(registry, opts)), registry, opts);
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

/**
 * Every problem of a lowered file at once: lowering's, then (unless part of
 * the file is missing) the topology's against the schemas, the driver lines'
 * against the driver plugins, and, on a valid topology, what running it
 * would reject (preflight).
 */
function validated(lowered: Lowered, registry: PluginRegistry, opts: LoadOptions): SmmuFile {
  const { file } = lowered;
  const diags = [...lowered.diagnostics];
  if (!lowered.partial) {
    const fallback: Span = { file: file.file, line: 1, column: 1 };
    const locate = (pointer: string): Span | undefined => file.locations.get(pointer) ?? (pointer === "" ? fallback : undefined);
    const topology = validateTopology(file.topology, registry, locate, "smmu", (pointer) => lowered.unreadable.has(pointer));
    diags.push(...topology, ...driverChoiceProblems(file, registry));
    /* a platform needs a topology that is whole and valid; scenarios that failed to lower are checked as far as they were */
    const deferred = opts.deferPluginPreflight === true && registry.hasUserPlugins();
    if (!deferred && !lowered.unreadable.size && !topology.some((d) => d.severity === "error")) diags.push(...preflight(file, registry, opts.driver));
  }
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
export async function loadSmmuWithPlugins(path: string, registry: PluginRegistry, text?: string, opts: LoadOptions = {}): Promise<SmmuFile> {
  const lowered = lowerSmmu(text ?? readInput(path, opts.limits), path, includes(registry, opts));
  const problems = await loadUses(lowered.file, registry);
  /* without its plugins the file cannot be validated: their problems, and lowering's */
  if (problems.length) throw new InputError(sortDiagnostics([...lowered.diagnostics, ...problems]));
  return validated(lowered, registry, opts);
}

/** Load the plugins a file `use`s into `registry`, each relative to the file that says it: a diagnostic at each that fails. */
export async function loadUses(file: Pick<SmmuFile, "uses">, registry: PluginRegistry): Promise<Diagnostic[]> {
  const problems = [];
  for (const use of file.uses) {
    try {
      await loadPlugins(use.path, dirname(use.span.file), registry);
    } catch (err) {
      if (!(err instanceof PluginLoadError)) throw err;
      problems.push(diagnostic(use.span, "plugin", err.message));
    }
  }
  return problems;
}

/**
 * A topology given as an object (the library's Simulator) is invalid: each
 * problem as `validate` words it, where in the object it is (a JSON Pointer)
 * in place of a line and column.
 */
export class TopologyError extends InputError {
  constructor(readonly problems: readonly { pointer: string; diagnostic: Diagnostic }[]) {
    super(problems.map((p) => p.diagnostic));
    this.name = "TopologyError";
    this.message = problems.map(({ pointer, diagnostic: d }) => `topology${pointer ? ` at ${pointer}` : ""}: ${d.severity}: ${d.message}${d.hint ? ` (${d.hint})` : ""}`).join("\n");
  }
}

/** Check a topology given as an object against the schemas and rules `validate` checks a file against; throws TopologyError. */
export function checkTopology(topology: Topology, registry: PluginRegistry): void {
  /* each problem's pointer rides in its span's file name while validateTopology places it */
  const locate = (pointer: string): Span => ({ file: pointer, line: 1, column: 1 });
  const ds = validateTopology(topology, registry, locate);
  if (!ds.some((d) => d.severity === "error")) return;
  throw new TopologyError(ds.map((d) => ({ pointer: d.file, diagnostic: { ...d, file: "<topology>" } })));
}

/** Parse and validate a topology written as JSON. */
export function loadTopology(path: string, registry: PluginRegistry, text?: string, limits: Partial<Limits> = {}): Topology {
  return loadTopologyJson(text ?? readInput(path, limits), path, registry);
}
