/**
 * The smmu-emu command line. Exit status: 0 when every expectation holds,
 * 1 when one fails, 2 on bad input (a diagnostic was printed) or a usage
 * error. Human output goes to stdout (colours only on a terminal); with
 * --json, exactly one JSON document goes to stdout.
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { diagnostic, InputError, sortDiagnostics, type Diagnostic } from "../core/diagnostics.js";
import { loadCliPlugins, loadSmmuWithPlugins, loadTopology } from "../engine/load.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { pluginsReport } from "../report/plugins.js";
import { driverSpec, runFile, selectScenarios, type RunOptions, type ScenarioResult } from "../engine/runner.js";
import { builtinRegistry } from "../index.js";
import type { DriverSpec, JsonValue } from "../model/topology.js";
import { driverProblem } from "../schema/validate.js";
import { compareConfigs, compareFile, type Comparison } from "../engine/compare.js";
import { comparisonJson, formatComparison } from "../report/compare.js";
import { TraceWriter } from "../report/trace.js";
import { invalidationLine, metricsHeader } from "../report/metrics.js";
import { colors, formatDiagnostics, formatScenario, formatSummary } from "../report/human.js";
import { invalidationJson, jsonReport, streamedFileJson, streamedReport, streamedScenarioJson, type FileReport } from "../report/json.js";
import { Spool } from "../report/spool.js";
import { driverPlugin } from "../model/topology.js";
import type { SmmuFile } from "../dsl/ast.js";
import type { Topology } from "../model/topology.js";
import { checkedJson, checkedSmmu, formatChecked } from "../report/checked.js";
import { topologyDot } from "../report/graph.js";

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
  /** stdout is a terminal (colours) */
  tty: boolean;
  /** Draw (or with null, clear) a progress line; only where stderr is a terminal. */
  progress?(line: string | null): void;
  /**
   * Write `text` on stdout as it is (a long document, in pieces), resolving
   * once the destination has taken it; without it, the pieces are joined
   * and go to out().
   */
  write?(text: string): Promise<void>;
}

const processIo: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  tty: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  write: async (t) => {
    if (!process.stdout.write(t)) await once(process.stdout, "drain");
  },
  ...(process.stderr.isTTY ? { progress: (line: string | null) => process.stderr.write(`\r\x1b[K${line ?? ""}`) } : {}),
};

/** A progress reporter for a run of `path`, redrawn at most every 100 ms (wall clock: display only). */
function progressOf(io: Io, path: string): RunOptions["onProgress"] {
  const draw = io.progress;
  if (!draw) return undefined;
  let last = 0;
  return (scenario, done, total) => {
    const now = Date.now();
    if (now - last < 100) return;
    last = now;
    draw(`${path}: "${scenario}" statement ${done + 1}/${total}`);
  };
}

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
  driverOption?: Record<string, JsonValue>;
  trace?: string;
  metrics?: boolean;
  checkPlugins?: boolean;
}

function driverOverride(o: RunOpts): DriverSpec | undefined {
  if (!o.driver && !o.variant && !o.driverOption) return undefined;
  return {
    ...(o.driver ? { plugin: driverPlugin(o.driver) } : {}),
    ...(o.variant ? { variant: o.variant } : {}),
    ...(o.driverOption ? { options: o.driverOption } : {}),
  };
}

