/**
 * `run --list`: each file's scenarios (those --scenario selects) with where
 * they are declared and the driver they would run under, without running
 * them; with --json as data (schemas/list.schema.json).
 */
import { sortDiagnostics } from "../../core/diagnostics.js";
import type { Scenario } from "../../dsl/ast.js";
import { driverSpec } from "../../engine/runner.js";
import type { JsonValue } from "../../model/topology.js";
import { colors, driverLabel, formatDiagnostics } from "../../report/human.js";
import { diagnosticJson, REPORT_FORMAT_VERSION } from "../../report/json.js";
import { EXIT_BAD_INPUT, EXIT_OK } from "../io.js";
import type { CommandContext, RunOpts } from "../options.js";
import { driverOverride, loadSelected, type SelectedFile } from "./select.js";

/** #/$defs/scenario of schemas/list.schema.json */
interface ListedScenario {
  name: string;
  file: string;
  line: number;
  column: number;
  driver: { plugin: string; variant: string; options?: Record<string, JsonValue> };
}

function listed(input: SelectedFile, s: Scenario, o: RunOpts): ListedScenario {
  const spec = driverSpec(input.file, s, driverOverride(o));
  const plugin = input.plugins.resolve("driver", spec.plugin);
  const options = spec.options && Object.keys(spec.options).length ? { options: spec.options } : {};
  return {
    name: s.name,
    file: s.span.file,
    line: s.span.line,
    column: s.span.column,
    driver: { plugin: plugin.name, variant: spec.variant ?? plugin.variants[0] ?? "", ...options },
  };
}

export async function listCommand(files: readonly string[], o: RunOpts, ctx: CommandContext): Promise<number> {
  const inputs = await loadSelected(files, o, ctx);
  if ("status" in inputs) return inputs.status;
  const c = colors(ctx.useColor(o));
  const out = inputs.map((i) => ({ file: i.path, scenarios: "file" in i ? i.scenarios.map((s) => listed(i, s, o)) : [] }));
  const diagnostics = sortDiagnostics(inputs.flatMap((i) => ("diagnostics" in i ? i.diagnostics : [])));
  const ok = inputs.filter((i) => "file" in i);
  if (o.json) {
    const doc = {
      formatVersion: REPORT_FORMAT_VERSION,
      tool: "smmu-emu",
      version: ctx.version,
      files: out.filter((_, k) => "file" in inputs[k]!),
      diagnostics: diagnostics.map(diagnosticJson),
    };
    ctx.io.out(JSON.stringify(doc, null, 2));
  } else {
    for (const f of out) for (const s of f.scenarios) ctx.io.out(`${s.file}:${s.line}:${s.column}: ${s.name} ${c.dim(`(${driverLabel(s.driver)})`)}`);
    if (diagnostics.length) ctx.io.err(formatDiagnostics(c, diagnostics));
  }
  return ok.length === inputs.length ? EXIT_OK : EXIT_BAD_INPUT;
}
