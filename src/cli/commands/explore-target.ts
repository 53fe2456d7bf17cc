/**
 * One `concurrently` block to explore, as plain data a worker thread can
 * rebuild it from (exploreParallel()'s program factory): the file, the
 * plugins, the scenario, the block, the memory model and the driver.
 */
import type { MemoryModel } from "../../core/weak-memory.js";
import type { SmmuFile } from "../../dsl/ast.js";
import { loadCliPlugins, loadSmmuWithPlugins } from "../../engine/load.js";
import { BlockProgram } from "../../engine/explore/scenario.js";
import type { ProgramFactory } from "../../engine/explore/index.js";
import { builtinRegistry } from "../../index.js";
import type { DriverSpec } from "../../model/topology.js";
import type { PluginRegistry } from "../../plugin/registry.js";
import type { InputLimits } from "../options.js";

export interface BlockSpec {
  readonly path: string;
  /** --plugin, as given (relative to the working directory). */
  readonly plugins: readonly string[];
  readonly scenario: string;
  /** The block's ordinal among the scenario's top-level `concurrently` blocks, from 0. */
  readonly block: number;
  readonly memory: MemoryModel;
  readonly driver?: DriverSpec;
  /** --topology and --limit, as the command line gives them: a worker loads the file as the command's thread did. */
  readonly topology?: string;
  readonly limits?: InputLimits;
  /** `run --seed`: the interleavings of the scenario's other blocks. */
  readonly seed: number;
  readonly stepLimit?: number;
}

/** The program of `spec`, with a file and plugins already loaded. */
export function blockProgramOf(spec: BlockSpec, file: SmmuFile, registry: PluginRegistry): BlockProgram {
  const scenario = file.scenarios.find((s) => s.name === spec.scenario);
  if (!scenario) throw new Error(`${spec.path}: no scenario "${spec.scenario}"`);
  return new BlockProgram({
    file,
    scenario,
    block: spec.block,
    memory: spec.memory,
    options: { registry, driver: spec.driver, seed: spec.seed, stepLimit: spec.stepLimit, maxPtes: spec.limits?.ptes, keepInvalidations: false },
  });
}

/**
 * The program of `spec`, loading its file and plugins (in a worker thread).
 * @public a worker imports it by name (blockFactory)
 */
export async function blockProgram(spec: BlockSpec): Promise<BlockProgram> {
  const registry = builtinRegistry();
  await loadCliPlugins(spec.plugins, registry);
  const load = { ...(spec.driver ? { driver: spec.driver } : {}), ...(spec.topology !== undefined ? { topology: spec.topology } : {}), limits: spec.limits ?? {} };
  return blockProgramOf(spec, await loadSmmuWithPlugins(spec.path, registry, undefined, load), registry);
}

/** How a worker thread builds the program of `spec`. */
export function blockFactory(spec: BlockSpec): ProgramFactory {
  return { module: import.meta.url, exportName: "blockProgram", args: [spec] };
}
