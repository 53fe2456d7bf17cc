/** smmu-emu as a library: the engine, the array algebra, the plugin API and the language front end. */
export { Simulator, builtinRegistry, type SimulatorOptions } from "./engine/simulator.js";
export { runFile, type ScenarioResult, type Failure, type RunOptions } from "./engine/runner.js";
export { loadSmmu, loadTopology } from "./engine/load.js";
export type { Violation, ViolationKind, OpRef } from "./engine/oracle.js";
export { compileSmmu } from "./dsl/compile.js";
export type { SmmuFile, Scenario, Stmt } from "./dsl/ast.js";
export { validateTopology } from "./schema/validate.js";
export { InputError, formatDiagnostic, type Diagnostic, type Span } from "./core/diagnostics.js";
export { Bus, HandlerError } from "./core/bus.js";
export type { BusNotifications, BusRequests } from "./core/events.js";
export { runSteps, site, StepBudget, LivelockError, type Step, type Steps } from "./core/steps.js";
export { ErrPtr, isErr, errnoName } from "./core/errno.js";
export { definePlugin, PLUGIN_API_VERSION, type Plugin, type PluginContext, type JsonSchema } from "./plugin/api.js";
export { PluginRegistry, DEFAULT_PLUGIN } from "./plugin/registry.js";
export type { Platform } from "./plugin/platform.js";
export { CMDQ_OP, buildCmd, formatCmd, type Cmd, type CmdqEnt, type Opcode } from "./model/commands.js";
export type { Topology, SmmuSpec, DeviceSpec, VsmmuSpec, DomainSpec, DriverSpec } from "./model/topology.js";
export type { IommuDriver, DriverDomain, Gather, InvsSnapshot } from "./model/driver.js";
export type { SmmuNode, EndpointNode, VsmmuNode } from "./model/nodes.js";
export {
  ATS,
  ATS_FULL,
  INV_TYPE_NAMES,
  Invs,
  InvView,
  S1_ASID,
  S2_VMID,
  S2_VMID_S1_CLEAR,
  invsAlloc,
  invsFrom,
  invsMerge,
  invsPurge,
  invsUnref,
  type InvInit,
  type InvType,
} from "../plugins/driver-invs/invs.js";
export { MAINLINE, V9, type DriverVariant } from "../plugins/driver-invs/variant.js";
