/**
 * `export`: a .smmu file's topology as the JSON `validate` takes (and
 * `include "x.json";` and `run --topology` read), with the file's driver
 * line as the topology's driver, and a $schema an editor completes from.
 */
import type { SmmuFile } from "../../dsl/ast.js";
import type { Topology } from "../../model/topology.js";
import { colors } from "../../report/human.js";
import { TOPOLOGY_SCHEMA_ID } from "../../schema/validate.js";
import { EXIT_OK } from "../io.js";
import type { CommandContext, GlobalOpts } from "../options.js";
import { badInput, loadInput } from "./common.js";

/** The topology of `file` as JSON: its nodes, and the driver its driver line chooses (scenarios' own driver lines are not the topology's). */
export function topologyJson(file: SmmuFile): { $schema: string } & Topology {
  const choice = file.driver;
  const driver = choice
    ? { ...file.topology.driver, plugin: choice.plugin, ...(choice.variant !== undefined ? { variant: choice.variant } : {}), ...(choice.options ? { options: choice.options } : {}) }
    : file.topology.driver;
  return { $schema: TOPOLOGY_SCHEMA_ID, ...file.topology, ...(driver ? { driver } : {}) };
}

/** `value` as JSON.stringify(value, null, 2) prints it, but with a list of numbers, strings or booleans on one line (`"sids": [256, 257]`). */
export function readableJson(value: unknown, pad = ""): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const inner = `${pad}  `;
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== "object")) return `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
    return `[\n${value.map((v) => `${inner}${readableJson(v, inner)}`).join(",\n")}\n${pad}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (!entries.length) return "{}";
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${readableJson(v, inner)}`).join(",\n")}\n${pad}}`;
}

export async function exportCommand(path: string, o: GlobalOpts, ctx: CommandContext): Promise<number> {
  let file: SmmuFile;
  try {
    const input = await loadInput(path, "smmu", o);
    if (input.kind !== "smmu") throw new Error("unreachable: export loads a .smmu file");
    file = input.file;
  } catch (err) {
    return badInput(err, o, ctx, colors(ctx.useColor(o)), 1);
  }
  ctx.io.out(readableJson(topologyJson(file)));
  return EXIT_OK;
}
