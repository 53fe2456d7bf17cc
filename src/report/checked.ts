/**
 * What `check` and `validate` looked at in an input that is good: its nodes,
 * its scenarios and the plugins that model them, for the ok line and for
 * the JSON report's "checked" (schemas/report.schema.json#/$defs/checked).
 */
import type { SmmuFile } from "../dsl/ast.js";
import type { Topology } from "../model/topology.js";
import type { PluginKind } from "../plugin/api.js";
import { DEFAULT_PLUGIN, type PluginRegistry } from "../plugin/registry.js";

interface PluginUse {
  name: string;
  kind: PluginKind;
  version: string;
}

export interface CheckedInput {
  file: string;
  /** a .smmu file (check) or a topology written as JSON (validate) */
  input: "smmu" | "json";
  smmus: number;
  devices: number;
  vsmmus: number;
  domains: number;
  /** none in a JSON topology */
  scenarios: number;
  /** Every plugin a node or a driver choice names (or gets by default), and those they extend, by name. */
  plugins: PluginUse[];
}

/** The plugins `topology` and the file's and scenarios' driver lines use, with what they extend. */
function pluginsUsed(topology: Topology, drivers: readonly (string | undefined)[], registry: PluginRegistry): PluginUse[] {
  const names = new Set<string>();
  const add = (kind: PluginKind, name: string | undefined): void => {
    let p = registry.get(name ?? DEFAULT_PLUGIN[kind]);
    while (p && !names.has(p.name)) {
      names.add(p.name);
      p = p.extends !== undefined ? registry.get(p.extends) : undefined;
    }
  };
  for (const s of topology.smmus) add("smmu", s.plugin);
  for (const d of topology.devices) add("device", d.plugin);
  for (const v of topology.vsmmus ?? []) add("vsmmu", v.plugin);
  add("driver", topology.driver?.plugin);
  for (const d of drivers) if (d !== undefined) add("driver", d);
  return [...names]
    .sort()
    .map((n) => registry.get(n)!)
    .map((p) => ({ name: p.name, kind: p.kind, version: p.version }));
}

export function checkedSmmu(path: string, file: SmmuFile, registry: PluginRegistry): CheckedInput {
  const drivers = [file.driver?.plugin, ...file.scenarios.map((s) => s.driver?.plugin)];
  return counts(path, "smmu", file.topology, file.scenarios.length, pluginsUsed(file.topology, drivers, registry));
}

export function checkedJson(path: string, topology: Topology, registry: PluginRegistry): CheckedInput {
  return counts(path, "json", topology, 0, pluginsUsed(topology, [], registry));
}

function counts(file: string, input: CheckedInput["input"], t: Topology, scenarios: number, plugins: PluginUse[]): CheckedInput {
  return { file, input, smmus: t.smmus.length, devices: t.devices.length, vsmmus: t.vsmmus?.length ?? 0, domains: t.domains.length, scenarios, plugins };
}

/** The ok line: "FILE: ok: 2 SMMU(s), ... [, N scenario(s)]" (scenarios only for a .smmu file). */
export function formatChecked(c: CheckedInput): string {
  const scenarios = c.input === "smmu" ? `, ${c.scenarios} scenario(s)` : "";
  return `${c.file}: ok: ${c.smmus} SMMU(s), ${c.devices} device(s), ${c.vsmmus} vSMMU(s), ${c.domains} domain(s)${scenarios}`;
}
