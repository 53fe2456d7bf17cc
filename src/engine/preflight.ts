/**
 * What running a file would reject, found without running it: each
 * scenario's driver set up on the file's platform (a plugin refusing the
 * topology), and the statements whose arguments only the plugins know (an
 * allocation site, an endpoint's fault), checked against them. `check` and
 * `run` call it, so that they reject the same files with the same messages,
 * every problem at once.
 */
import { HandlerError } from "../core/bus.js";
import { diagnostic, type Diagnostic, type Span } from "../core/diagnostics.js";
import { statementsOf, type Scenario, type SmmuFile, type Stmt } from "../dsl/ast.js";
import { DriverUnsupportedError } from "../model/driver.js";
import type { DriverSpec } from "../model/topology.js";
import type { PluginRegistry } from "../plugin/registry.js";
import { driverProblem } from "../schema/validate.js";
import { driverSpec } from "./runner.js";
import { Simulator } from "./simulator.js";

/** Every statement of a body, those inside blocks too. */
function* statements(body: Iterable<Stmt>): Generator<Stmt> {
  for (const s of body) {
    yield s;
    if ("body" in s) yield* statements(s.body);
  }
}

/**
 * What the runner would reject in `file`'s valid topology under each
 * scenario's driver (`override` as the command line gives it): diagnostics
 * worded and placed as ScenarioRun reports them.
 */
export function preflight(file: SmmuFile, registry: PluginRegistry, override?: DriverSpec): Diagnostic[] {
  const out = new Map<string, Diagnostic>();
  const add = (span: Span, code: string, message: string): void => {
    const d = diagnostic(span, code, message);
    out.set(`${span.file}:${span.line}:${span.column}\0${message}`, d);
  };
  /* one platform per driver the scenarios run under: what these checks ask changes nothing the next check sees */
  const platforms = new Map<string, Simulator | null>();
  for (const scenario of file.scenarios) {
    const spec = driverSpec(file, scenario, override);
    /* a driver choice that is wrong is reported as such, by the checks of driver lines and flags */
    if (driverProblem(spec, registry)) continue;
    const key = JSON.stringify(spec);
    let sim = platforms.get(key);
    if (sim === undefined) {
      sim = setUp(file, scenario, spec, registry, add);
      platforms.set(key, sim);
    }
    if (sim) checkStatements(sim, scenario, add);
  }
  return [...out.values()];
}

/** The platform the runner would build for `scenario`, or null after reporting why it cannot be built (where the runner does). */
function setUp(file: SmmuFile, scenario: Scenario, spec: DriverSpec, registry: PluginRegistry, add: (span: Span, code: string, message: string) => void): Simulator | null {
  try {
    return new Simulator(file.topology, { registry, driver: spec });
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    add((scenario.driver ?? file.driver)?.span ?? scenario.span, "setup", err.message);
    return null;
  }
}

/** The statements whose arguments only the plugins check, asked of them as the runner asks (ScenarioRun.input()). */
function checkStatements(sim: Simulator, scenario: Scenario, add: (span: Span, code: string, message: string) => void): void {
  /* a streamed scenario's statements as they are made, not all at once */
  for (const s of statements(statementsOf(scenario))) {
    try {
      /* no allocation is made to fail, no fault turned on: only whether the plugin knows the name */
      if (s.kind === "fail-alloc") sim.failAllocs(s.site, 0);
      else if (s.kind === "fault") sim.inject(s.device, s.fault, false);
    } catch (err) {
      /* a driver without arrays lacks the site: the scenario is skipped there, not bad input; a plugin that fails, fails the scenario */
      if (err instanceof DriverUnsupportedError || err instanceof HandlerError || !(err instanceof Error)) continue;
      add(s.span, "unknown-name", err.message);
    }
  }
}
