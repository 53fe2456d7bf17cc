/** `graph`: the topology (and a scenario's attachments) as Graphviz DOT. */
import { diagnostic, InputError } from "../../core/diagnostics.js";
import { selectScenarios } from "../../engine/runner.js";
import { topologyDot } from "../../report/graph.js";
import { colors } from "../../report/human.js";
import { EXIT_OK } from "../io.js";
import type { CommandContext, GraphOpts } from "../options.js";
import { badInput, loadInput, usage } from "./common.js";

export async function graphCommand(path: string, o: GraphOpts, ctx: CommandContext): Promise<number> {
  const c = colors(ctx.useColor(o));
  if (o.json) return usage(ctx, "graph", "--json does not apply: graph prints DOT");
  let dot: string;
  try {
    const input = await loadInput(path, /\.json$/i.test(path) ? "json" : "smmu", o);
    if (input.kind === "json") {
      if (o.scenario !== undefined) {
        throw new InputError([diagnostic({ file: path, line: 1, column: 1 }, "unknown-scenario", "a topology written as JSON has no scenarios")]);
      }
      dot = topologyDot({ file: path, topology: input.topology });
    } else {
      const scenario = o.scenario === undefined ? undefined : selectScenarios(input.file, o.scenario)[0];
      dot = topologyDot({ file: path, topology: input.file.topology, ...(scenario ? { scenario } : {}) });
    }
  } catch (err) {
    return badInput(err, o, ctx, c, 1);
  }
  ctx.io.out(dot.trimEnd());
  return EXIT_OK;
}
