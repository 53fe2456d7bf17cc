/**
 * Loading a user's plugin: a path (relative to the file that names it, or
 * to the working directory for --plugin) or a package name (an ES module
 * package, resolved from there). TypeScript plugins load without a build
 * step, through tsx's loader. The module's
 * default export is the plugin (or an array of plugins), checked for shape,
 * API version and a schema that compiles before it is registered.
 */
import { existsSync } from "node:fs";
import { register } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolve as resolveModule } from "import-meta-resolve";
import { PLUGIN_API_VERSION, type Plugin } from "./api.js";
import { DEFAULT_PLUGIN, type PluginRegistry } from "./registry.js";
import { pluginValidator } from "./schema.js";
import { didYouMean } from "../core/suggest.js";

/** A plugin could not be loaded or registered; the message says why. */
export class PluginLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PluginLoadError";
  }
}

/** Every kind of plugin: each has its default. */
const KINDS = Object.keys(DEFAULT_PLUGIN);

/** Where `spec` lives: a file path, or a package resolved from `baseDir`. */
function locate(spec: string, baseDir: string): string {
  const script = /\.(c|m)?[jt]sx?$/.test(spec);
  if (spec.startsWith(".") || isAbsolute(spec) || (script && existsSync(resolve(baseDir, spec)))) {
    const path = resolve(baseDir, spec);
    if (!existsSync(path)) throw new PluginLoadError(`plugin "${spec}": no such file ${path}`);
    return path;
  }
  if (script) throw new PluginLoadError(`plugin "${spec}": no such file ${resolve(baseDir, spec)}`);
  /* an ES module's resolution (its "exports", "import" condition) from a module in baseDir */
  const from = pathToFileURL(join(resolve(baseDir), "noop.js")).href;
  try {
    return fileURLToPath(resolveModule(spec, from));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ERR_MODULE_NOT_FOUND") throw new PluginLoadError(`plugin "${spec}": no such package (looked from ${resolve(baseDir)})`);
    throw new PluginLoadError(`plugin "${spec}": ${e.message.split("\n")[0]}`);
  }
}

/** Marks the URLs of a TypeScript plugin's modules, so the hook below loads them as ES modules. */
const PLUGIN_MARK = "smmu-emu-plugin";

/**
 * A plugin's `import ... from "smmu-emu"` is this copy of smmu-emu, wherever
 * the plugin lives (a lone file beside a scenario has no node_modules), so
 * that it shares the classes and the API of the engine running it. And a
 * plugin's .ts modules are ES modules even outside an ESM package (where
 * Node would take them for CommonJS, whose require() no hook reaches). A
 * resolve hook on Node's module loader, registered once. A plugin that
 * imports the engine's modules by path (one in this repository) gets the
 * same instances as the engine, as through "smmu-emu".
 */
let hooked: Promise<void> | undefined;
function pluginLoaderHooks(): Promise<void> {
  return (hooked ??= registerHooks());
}

async function registerHooks(): Promise<void> {
  /* tsx's loader first, so that this hook, registered after it, runs before it */
  const { register: registerTsx } = await import("tsx/esm/api");
  registerTsx();
  const self = new URL("../index.js", import.meta.url).href;
  /* the engine's own modules (src/, the built-in plugins) stay one instance, whoever imports them, so classes compare equal */
  const own = [new URL("../", import.meta.url).href, new URL("../../plugins/", import.meta.url).href];
  const hooks = `const MARK = ${JSON.stringify(PLUGIN_MARK)};
  const OWN = ${JSON.stringify(own)};
  const marked = (u) => u !== undefined && u.startsWith("file:") && new URL(u).searchParams.has(MARK);
  export async function resolve(spec, context, next) {
    if (spec === "smmu-emu") return next(${JSON.stringify(self)}, context);
    const r = await next(spec, context);
    if (OWN.some((dir) => r.url.startsWith(dir))) return r;
    if (!r.url.startsWith("file:") || !/\\.(m?ts|tsx)$/.test(new URL(r.url).pathname)) return r;
    if (!marked(r.url) && !marked(context.parentURL)) return r;
    const url = new URL(r.url);
    url.searchParams.set(MARK, "");
    return { ...r, url: url.href, format: "module" };
  }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

/** What is wrong with a module's export as a plugin, or null. */
function shapeProblem(p: unknown): string | null {
  if (typeof p !== "object" || p === null) return "its default export is not a plugin object (use definePlugin)";
  const o = p as Record<string, unknown>;
  if (typeof o.name !== "string") return `it has no "name"`;
  if (typeof o.kind !== "string" || !KINDS.includes(o.kind)) return `"kind" must be one of ${KINDS.join(", ")}`;
  if (typeof o.version !== "string") return `it has no "version"`;
  if (!Array.isArray(o.apiVersions) || !o.apiVersions.every((v) => Number.isInteger(v))) return `"apiVersions" must be an array of API versions`;
  if (typeof o.setup !== "function") return "it has no setup()";
  if (typeof o.schema !== "object" || o.schema === null) return `it has no "schema" for its node's properties`;
  if (o.kind === "driver" && !Array.isArray(o.variants)) return `a driver plugin lists its "variants"`;
  return null;
}

