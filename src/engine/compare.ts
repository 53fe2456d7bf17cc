/**
 * Running one file under several drivers, for `smmu-emu compare`: every
 * variant of every loaded driver plugin, and each of a driver's boolean
 * options switched on over its default variant.
 */
import { InputError, type Diagnostic } from "../core/diagnostics.js";
import type { SmmuFile } from "../dsl/ast.js";
import type { DriverSpec } from "../model/topology.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { runScenario, selectScenarios, type RunOptions, type ScenarioResult } from "./runner.js";

export interface CompareConfig {
  /** "invs mainline", "invs mainline +parallel_syncs", "legacy v6.18" */
  label: string;
  driver: DriverSpec;
}

/** The options a driver plugin's schema declares as booleans. */
function booleanOptions(schema: Record<string, unknown>): string[] {
  const options = (schema.properties as { options?: { properties?: Record<string, { type?: unknown }> } } | undefined)?.options?.properties ?? {};
  return Object.keys(options).filter((k) => options[k]?.type === "boolean");
}

export function compareConfigs(registry: PluginRegistry): CompareConfig[] {
  const out: CompareConfig[] = [];
  for (const p of registry.list()) {
    if (p.kind !== "driver") continue;
    const short = p.name.replace(/^driver-/, "");
    for (const variant of p.variants) out.push({ label: `${short} ${variant}`, driver: { plugin: p.name, variant } });
    const base = p.variants[0];
    for (const option of booleanOptions(p.schema)) {
      const label = [short, base, `+${option}`].filter((x) => x !== undefined).join(" ");
      out.push({ label, driver: { plugin: p.name, ...(base !== undefined ? { variant: base } : {}), options: { [option]: true } } });
    }
  }
  return out;
}

/** One scenario under one configuration: its result, or why it could not run. */
export type CompareCell = { result: ScenarioResult } | { error: Diagnostic[] };

interface CompareRow {
  scenario: string;
  cells: CompareCell[];
}

export interface Comparison {
  configs: CompareConfig[];
  rows: CompareRow[];
}

/** Every scenario of `file` (or the one named) under every configuration. */
export function compareFile(file: SmmuFile, configs: readonly CompareConfig[], opts: Omit<RunOptions, "driver">): Comparison {
  /* each column is exactly its configuration: the file's and scenarios' driver lines (and their options) do not apply */
  const bare: SmmuFile = { ...file, driver: undefined, topology: { ...file.topology, driver: undefined } };
  const rows = selectScenarios(bare, opts.scenario).map(
    (scenario): CompareRow => ({
      scenario: scenario.name,
      cells: configs.map((config): CompareCell => {
        try {
          return { result: runScenario(bare, { ...scenario, driver: undefined }, { ...opts, driver: config.driver }) };
        } catch (err) {
          if (err instanceof InputError) return { error: err.diagnostics };
          throw err;
        }
      }),
    }),
  );
  return { configs: [...configs], rows };
}
