/**
 * The files of `run` (and `run --list`) loaded before anything runs, and the
 * scenarios --scenario selects from them: every name or glob must match a
 * scenario of some file, else nothing runs.
 */
import { InputError, type Diagnostic } from "../../core/diagnostics.js";
import type { Scenario, SmmuFile } from "../../dsl/ast.js";
import { loadSmmuWithPlugins } from "../../engine/load.js";
import { driverSpec, matchScenarios, unmatchedScenario } from "../../engine/runner.js";
import { driverPlugin, type DriverSpec } from "../../model/topology.js";
import type { PluginRegistry } from "../../plugin/registry.js";
import { driverProblem } from "../../schema/validate.js";
import type { CommandContext, RunOpts } from "../options.js";
import { registry, usage } from "./common.js";

/** The flags that choose the plugins, the driver and the scenarios. */
export type SelectOpts = Pick<RunOpts, "plugin" | "json" | "color" | "scenario" | "driver" | "variant" | "driverOption" | "topology" | "limit">;

/** A file that loaded, and the scenarios of it to run. */
export interface SelectedFile {
  path: string;
  file: SmmuFile;
  plugins: PluginRegistry;
  scenarios: Scenario[];
}

/** A file that did not load, or none of whose scenarios could be selected. */
interface RejectedFile {
  path: string;
  diagnostics: Diagnostic[];
}

export type FileInput = SelectedFile | RejectedFile;

/** The driver the flags choose (--driver, --variant, --driver-option), over the file's and scenarios' own. */
export function driverOverride(o: SelectOpts): DriverSpec | undefined {
  if (!o.driver && !o.variant && !o.driverOption) return undefined;
  return {
    ...(o.driver ? { plugin: driverPlugin(o.driver) } : {}),
    ...(o.variant ? { variant: o.variant } : {}),
    ...(o.driverOption ? { options: o.driverOption } : {}),
  };
}

/**
 * Each file loaded with its plugins and its scenarios selected, in the order
 * given; or the exit status of a usage error. `deferPluginPreflight`: a file
 * with a user's plugin is not set up here (run's worker thread does it).
 */
export async function loadSelected(files: readonly string[], o: SelectOpts, ctx: CommandContext, deferPluginPreflight = false): Promise<FileInput[] | { status: number }> {
  const inputs: FileInput[] = [];
  const override = driverOverride(o);
  for (const path of files) {
    try {
      const plugins = await registry(o);
      const file = await loadSmmuWithPlugins(path, plugins, undefined, { driver: override, ...(o.topology !== undefined ? { topology: o.topology } : {}), limits: o.limit ?? {}, deferPluginPreflight });
      /* checked against the file's own driver choice, which the flags override */
      const problem = override && driverProblem(driverSpec(file, undefined, override), plugins);
      if (problem) {
        const flag = problem.field === "option" ? "--driver-option" : problem.field === "variant" ? "--variant" : "--driver";
        return { status: usage(ctx, flag, `${problem.message}${problem.hint ? ` (${problem.hint})` : ""}`) };
      }
      inputs.push({ path, file, plugins, scenarios: file.scenarios });
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      inputs.push({ path, diagnostics: err.diagnostics });
    }
  }
  if (!o.scenario) return inputs;
  const loaded = inputs.filter((i): i is SelectedFile => "file" in i);
  const { selected, unmatched } = matchScenarios(
    loaded.map((i) => i.file),
    o.scenario,
  );
  /* a name or glob that matches nothing: nothing runs, and each file says which scenarios it has */
  if (unmatched.length) return inputs.map((i) => ("file" in i ? { path: i.path, diagnostics: unmatched.map((p) => unmatchedScenario(i.file, p)) } : i));
  loaded.forEach((i, k) => (i.scenarios = selected[k]!));
  return inputs;
}
