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
  LOG_CATEGORIES,
  logCategories,
  positiveInt,
  REPORTERS,
  seedInt,
  type CheckOpts,
  seconds,
  type CommandContext,
  nonNegativeInt,
  seedRange,
  shardSpec,
  type CompareOpts,
  type ExploreOpts,
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
(--trace, --log-file) are opened before anything runs: one that cannot be
written is a usage error. Output cut short by its reader (| head) ends the
run quietly.

--log cmds,dma,atc,tlb,walk,invs (or all) prints what the platform does as
it happens, as QEMU's -trace does: on stderr (or in --log-file), a line per
event with its simulated ns and the CPU whose operation caused it, each
scenario's after a "# FILE: "SCENARIO"" line; the report is unchanged.

A run that loads a user's plugin, or has --timeout or --max-memory, runs its
scenarios on a worker thread: a scenario over the time or memory bound fails
at the statement running, naming the plugin and event whose code ran; a
plugin's timers never run (one left pending fails its scenario), and its
rejected promises, process.exit() and microtask exceptions are its failures.
What a plugin prints goes to stderr. No timeout unless one is given.`;

const EXPLORE_HELP = `
Searches the interleavings of each top-level \`concurrently\` block of the
selected scenarios: its operations (an agent each, on a CPU of its own), each
SMMU's command queue, and under --memory tso or arm each CPU's store buffer,
are agents that take one step at a time. Each block's report gives the
schedules run, whether the space was covered (every class of interleavings
within the bounds: nothing found then means nothing exists in the model), the
distinct outcomes, and each failure kind once with its shortest schedule and
the \`run --schedule\` command line that replays it. A scenario's other
blocks run as \`run --seed 0\` runs them.

Modes: dpor (default; exhaustive with partial-order reduction, up to
--max-schedules, optionally --preemptions K), naive (every interleaving),
pct (--depth, --runs, --seed), random (--seeds A..B, as run --seed picks).

--jobs N searches on N worker threads (default: one per core), the same
ones for every block; the report is the same whatever N. --shard K/N explores the K-th of N parts of every
search and prints it as JSON; \`explore --merge FILE...\` reads the N parts
and prints what one run would have. Exit 0: nothing found; 1: a finding;
2: bad input or a usage error. See docs/explore.md.

--timeout S watches the search: it runs on the worker threads only, and one
whose execution takes no step for S seconds (a plugin's code that never
returns) is stopped, and the block's search with it: a failure of kind
timeout at the operation that was running, naming the user plugin and event,
with the schedule that got there and the \`run --schedule ... --timeout S\`
line that replays it. No timeout unless one is given.`;

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

