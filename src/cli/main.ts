/**
 * The smmu-emu command line. Exit status: 0 when every expectation holds,
 * 1 when one fails, 2 on bad input (a diagnostic was printed) or a usage
 * error. Human output goes to stdout (colours only on a terminal); with
 * --json, exactly one JSON document goes to stdout.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { InputError, sortDiagnostics, type Diagnostic } from "../core/diagnostics.js";
import { loadCliPlugins, loadSmmuWithPlugins, loadTopology } from "../engine/load.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { describePlugins } from "../report/plugins.js";
import { runFile, type ScenarioResult } from "../engine/runner.js";
import { builtinRegistry } from "../engine/simulator.js";
import type { DriverSpec } from "../model/topology.js";
import { colors, formatDiagnostics, formatScenario, formatSummary } from "../report/human.js";
import { jsonReport, type FileReport } from "../report/json.js";
import { driverPlugin } from "../dsl/lower-scenario.js";

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** The package's own version, found from wherever this module runs (src/ or dist/). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, "package.json");
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "smmu-emu") return pkg.version ?? "0.0.0";
    }
    const up = dirname(dir);
    if (up === dir) return "0.0.0";
    dir = up;
  }
}

/** Where the CLI writes; tests pass their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal (colours, progress) */
  tty: boolean;
}

const processIo: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  tty: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
};

interface GlobalOpts {
  json?: boolean;
  color: boolean;
  plugin?: string[];
}

interface RunOpts extends GlobalOpts {
  scenario?: string;
  seed?: number;
  driver?: string;
  variant?: string;
  stepLimit?: number;
}

function driverOverride(o: RunOpts): DriverSpec | undefined {
  if (!o.driver && !o.variant) return undefined;
  return { ...(o.driver ? { plugin: driverPlugin(o.driver) } : {}), ...(o.variant ? { variant: o.variant } : {}) };
}

function seedInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`not a seed (0..4294967295): ${v}`);
  return n;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`not a positive integer: ${v}`);
  return n;
}

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const version = packageVersion();
  let status = EXIT_OK;
  const program = new Command("smmu-emu")
    .description("Emulate multi-SMMU platforms and the arm-smmu-v3 invalidation array; run .smmu scenarios")
    .version(version)
    .option("--json", "print one machine-readable JSON report on stdout")
    .option("--no-color", "no colours, even on a terminal")
    .option("--plugin <path>", "load a plugin (a .ts/.js file or a package); repeatable", (v: string, prev: string[] = []) => [...prev, v])
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError("(run with --help for usage)");

  const useColor = (o: GlobalOpts): boolean => io.tty && o.color && !o.json;

  program
    .command("run")
    .description("run every scenario of each file; exit 0 if all pass, 1 if one fails, 2 on bad input")
    .argument("<files...>", ".smmu files")
    .option("--scenario <name>", "run only the scenario with this name")
    .option("--driver <name>", "run under this driver plugin (invs, legacy, or a plugin name)")
    .option("--variant <name>", "run under this driver variant (mainline, v9)")
    .addOption(new Option("--seed <n>", "seed of the interleavings `concurrently` blocks explore").argParser(seedInt).default(0))
    .addOption(new Option("--step-limit <n>", "steps one operation may take before it is a livelock").argParser(positiveInt))
    .action(async (files: string[], _o: unknown, cmd: Command) => {
      status = await runCommand(files, cmd.optsWithGlobals<RunOpts>(), io, version, useColor);
    });

  program
    .command("check")
    .description("parse and validate a .smmu file without running it")
    .argument("<file>", ".smmu file")
    .action(async (file: string, _o: unknown, cmd: Command) => {
      status = await checkCommand(file, "smmu", cmd.optsWithGlobals<GlobalOpts>(), io, version, useColor);
    });

  program
    .command("validate")
    .description("validate a topology written as JSON against the schemas")
    .argument("<file>", "topology .json file")
    .action(async (file: string, _o: unknown, cmd: Command) => {
      status = await checkCommand(file, "json", cmd.optsWithGlobals<GlobalOpts>(), io, version, useColor);
    });

  program
    .command("plugins")
    .description("list the loaded plugins: built-in ones and those given with --plugin")
    .action(async (_o: unknown, cmd: Command) => {
      status = await pluginsCommand(cmd.optsWithGlobals<GlobalOpts>(), io, version, useColor);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      /* --help and --version succeed; help shown because no command was given is a usage error */
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return EXIT_OK;
      return err.code === "commander.help" && err.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    throw err;
  }
  return status;
}

