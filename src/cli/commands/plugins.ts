/** `plugins`: the built-in plugins and those given with --plugin, as a list or as data. */
import type { PluginRegistry } from "../../plugin/registry.js";
import { colors } from "../../report/human.js";
import { pluginsReport } from "../../report/plugins.js";
import { EXIT_OK } from "../io.js";
import type { CommandContext, GlobalOpts } from "../options.js";
import { badInput, registry } from "./common.js";

export async function pluginsCommand(o: GlobalOpts, ctx: CommandContext): Promise<number> {
  const c = colors(ctx.useColor(o));
  const io = ctx.io;
  let plugins: PluginRegistry;
  try {
    plugins = await registry(o);
  } catch (err) {
    return badInput(err, o, ctx, c, 0);
  }
  const report = pluginsReport(plugins.list(), ctx.version);
  if (o.json) io.out(JSON.stringify(report, null, 2));
  else {
    for (const p of report.plugins) {
      io.out(`${c.bold(p.name)} ${p.version}  ${p.kind}${p.extends ? ` (extends ${p.extends})` : ""}  plugin API ${p.apiVersions.join(", ")}`);
      io.out(`  ${p.description}`);
      if (p.variants) io.out(`  variants: ${p.variants.join(", ")}`);
      for (const prop of p.properties) io.out(`  ${prop.name}: ${prop.type}${prop.description ? c.dim(`  ${prop.description}`) : ""}`);
    }
  }
  return EXIT_OK;
}
