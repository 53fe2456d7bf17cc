/** `check` (a .smmu file) and `validate` (a topology written as JSON): the input read and validated, not run. */
import { checkedJson, checkedSmmu, formatChecked } from "../../report/checked.js";
import { colors } from "../../report/human.js";
import { jsonReport } from "../../report/json.js";
import { EXIT_OK } from "../io.js";
import type { CheckOpts, CommandContext } from "../options.js";
import { badInput, loadInput, type Loaded } from "./common.js";

export async function checkCommand(path: string, kind: "smmu" | "json", o: CheckOpts, ctx: CommandContext): Promise<number> {
  const c = colors(ctx.useColor(o));
  let input: Loaded;
  try {
    input = await loadInput(path, kind, o);
  } catch (err) {
    return badInput(err, o, ctx, c, 1);
  }
  const checked = input.kind === "smmu" ? checkedSmmu(path, input.file, input.plugins) : checkedJson(path, input.topology, input.plugins);
  if (o.json) ctx.io.out(JSON.stringify(jsonReport([], [], ctx.version, { checked }), null, 2));
  else ctx.io.out(c.green(formatChecked(checked)));
  return EXIT_OK;
}
