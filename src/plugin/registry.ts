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
  private readonly builtins = new Set<string>();

  /**
   * Add a plugin. `builtin`: one of smmu-emu's own, trusted to send
   * well-formed events, so the host checks its events only when asked to
   * check every plugin (a user's are always checked).
   */
  register(plugin: Plugin, options: { builtin?: boolean } = {}): void {
    if (!plugin.apiVersions.includes(PLUGIN_API_VERSION)) {
      throw new Error(
        `plugin "${plugin.name}" supports plugin API ${plugin.apiVersions.join(", ") || "(none)"}, ` +
          `but smmu-emu provides API ${PLUGIN_API_VERSION}`,
      );
    }
    if (this.plugins.has(plugin.name)) throw new Error(`plugin "${plugin.name}" is already registered`);
    this.plugins.set(plugin.name, plugin);
    if (options.builtin) this.builtins.add(plugin.name);
  }

  /** Whether `name` was registered as a built-in plugin. */
  isBuiltin(name: string): boolean {
    return this.builtins.has(name);
  }

  /** Whether a plugin that is not built in is registered (a user's). */
  hasUserPlugins(): boolean {
    return this.plugins.size > this.builtins.size;
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
