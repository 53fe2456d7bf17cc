/**
 * The smmu-emu command line. Exit status: 0 when every expectation holds (a
 * skipped scenario is no failure), 1 when one fails, 2 on bad input (a
 * diagnostic was printed) or a usage error. Human output goes to stdout
 * (colours only on a terminal); with --json, exactly one JSON document goes
 * to stdout.
 *
 * This module loads commander and nothing heavy: each command's
 * implementation (the parser, the schemas, the plugins) is imported only
 * when that command runs, so --version and --help start as fast as Node.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { EXIT_BAD_INPUT, EXIT_OK, processIo, type Io } from "./io.js";
import {
  collect,
  driverOption,
  limitOption,
  positiveInt,
  REPORTERS,
  seedInt,
  type CommandContext,
  type CompareOpts,
  type GlobalOpts,
  type GraphOpts,
  type RunOpts,
} from "./options.js";

export { EXIT_BAD_INPUT, type Io } from "./io.js";

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

const RUN_HELP = `
--scenario takes a name or a glob (* any text, ? one character, [a-z] one of
a set; \\ before one of these makes it literal) and may be repeated: the
scenarios any of them matches run, in file order. One that matches no
scenario of any file is an error naming it, and nothing runs.

A scenario is skipped, not failed, when the driver lacks what it needs (an
invalidation array under driver-legacy, say) and nothing failed before: SKIP
in the report, neither a pass nor a failure; skips alone exit 0.

--reporter ktap prints KTAP as kunit does (a suite per file, a test case per
scenario, "# SKIP"); --reporter junit prints JUnit XML for CI. Output files
(--trace) are opened before anything runs: one that cannot be written is a
usage error. Output cut short by its reader (| head) ends the run quietly.`;

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

const COMPARE_HELP = `
The drivers are every variant of every loaded driver plugin (driver-legacy,
driver-invs mainline and v9, and any given with --plugin), then each boolean
option of a driver switched on over its default variant (driver-invs
+parallel_syncs). A scenario's own \`driver\` line is overridden. Times are
simulated ns, from the costs in the topology (cmd_ns and sync_ns on an SMMU,
atc_inv_ns on a device). Exits 0 once the table is printed, whatever passed;
2 on bad input.`;

export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const version = packageVersion();
  let status = EXIT_OK;
  const program = new Command("smmu-emu")
    .description("Emulate multi-SMMU platforms and the arm-smmu-v3 invalidation array; run .smmu scenarios")
    .version(version)
    .option("--json", "print one machine-readable JSON report on stdout")
    .option("--no-color", "no colours, even on a terminal")
    .option("--plugin <path>", "load a plugin (a .ts/.js file or a package); repeatable", collect)
    .option("--limit <name=n>", "set a limit on the input (file-size=8M, ptes=2M, nesting, statements, ...: see the README); repeatable", limitOption)
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError("(run with --help for usage)");

  const ctx: CommandContext = { io, version, useColor: (o: GlobalOpts): boolean => io.tty && o.color && !o.json };

  program
    .command("run")
    .description("run every scenario of each file; exit 0 if none fails, 1 if one fails, 2 on bad input")
    .argument("<files...>", ".smmu files")
    .option("--scenario <name>", "run only the scenarios this name or glob matches; repeatable", collect)
    .option("--list", "list each file's scenarios (name, line, driver) without running them")
    .addOption(new Option("--reporter <name>", "the report: for people, KTAP as kunit prints it, or JUnit XML").choices(REPORTERS).default("human"))
    .option("--driver <name>", "run under this driver plugin (invs, legacy, or a plugin name)")
    .option("--variant <name>", "run under this driver variant (driver-invs: mainline, v9; driver-legacy: v7.0)")
    .option("--driver-option <key[=value]>", "set a driver option (e.g. parallel_syncs); repeatable", driverOption)
    .option("--trace <file>", "write the run as Chrome trace-event JSON (open it in Perfetto): CPUs, SMMU queues, endpoints")
    .option("--metrics", "after each scenario, what its invalidations took (simulated ns) and queued")
    .option("--check-plugins", "shape-check the events of the built-in plugins too (a plugin given with --plugin or `use` always is)")
    .addOption(new Option("--seed <n>", "seed of the interleavings `concurrently` blocks explore").argParser(seedInt).default(0))
    .addOption(new Option("--step-limit <n>", "steps one operation may take before it is a livelock").argParser(positiveInt))
    .addHelpText("after", RUN_HELP)
    .action(async (files: string[], _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<RunOpts>();
      if (o.list) status = await (await import("./commands/list.js")).listCommand(files, o, ctx);
      else status = await (await import("./commands/run.js")).runCommand(files, o, ctx);
    });

  program
    .command("check")
    .description("parse and validate a .smmu file without running it")
    .argument("<file>", ".smmu file")
    .action(async (file: string, _o: unknown, cmd: Command) => {
      status = await (await import("./commands/check.js")).checkCommand(file, "smmu", cmd.optsWithGlobals<GlobalOpts>(), ctx);
    });

  program
    .command("validate")
    .description("validate a topology written as JSON against the schemas")
    .argument("<file>", "topology .json file")
    .action(async (file: string, _o: unknown, cmd: Command) => {
      status = await (await import("./commands/check.js")).checkCommand(file, "json", cmd.optsWithGlobals<GlobalOpts>(), ctx);
    });

  program
    .command("plugins")
    .description("list the loaded plugins: built-in ones and those given with --plugin")
    .action(async (_o: unknown, cmd: Command) => {
      status = await (await import("./commands/plugins.js")).pluginsCommand(cmd.optsWithGlobals<GlobalOpts>(), ctx);
    });

  program
    .command("graph")
    .description("print the topology of a .smmu file (or a topology .json) as a Graphviz DOT graph on stdout")
    .argument("<file>", ".smmu file, or topology .json file (by its extension)")
    .option("--scenario <name>", "also draw the attachments this scenario's statements make (it is not run)")
    .addHelpText("after", GRAPH_HELP)
    .action(async (file: string, _o: unknown, cmd: Command) => {
      status = await (await import("./commands/graph.js")).graphCommand(file, cmd.optsWithGlobals<GraphOpts>(), ctx);
    });

  program
    .command("compare")
    .description("run a file under every driver (each variant, and each option on) and print the figures side by side")
    .argument("<file>", ".smmu file")
    .option("--scenario <name>", "compare only the scenarios this name or glob matches; repeatable", collect)
    .addOption(new Option("--seed <n>", "seed of the interleavings `concurrently` blocks explore").argParser(seedInt).default(0))
    .addHelpText("after", COMPARE_HELP)
    .action(async (file: string, _o: unknown, cmd: Command) => {
      status = await (await import("./commands/compare.js")).compareCommand(file, cmd.optsWithGlobals<CompareOpts>(), ctx);
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
