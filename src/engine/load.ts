/**
 * From a path to something runnable: read, compile (.smmu) or parse (.json),
 * and validate the topology against the schemas of the core and of every
 * plugin it uses. Bad input throws InputError with every diagnostic.
 */
import { readFileSync } from "node:fs";
import { diagnostic, InputError, type Span } from "../core/diagnostics.js";
import type { SmmuFile } from "../dsl/ast.js";
import { compileSmmu } from "../dsl/compile.js";
import type { Topology } from "../model/topology.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { loadTopologyJson } from "../schema/json-source.js";
import { validateTopology } from "../schema/validate.js";

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new InputError([diagnostic({ file: path, line: 1, column: 1 }, "io", `cannot read ${path}: ${code}`)]);
  }
}

/** Compile and validate a .smmu file. */
export function loadSmmu(path: string, registry: PluginRegistry, text: string = read(path)): SmmuFile {
  const file = compileSmmu(text, path, { readFile: (p) => readFileSync(p, "utf8") });
  const fallback: Span = { file: path, line: 1, column: 1 };
  const diags = validateTopology(file.topology, registry, (pointer) => file.locations.get(pointer) ?? (pointer === "" ? fallback : undefined));
  if (diags.some((d) => d.severity === "error")) throw new InputError(diags);
  return file;
}

/** Parse and validate a topology written as JSON. */
export function loadTopology(path: string, registry: PluginRegistry, text: string = read(path)): Topology {
  return loadTopologyJson(text, path, registry);
}