/** The built-in plugins and those given with --plugin. */
async function registry(o: GlobalOpts): Promise<PluginRegistry> {
  const r = builtinRegistry();
  await loadCliPlugins(o.plugin ?? [], r);
  return r;
}

async function runCommand(files: string[], o: RunOpts, io: Io, version: string, useColor: (o: GlobalOpts) => boolean): Promise<number> {
  const c = colors(useColor(o));
  const reports: FileReport[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const path of files) {
    let results: ScenarioResult[];
    try {
      const plugins = await registry(o);
      const file = await loadSmmuWithPlugins(path, plugins);
      const override = driverOverride(o);
      const problem = override && plugins.driverProblem(override);
      if (problem) {
        io.err(`smmu-emu: ${o.driver ? "--driver" : "--variant"}: ${problem}`);
        return EXIT_BAD_INPUT;
      }
      results = runFile(file, { registry: plugins, scenario: o.scenario, driver: override, stepLimit: o.stepLimit, seed: o.seed });
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      diagnostics.push(...err.diagnostics);
      continue;
    }
    reports.push({ file: path, scenarios: results });
    if (!o.json) {
      io.out(c.bold(path));
      for (const r of results) io.out(formatScenario(c, r));
    }
  }
  const all = reports.flatMap((r) => r.scenarios);
  if (o.json) io.out(JSON.stringify(jsonReport(reports, sortDiagnostics(diagnostics), version), null, 2));
  else {
    if (diagnostics.length) io.err(formatDiagnostics(c, sortDiagnostics(diagnostics)));
    io.out(formatSummary(c, all) + (diagnostics.length ? c.red(`; ${files.length - reports.length} file(s) not run: bad input`) : ""));
  }
  if (diagnostics.length) return EXIT_BAD_INPUT;
  return all.every((r) => r.passed) ? EXIT_OK : EXIT_FAILED;
}

async function checkCommand(path: string, kind: "smmu" | "json", o: GlobalOpts, io: Io, version: string, useColor: (o: GlobalOpts) => boolean): Promise<number> {
  const c = colors(useColor(o));
  let summary: string;
  try {
    const plugins = await registry(o);
    if (kind === "smmu") {
      const f = await loadSmmuWithPlugins(path, plugins);
      const t = f.topology;
      summary = `${path}: ok: ${t.smmus.length} SMMU(s), ${t.devices.length} device(s), ${t.vsmmus?.length ?? 0} vSMMU(s), ${t.domains.length} domain(s), ${f.scenarios.length} scenario(s)`;
    } else {
      const t = loadTopology(path, plugins);
      summary = `${path}: ok: ${t.smmus.length} SMMU(s), ${t.devices.length} device(s), ${t.vsmmus?.length ?? 0} vSMMU(s), ${t.domains.length} domain(s)`;
    }
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const ds = sortDiagnostics(err.diagnostics);
    if (o.json) io.out(JSON.stringify(jsonReport([], ds, version), null, 2));
    else io.err(formatDiagnostics(c, ds));
    return EXIT_BAD_INPUT;
  }
  if (o.json) io.out(JSON.stringify(jsonReport([], [], version), null, 2));
  else io.out(c.green(summary));
  return EXIT_OK;
}

async function pluginsCommand(o: GlobalOpts, io: Io, version: string, useColor: (o: GlobalOpts) => boolean): Promise<number> {
  const c = colors(useColor(o));
  let plugins: PluginRegistry;
  try {
    plugins = await registry(o);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const ds = sortDiagnostics(err.diagnostics);
    if (o.json) io.out(JSON.stringify(jsonReport([], ds, version), null, 2));
    else io.err(formatDiagnostics(c, ds));
    return EXIT_BAD_INPUT;
  }
  const list = describePlugins(plugins.list());
  if (o.json) io.out(JSON.stringify({ formatVersion: 1, tool: "smmu-emu", version, plugins: list }, null, 2));
  else {
    for (const p of list) {
      io.out(`${c.bold(p.name)} ${p.version}  ${p.kind}${p.extends ? ` (extends ${p.extends})` : ""}  plugin API ${p.apiVersions.join(", ")}`);
      io.out(`  ${p.description}`);
      if (p.variants) io.out(`  variants: ${p.variants.join(", ")}`);
      for (const prop of p.properties) io.out(`  ${prop.name}: ${prop.type}${prop.description ? c.dim(`  ${prop.description}`) : ""}`);
    }
  }
  return EXIT_OK;
}