/** Modules already loaded, by path: a plugin named twice (--plugin and `use`) is the same plugin. */
const loaded = new Map<string, Promise<Record<string, unknown>>>();

function importModule(path: string): Promise<Record<string, unknown>> {
  let mod = loaded.get(path);
  if (!mod) loaded.set(path, (mod = importFresh(path)));
  return mod;
}

async function importFresh(path: string): Promise<Record<string, unknown>> {
  await pluginLoaderHooks();
  const url = pathToFileURL(path).href;
  return (await import(/\.(m?ts|tsx)$/.test(path) ? `${url}?${PLUGIN_MARK}` : url)) as Record<string, unknown>;
}

/**
 * The module's plugin export. A CommonJS module (.cjs, .cts) compiled from
 * `export default` has it one level down, as `default.default`.
 */
function pluginExport(mod: Record<string, unknown>): unknown {
  const exported = mod.default ?? mod.plugin;
  const inner = (exported as { default?: unknown } | undefined)?.default;
  return typeof exported === "object" && exported !== null && !("name" in exported) && inner !== undefined ? inner : exported;
}

/** Load the plugins `spec` names and register them; returns their names. Throws PluginLoadError. */
export async function loadPlugins(spec: string, baseDir: string, registry: PluginRegistry): Promise<string[]> {
  const path = locate(spec, baseDir);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(path);
  } catch (err) {
    throw new PluginLoadError(`plugin "${spec}" failed to load: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
  }
  const exported = pluginExport(mod);
  const plugins = Array.isArray(exported) ? (exported as unknown[]) : [exported];
  const names: string[] = [];
  for (const p of plugins) {
    const problem = shapeProblem(p);
    if (problem) throw new PluginLoadError(`plugin "${spec}" is not a plugin: ${problem}`);
    const plugin = p as Plugin;
    if (registry.get(plugin.name) === plugin) continue;
    if (!plugin.apiVersions.includes(PLUGIN_API_VERSION)) {
      throw new PluginLoadError(
        `plugin "${plugin.name}" (${spec}) supports plugin API ${plugin.apiVersions.join(", ") || "(none)"}, but smmu-emu provides API ${PLUGIN_API_VERSION}`,
      );
    }
    const schema = pluginValidator(plugin);
    if (!schema.ok) throw new PluginLoadError(`plugin "${plugin.name}" (${spec}) has an invalid schema: ${schema.error}`);
    if (plugin.extends !== undefined && registry.get(plugin.extends)?.kind !== plugin.kind) {
      const near = didYouMean(
        plugin.extends,
        registry
          .list()
          .filter((p) => p.kind === plugin.kind)
          .map((p) => p.name),
      );
      throw new PluginLoadError(`plugin "${plugin.name}" (${spec}) extends "${plugin.extends}", which is not a loaded ${plugin.kind} plugin${near}`);
    }
    try {
      registry.register(plugin);
    } catch (err) {
      throw new PluginLoadError(`plugin "${plugin.name}" (${spec}): ${(err as Error).message}`);
    }
    names.push(plugin.name);
  }
  return names;
}