/** `--driver-option key[=value]`, repeatable: true without a value; true/false, integers and words as written. */
function driverOption(v: string, prev: Record<string, JsonValue> = {}): Record<string, JsonValue> {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(v);
  if (!m) throw new InvalidArgumentError(`not key or key=value: ${v}`);
  const raw = m[2];
  const value = raw === undefined || raw === "true" ? true : raw === "false" ? false : /^-?\d+$/.test(raw) ? Number(raw) : raw;
  return { ...prev, [m[1]!]: value };
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
    .option("--variant <name>", "run under this driver variant (driver-invs: mainline, v9; driver-legacy: v7.0)")
    .option("--driver-option <key[=value]>", "set a driver option (e.g. parallel_syncs); repeatable", driverOption)
    .option("--trace <file>", "write the run as Chrome trace-event JSON (open it in Perfetto): CPUs, SMMU queues, endpoints")
    .option("--metrics", "after each scenario, what its invalidations took (simulated ns) and queued")
    .option("--check-plugins", "shape-check the events of the built-in plugins too (a plugin given with --plugin or `use` always is)")
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

  program
    .command("graph")
    .description("print the topology of a .smmu file (or a topology .json) as a Graphviz DOT graph on stdout")
    .argument("<file>", ".smmu file, or topology .json file (by its extension)")
    .option("--scenario <name>", "also draw the attachments this scenario's statements make (it is not run)")
    .addHelpText("after", GRAPH_HELP)
    .action(async (file: string, _o: unknown, cmd: Command) => {
      status = await graphCommand(file, cmd.optsWithGlobals<GraphOpts>(), io, version, useColor);
    });

  program
    .command("compare")
    .description("run a file under every driver (each variant, and each option on) and print the figures side by side")
    .argument("<file>", ".smmu file")
    .option("--scenario <name>", "compare only the scenario with this name")
    .addOption(new Option("--seed <n>", "seed of the interleavings `concurrently` blocks explore").argParser(seedInt).default(0))
    .addHelpText("after", COMPARE_HELP)
    .action(async (file: string, _o: unknown, cmd: Command) => {
      status = await compareCommand(file, cmd.optsWithGlobals<CompareOpts>(), io, version, useColor);
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

/** Pieces joined into blocks of about this many characters before they are written. */
const WRITE_BLOCK = 1 << 16;

/** `pieces` and a newline on stdout, as out() of their concatenation prints them, in bounded memory where io.write() is there. */
async function emit(io: Io, pieces: Iterable<string>): Promise<void> {
  if (!io.write) {
    io.out([...pieces].join(""));
    return;
  }
  let block = "";
  for (const piece of pieces) {
    block += piece;
    if (block.length >= WRITE_BLOCK) {
      await io.write(block);
      block = "";
    }
  }
  await io.write(`${block}\n`);
}

/** `pieces` and a newline into the file at `path`. */
function emitFile(path: string, pieces: Iterable<string>): void {
  const fd = openSync(path, "w");
  try {
    let block = "";
    for (const piece of pieces) {
      block += piece;
      if (block.length >= WRITE_BLOCK) {
        writeSync(fd, block);
        block = "";
      }
    }
    if (block) writeSync(fd, block);
  } finally {
    closeSync(fd);
  }
}

/** One scenario's invalidations, as it ran: counted, and spooled when the report shows each (--json, --metrics). */
interface Invalidations {
  count: number;
  spool: Spool;
}

/** JSON texts in a spool hold no raw NUL: it separates them. */
const RECORD = "\0";

async function runCommand(files: string[], o: RunOpts, io: Io, version: string, useColor: (o: GlobalOpts) => boolean): Promise<number> {
  const c = colors(useColor(o));
  const reports: FileReport[] = [];
  /* per file reported, the invalidations of each of its scenarios */
  const spooled: Invalidations[][] = [];
  const diagnostics: Diagnostic[] = [];
  const trace = o.trace === undefined ? undefined : new TraceWriter(version);
  try {
    for (const path of files) {
      let results: ScenarioResult[];
      const ran: Invalidations[] = [];
      let current: Invalidations = { count: 0, spool: new Spool() };
      try {
        const plugins = await registry(o);
        const file = await loadSmmuWithPlugins(path, plugins);
        const override = driverOverride(o);
        /* checked against the file's own driver choice, which the flags override */
        const problem = override && driverProblem(driverSpec(file, undefined, override), plugins);
        if (problem) {
          const flag = problem.field === "option" ? "--driver-option" : problem.field === "variant" ? "--variant" : "--driver";
          io.err(`smmu-emu: ${flag}: ${problem.message}${problem.hint ? ` (${problem.hint})` : ""}`);
          return EXIT_BAD_INPUT;
        }
        const onProgress = o.json ? undefined : progressOf(io, path);
        const options: RunOptions = {
          registry: plugins,
          scenario: o.scenario,
          driver: override,
          stepLimit: o.stepLimit,
          seed: o.seed,
          checkPlugins: o.checkPlugins,
          onProgress,
          /* each scenario's invalidations as it runs: kept (on disk if need be) only where the report shows them */
          keepInvalidations: false,
          ...(o.json || o.metrics
            ? {
                onInvalidation: (m) => {
                  current.count++;
                  current.spool.write(o.json ? `${invalidationJson(m)}${RECORD}` : `${invalidationLine(m)}\n`);
                },
              }
            : {}),
          ...(trace ? { spans: () => trace.scenario() } : {}),
          onResult: (result) => {
            trace?.ended(result);
            ran.push(current);
            current = { count: 0, spool: new Spool() };
          },
        };
        try {
          results = runFile(file, options);
        } finally {
          if (onProgress) io.progress?.(null);
        }
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        diagnostics.push(...err.diagnostics);
        for (const inv of ran) inv.spool.dispose();
        continue;
      } finally {
        current.spool.dispose();
      }
      reports.push({ file: path, scenarios: results });
      spooled.push(ran);
      if (!o.json) {
        io.out(c.bold(path));
        for (const [i, r] of results.entries()) {
          io.out(formatScenario(c, r));
          if (o.metrics) await emit(io, metricsBlock(c, r, ran[i]!));
        }
      }
    }
    if (trace && o.trace !== undefined) {
      try {
        emitFile(o.trace, trace.chunks());
      } catch (err) {
        io.err(`smmu-emu: --trace: cannot write ${o.trace}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        return EXIT_BAD_INPUT;
      }
    }
    const all = reports.flatMap((r) => r.scenarios);
    if (o.json) {
      const fileJson = function* (): Generator<Generator<string>> {
        for (const [f, report] of reports.entries()) {
          const scenarios = function* (): Generator<Generator<string>> {
            for (const [i, r] of report.scenarios.entries()) yield streamedScenarioJson(r, () => spooled[f]![i]!.spool.split(RECORD));
          };
          yield streamedFileJson(report.file, scenarios);
        }
      };
      const ran = { scenarios: all.length, failed: all.filter((r) => !r.passed).length };
      await emit(io, streamedReport(fileJson, ran, sortDiagnostics(diagnostics), version, { rejected: files.length - reports.length }));
    } else {
      if (diagnostics.length) io.err(formatDiagnostics(c, sortDiagnostics(diagnostics)));
      io.out(formatSummary(c, all) + (diagnostics.length ? c.red(`; ${files.length - reports.length} file(s) not run: bad input`) : ""));
    }
    if (diagnostics.length) return EXIT_BAD_INPUT;
    return all.every((r) => r.passed) ? EXIT_OK : EXIT_FAILED;
  } finally {
    trace?.dispose();
    for (const inv of spooled.flat()) inv.spool.dispose();
  }
}

/** `run --metrics` after a scenario: its figures, then a line per invalidation, dimmed as one block. */
function* metricsBlock(c: ReturnType<typeof colors>, r: ScenarioResult, invalidations: Invalidations): Generator<string> {
  /* the dim codes around the whole block, as c.dim() of its text puts them */
  const [open, close] = c.dim("\0").split("\0") as [string, string];
  yield open;
  yield metricsHeader(r, invalidations.count).join("\n");
  for (const line of invalidations.spool.split()) yield `\n${line}`;
  yield close;
}

/** A good input, loaded with its plugins: a .smmu file or a topology written as JSON. */
type Loaded = { kind: "smmu"; file: SmmuFile; plugins: PluginRegistry } | { kind: "json"; topology: Topology; plugins: PluginRegistry };

async function loadInput(path: string, kind: "smmu" | "json", o: GlobalOpts): Promise<Loaded> {
  const plugins = await registry(o);
  return kind === "smmu" ? { kind, file: await loadSmmuWithPlugins(path, plugins), plugins } : { kind, topology: loadTopology(path, plugins), plugins };
}

/** Bad input: its diagnostics on stderr, or with --json in the one report on stdout; exit 2. */
function badInput(err: unknown, o: GlobalOpts, io: Io, version: string, c: ReturnType<typeof colors>, rejected: number): number {
  if (!(err instanceof InputError)) throw err;
  const ds = sortDiagnostics(err.diagnostics);
  if (o.json) io.out(JSON.stringify(jsonReport([], ds, version, { rejected }), null, 2));
  else io.err(formatDiagnostics(c, ds));
  return EXIT_BAD_INPUT;
}

async function checkCommand(path: string, kind: "smmu" | "json", o: GlobalOpts, io: Io, version: string, useColor: (o: GlobalOpts) => boolean): Promise<number> {
  const c = colors(useColor(o));
  let input: Loaded;
  try {
    input = await loadInput(path, kind, o);
  } catch (err) {
    return badInput(err, o, io, version, c, 1);
  }
  const checked = input.kind === "smmu" ? checkedSmmu(path, input.file, input.plugins) : checkedJson(path, input.topology, input.plugins);
  if (o.json) io.out(JSON.stringify(jsonReport([], [], version, { checked }), null, 2));
  else io.out(c.green(formatChecked(checked)));
  return EXIT_OK;
}

async function pluginsCommand(o: GlobalOpts, io: Io, version: string, useColor: (o: GlobalOpts) => boolean): Promise<number> {
  const c = colors(useColor(o));
  let plugins: PluginRegistry;
  try {
    plugins = await registry(o);
  } catch (err) {
    return badInput(err, o, io, version, c, 0);
  }
  const report = pluginsReport(plugins.list(), version);
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

interface GraphOpts extends GlobalOpts {
  scenario?: string;
}

const GRAPH_HELP = `
Draws each SMMU (features, options) in a box with the devices (sids, ats,
pasid_bits) and vSMMUs behind it, each domain (stage, nest_parent, ...), and
edges vSMMU -> its S2 parent and vSMMU -> each nested domain on it.

With --scenario NAME, also the attachments that scenario makes, read from its
statements (it is not run): each attach, detach and sva bind/unbind is an
edge device -> domain (detach: -> blocked), numbered in the order written,
with its PASID and line. Solid: what the device, or that PASID of it, is
attached to at the end; dotted: replaced by a later statement; dashed red:
inside an \`expect error\` block, expected to fail and change nothing.

Bad input is reported as by check, exit 2; --json does not apply (the output
is DOT). To draw it with Graphviz:
  smmu-emu graph FILE | dot -Tsvg -o topology.svg`;

async function graphCommand(path: string, o: GraphOpts, io: Io, version: string, useColor: (o: GlobalOpts) => boolean): Promise<number> {
  const c = colors(useColor(o));
  if (o.json) {
    io.err("smmu-emu: graph: --json does not apply: graph prints DOT");
    return EXIT_BAD_INPUT;
  }
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
    return badInput(err, o, io, version, c, 1);
  }
  io.out(dot.trimEnd());
  return EXIT_OK;
}

interface CompareOpts extends GlobalOpts {
  scenario?: string;
  seed: number;
}

const COMPARE_HELP = `
The drivers are every variant of every loaded driver plugin (driver-legacy,
driver-invs mainline and v9, and any given with --plugin), then each boolean
option of a driver switched on over its default variant (driver-invs
+parallel_syncs). A scenario's own \`driver\` line is overridden. Times are
simulated ns, from the costs in the topology (cmd_ns and sync_ns on an SMMU,
atc_inv_ns on a device). Exits 0 once the table is printed, whatever passed;
2 on bad input.`;

async function compareCommand(path: string, o: CompareOpts, io: Io, version: string, useColor: (o: GlobalOpts) => boolean): Promise<number> {
  const c = colors(useColor(o));
  let cmp: Comparison;
  try {
    const input = await loadInput(path, "smmu", o);
    if (input.kind !== "smmu") throw new Error("compare takes a .smmu file");
    cmp = compareFile(input.file, compareConfigs(input.plugins), { registry: input.plugins, scenario: o.scenario, seed: o.seed });
  } catch (err) {
    return badInput(err, o, io, version, c, 1);
  }
  if (o.json) io.out(JSON.stringify(comparisonJson(path, cmp, version), null, 2));
  else io.out(formatComparison(c, path, cmp));
  return EXIT_OK;
}
