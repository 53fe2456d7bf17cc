/** smmu-emu as a library: the engine, the array algebra, the plugin API and the language front end. */
export { Simulator, builtinRegistry, type SimulatorOptions } from "./engine/simulator.js";
export { runFile, type ScenarioResult, type Failure, type RunOptions } from "./engine/runner.js";
export { loadSmmu, loadTopology } from "./engine/load.js";
export type { Violation, ViolationKind, OpRef } from "./engine/oracle.js";
export { Timeline, type InvalidationKind, type InvalidationSpan } from "./engine/timeline.js";
export { scenarioMetrics, type ScenarioMetrics, type InvalidationMetric, type Stats } from "./engine/metrics.js";
export { compareConfigs, compareFile, type CompareConfig, type Comparison } from "./engine/compare.js";
export { compileSmmu } from "./dsl/compile.js";
export type { SmmuFile, Scenario, Stmt } from "./dsl/ast.js";
export { validateTopology } from "./schema/validate.js";
export { InputError, formatDiagnostic, type Diagnostic, type Span } from "./core/diagnostics.js";
export { Bus, HandlerError } from "./core/bus.js";
export type {
  AtcInvReply,
  AtcInvRequest,
  BusNotifications,
  BusRequests,
  CmdqSubmit,
  CmdqSubmitReply,
  DmaReply,
  DmaRequest,
  NotificationName,
  ReplyOf,
  RequestName,
  RequestOf,
  TlbTagsReply,
  TranslateRequest,
} from "./core/events.js";
export type { Access, Backing, TranslateResult, Translation, Via } from "./model/translation.js";
export type { Leaf } from "./model/page-table.js";
export type { Clock } from "./core/clock.js";
export type { Memory } from "./core/memory.js";
export { runSteps, site, StepBudget, LivelockError, type Step, type Steps } from "./core/steps.js";
export { ErrPtr, isErr, errnoName } from "./core/errno.js";
export {
  definePlugin,
  DRIVER_NODE,
  PLUGIN_API_VERSION,
  type BusPort,
  type DevicePlugin,
  type DriverPlugin,
  type JsonSchema,
  type PageTableView,
  type Plugin,
  type PluginContext,
  type PluginKind,
  type SmmuPlugin,
  type VsmmuPlugin,
} from "./plugin/api.js";
export { PluginRegistry, DEFAULT_PLUGIN } from "./plugin/registry.js";
export type { Platform } from "./plugin/platform.js";
export { ATC_INV_SIZE_ALL, CMDQ_OP, buildCmd, formatCmd, type Cmd, type CmdOf, type CmdqEnt, type Opcode } from "./model/commands.js";
export type { Topology, SmmuSpec, DeviceSpec, VsmmuSpec, DomainSpec, DriverSpec } from "./model/topology.js";
export type { IommuDriver, DriverDomain, Gather, InvsSnapshot } from "./model/driver.js";
export type { SmmuNode, EndpointNode, VsmmuNode, PlatformNode } from "./model/nodes.js";
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
