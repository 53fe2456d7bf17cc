/** The plugin registry: built-in and user plugins, registered the same way. */
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

  list(): Plugin[] {
    return [...this.plugins.values()];
  }
}
