/** The plugin registry: built-in and user plugins, registered the same way. */
import { didYouMean } from "../core/suggest.js";
import type { DriverSpec } from "../model/topology.js";
import { PLUGIN_API_VERSION, type Plugin, type PluginKind } from "./api.js";

/** The plugin modelling each kind of node when the topology names none. */
export const DEFAULT_PLUGIN: Readonly<Record<PluginKind, string>> = Object.freeze({
  smmu: "smmu-v3",
  device: "pcie-ats",
  vsmmu: "vsmmu",
  driver: "driver-invs",
});

export class PluginRegistry {
  private readonly plugins = new Map<string, Plugin>();

  register(plugin: Plugin): void {
    if (!plugin.apiVersions.includes(PLUGIN_API_VERSION)) {
      throw new Error(
        `plugin "${plugin.name}" supports plugin API ${plugin.apiVersions.join(", ") || "(none)"}, ` +
          `but smmu-emu provides API ${PLUGIN_API_VERSION}`,
      );
    }
    if (this.plugins.has(plugin.name)) throw new Error(`plugin "${plugin.name}" is already registered`);
    this.plugins.set(plugin.name, plugin);
  }

  get(name: string): Plugin | undefined {
    return this.plugins.get(name);
  }

  /** The plugin named `name` (or the kind's default), which must model `kind`. */
  resolve<K extends PluginKind>(kind: K, name: string | undefined): Extract<Plugin, { kind: K }> {
    const want = name ?? DEFAULT_PLUGIN[kind];
    const plugin = this.plugins.get(want);
    if (!plugin) throw new Error(`no plugin named "${want}" is loaded`);
    if (plugin.kind !== kind) throw new Error(`plugin "${want}" models a ${plugin.kind}, not a ${kind}`);
    return plugin as Extract<Plugin, { kind: K }>;
  }

  /** What is wrong with a driver choice (no such driver plugin, no such variant), or null. */
  driverProblem(spec: DriverSpec): string | null {
    const want = spec.plugin ?? DEFAULT_PLUGIN.driver;
    const drivers = this.list().filter((p) => p.kind === "driver");
    const plugin = drivers.find((p) => p.name === want);
    if (!plugin) {
      const names = drivers.map((p) => p.name);
      return `no driver plugin "${want}"${didYouMean(want, names)}; loaded: ${names.join(", ")}`;
    }
    if (spec.variant !== undefined && plugin.kind === "driver" && !plugin.variants.includes(spec.variant)) {
      return `${want} has no variant "${spec.variant}"${didYouMean(spec.variant, plugin.variants)}; it has ${plugin.variants.join(", ")}`;
    }
    return null;
  }

  list(): Plugin[] {
    return [...this.plugins.values()];
  }
}