const TOPOLOGY_HELP = "read the file(s) after this topology (a .json as validate takes it, or a .smmu file), as if each began by including it";

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

  /** `command` as it is, or with --timeout (on the command's own thread) the same command line on a watched worker thread. */
  const watchable = async (name: string, o: { timeout?: number }, command: () => Promise<number>): Promise<number> => {
    if (o.timeout === undefined) return command();
    const watched = await import("./commands/watched.js");
    return watched.watchedHere() ? command() : watched.watchedCommand(argv, o.timeout, io, name);
  };
  /** The --timeout of the commands watchable() runs (a new Option for each command). */
  const timeoutOption = (): Option => new Option("--timeout <seconds>", "run on a worker thread, and stop it after this long, naming the plugin running").argParser(seconds);

  program
    .command("run")
    .description("run every scenario of each file; exit 0 if none fails, 1 if one fails, 2 on bad input")
    .argument("<files...>", ".smmu files")
    .option("--scenario <name>", "run only the scenarios this name or glob matches; repeatable", collect)
    .option("--list", "list each file's scenarios (name, line, driver) without running them")
    .addOption(new Option("--reporter <name>", "the report: for people, KTAP as kunit prints it, or JUnit XML").choices(REPORTERS).default("human"))
    .option("--topology <file>", TOPOLOGY_HELP)
    .option("--driver <name>", "run under this driver plugin (invs, legacy, or a plugin name)")
    .option("--variant <name>", "run under this driver variant (driver-invs: mainline, v9; driver-legacy: v7.0)")
    .option("--driver-option <key[=value]>", "set a driver option (e.g. parallel_syncs); repeatable", driverOption)
    .option("--trace <file>", "write the run as Chrome trace-event JSON (open it in Perfetto): CPUs, SMMU queues, endpoints")
    .option("--metrics", "after each scenario, what its invalidations took (simulated ns) and queued, and each cache's hits, misses and invalidated entries")
    .addOption(new Option("--log <categories>", `log each event as it happens, a line each with its simulated ns and CPU, to stderr: ${LOG_CATEGORIES.join(", ")} (comma-separated) or all`).argParser(logCategories))
    .option("--log-file <file>", "write the --log lines to this file instead of stderr")
    .option("--check-plugins", "shape-check the events of the built-in plugins too (a plugin given with --plugin or `use` always is)")
    .option("--schedule <schedule>", "replay this schedule (as `explore` prints it) of the scenario's `concurrently` block")
    .addOption(new Option("--block <n>", "with --schedule: the scenario's N-th top-level `concurrently` block").argParser(positiveInt))
    .addOption(new Option("--memory <model>", "with --schedule: the memory model the schedule was found under").choices(["sc", "tso", "arm"]).default("sc"))
    .addOption(new Option("--seed <n>", "seed of the interleavings `concurrently` blocks explore").argParser(seedInt).default(0))
    .addOption(new Option("--step-limit <n>", "steps one operation may take before it is a livelock").argParser(positiveInt))
    .addOption(new Option("--timeout <seconds>", "stop a scenario that runs longer (run on a worker thread): it fails at the statement, naming the plugin running").argParser(seconds))
    .addOption(new Option("--max-memory <MB>", "stop a scenario whose worker thread's heap grows past this").argParser(positiveInt))
    .addHelpText("after", RUN_HELP)
    .action(async (files: string[], _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<RunOpts>();
      if (o.list) status = await (await import("./commands/list.js")).listCommand(files, o, ctx);
      else status = await (await import("./commands/run.js")).runCommand(files, o, ctx);
    });

  program
    .command("explore")
    .description("search the interleavings of each scenario's `concurrently` blocks for stale translations, use after free and failed expects")
    .argument("<files...>", ".smmu files (with --merge: the JSON documents of explore --shard)")
    .option("--scenario <name>", "explore only the scenarios this name or glob matches; repeatable", collect)
    .addOption(new Option("--block <n>", "explore only each scenario's N-th top-level `concurrently` block").argParser(positiveInt))
    .addOption(new Option("--memory <model>", "sc: every store seen at once; tso: store buffers drained in order; arm: stores to different locations in any order").choices(["sc", "tso", "arm"]).default("sc"))
    .addOption(new Option("--mode <mode>", "the search (default dpor; random with --seeds)").choices(["dpor", "naive", "pct", "random"]))
    .addOption(new Option("--max-schedules <n>", "dpor, naive: the budget (default 100000): the parts of the search in order, each stopping at n schedules, none started once those before hold n").argParser(positiveInt))
    .addOption(new Option("--preemptions <k>", "dpor, naive: at most K preemptions per schedule (default: no bound)").argParser(nonNegativeInt))
    .addOption(new Option("--split-depth <d>", "dpor, naive: cut the space into parts at prefixes of D steps (default 8; a level of 256 parts is not cut further): deeper, parts more even for --jobs and --shard, at more blocked runs").argParser(nonNegativeInt))
    .addOption(new Option("--max-steps <n>", "stop an execution after this many steps as a livelock (default 10000)").argParser(positiveInt))
    .addOption(new Option("--depth <d>", "pct: the bug depth (default 2)").argParser(positiveInt))
    .addOption(new Option("--runs <n>", "pct: the runs (default 1000)").argParser(positiveInt))
    .addOption(new Option("--seed <n>", "pct: the seed (default 0)").argParser(seedInt))
    .addOption(new Option("--seeds <A..B>", "random: the seeds A to B (sets --mode random)").argParser(seedRange))
    .addOption(new Option("--jobs <n>", "worker threads (default: one per core)").argParser(positiveInt))
    .addOption(new Option("--timeout <seconds>", "stop a search whose schedule makes no progress this long (searched on worker threads only): it fails there, naming the plugin running, with the schedule that replays it").argParser(seconds))
    .addOption(new Option("--shard <K/N>", "explore the K-th of N parts of each search; prints JSON for --merge").argParser(shardSpec))
    .option("--merge", "the files are explore --shard documents: print the summary one run would give")
    .option("--driver <name>", "explore under this driver plugin (invs, legacy, or a plugin name)")
    .option("--variant <name>", "explore under this driver variant")
    .option("--driver-option <key[=value]>", "set a driver option; repeatable", driverOption)
    .addHelpText("after", EXPLORE_HELP)
    .action(async (files: string[], _o: unknown, cmd: Command) => {
      status = await (await import("./commands/explore.js")).exploreCommand(files, cmd.optsWithGlobals<ExploreOpts>(), ctx);
    });

  program
    .command("check")
    .description("parse and validate a .smmu file without running it")
    .argument("<file>", ".smmu file")
    .option("--topology <file>", TOPOLOGY_HELP)
    .addOption(timeoutOption())
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<CheckOpts>();
      status = await watchable("check", o, async () => (await import("./commands/check.js")).checkCommand(file, "smmu", o, ctx));
    });

  program
    .command("validate")
    .description("validate a topology written as JSON against the schemas")
    .argument("<file>", "topology .json file")
    .addOption(timeoutOption())
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<CheckOpts>();
      status = await watchable("validate", o, async () => (await import("./commands/check.js")).checkCommand(file, "json", o, ctx));
    });

  program
    .command("export")
    .description("print the topology of a .smmu file as JSON (what validate, include \"x.json\"; and run --topology take)")
    .argument("<file>", ".smmu file")
    .addOption(timeoutOption())
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<CheckOpts>();
      status = await watchable("export", o, async () => (await import("./commands/export.js")).exportCommand(file, o, ctx));
    });

  program
    .command("plugins")
    .description("list the loaded plugins: built-in ones and those given with --plugin")
    .addOption(timeoutOption())
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<CheckOpts>();
      status = await watchable("plugins", o, async () => (await import("./commands/plugins.js")).pluginsCommand(o, ctx));
    });

  program
    .command("graph")
    .description("print the topology of a .smmu file (or a topology .json) as a Graphviz DOT graph on stdout")
    .argument("<file>", ".smmu file, or topology .json file (by its extension)")
    .option("--scenario <name>", "also draw the attachments this scenario's statements make (it is not run)")
    .option("--topology <file>", TOPOLOGY_HELP)
    .addOption(timeoutOption())
    .addHelpText("after", GRAPH_HELP)
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<GraphOpts>();
      status = await watchable("graph", o, async () => (await import("./commands/graph.js")).graphCommand(file, o, ctx));
    });

  program
    .command("compare")
    .description("run a file under every driver (each variant, and each option on) and print the figures side by side")
    .argument("<file>", ".smmu file")
    .option("--scenario <name>", "compare only the scenarios this name or glob matches; repeatable", collect)
    .option("--topology <file>", TOPOLOGY_HELP)
    .addOption(new Option("--seed <n>", "seed of the interleavings `concurrently` blocks explore").argParser(seedInt).default(0))
    .addOption(timeoutOption())
    .addHelpText("after", COMPARE_HELP)
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<CompareOpts>();
      status = await watchable("compare", o, async () => (await import("./commands/compare.js")).compareCommand(file, o, ctx));
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
