/** `compare`: a file under every driver, side by side. */
import { compareConfigs, compareFile, type Comparison } from "../../engine/compare.js";
import { comparisonJson, formatComparison } from "../../report/compare.js";
import { colors } from "../../report/human.js";
import { EXIT_OK } from "../io.js";
import type { CommandContext, CompareOpts } from "../options.js";
import { badInput, loadInput } from "./common.js";

export async function compareCommand(path: string, o: CompareOpts, ctx: CommandContext): Promise<number> {
  const c = colors(ctx.useColor(o));
  let cmp: Comparison;
  try {
    const input = await loadInput(path, "smmu", o);
    if (input.kind !== "smmu") throw new Error("compare takes a .smmu file");
    cmp = compareFile(input.file, compareConfigs(input.plugins), { registry: input.plugins, scenario: o.scenario, seed: o.seed, maxPtes: o.limit?.ptes });
  } catch (err) {
    return badInput(err, o, ctx, c, 1);
  }
  if (o.json) ctx.io.out(JSON.stringify(comparisonJson(path, cmp, ctx.version), null, 2));
  else ctx.io.out(formatComparison(c, path, cmp));
  return EXIT_OK;
}
