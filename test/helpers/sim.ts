/** Building simulators for tests. */
import { type SimulatorOptions } from "../../src/index.js";
import { Simulator } from "../../src/index.js";
import type { Cmd } from "../../src/model/commands.js";
import type { Topology } from "../../src/model/topology.js";

export function sim(topology: Topology, options?: SimulatorOptions): Simulator {
  return new Simulator(topology, options);
}

/** Run `op` and return the commands each SMMU received during it. */
export function during(s: Simulator, op: () => unknown): Record<string, Cmd[]> {
  s.clearCommands();
  op();
  const out: Record<string, Cmd[]> = {};
  for (const smmu of s.platform.smmus()) out[smmu.name] = s.commands(smmu.name);
  return out;
}
