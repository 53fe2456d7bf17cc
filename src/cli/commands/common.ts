/** What the commands share: the plugins they load, their inputs, and how bad input is reported. */
import { InputError, sortDiagnostics } from "../../core/diagnostics.js";
import type { SmmuFile } from "../../dsl/ast.js";
import { loadCliPlugins, loadSmmuWithPlugins, loadTopology } from "../../engine/load.js";
import { builtinRegistry } from "../../index.js";
import type { Topology } from "../../model/topology.js";
import type { PluginRegistry } from "../../plugin/registry.js";
import { colors, formatDiagnostics } from "../../report/human.js";
import { jsonReport } from "../../report/json.js";
import { EXIT_BAD_INPUT } from "../io.js";
import type { CommandContext, GlobalOpts } from "../options.js";

export type Colors = ReturnType<typeof colors>;

/** The built-in plugins and those given with --plugin. */
export async function registry(o: GlobalOpts): Promise<PluginRegistry> {
  const r = builtinRegistry();
  await loadCliPlugins(o.plugin ?? [], r);
  return r;
}

/** A good input, loaded with its plugins: a .smmu file or a topology written as JSON. */
export type Loaded = { kind: "smmu"; file: SmmuFile; plugins: PluginRegistry } | { kind: "json"; topology: Topology; plugins: PluginRegistry };

export async function loadInput(path: string, kind: "smmu" | "json", o: GlobalOpts & { topology?: string }): Promise<Loaded> {
  const plugins = await registry(o);
  const load = { ...(o.topology !== undefined ? { topology: o.topology } : {}), limits: o.limit ?? {} };
  return kind === "smmu" ? { kind, file: await loadSmmuWithPlugins(path, plugins, undefined, load), plugins } : { kind, topology: loadTopology(path, plugins, undefined, load.limits), plugins };
}

/** Bad input: its diagnostics on stderr, or with --json in the one report on stdout; exit 2. */
export function badInput(err: unknown, o: GlobalOpts, ctx: CommandContext, c: Colors, rejected: number): number {
  if (!(err instanceof InputError)) throw err;
  const ds = sortDiagnostics(err.diagnostics);
  if (o.json) ctx.io.out(JSON.stringify(jsonReport([], ds, ctx.version, { rejected }), null, 2));
  else ctx.io.err(formatDiagnostics(c, ds));
  return EXIT_BAD_INPUT;
}

/** A usage error: one line on stderr naming the flag, exit 2. */
export function usage(ctx: CommandContext, flag: string, message: string): number {
  ctx.io.err(`smmu-emu: ${flag}: ${message}`);
  return EXIT_BAD_INPUT;
}
