/**
 * smmu-emu as a library, and its composition root: the engine, the plugin API
 * (what every model, built in or a user's, is written against), the language
 * front end, and the built-in plugins wired in. Only this module imports
 * plugins/; the built-in plugins import only this module, so the plugin API
 * is exactly what they use. The import of the built-ins comes last: they read
 * this module's exports while they are evaluated.
 */
import { checkTopology } from "./engine/load.js";
import { Simulator as PlatformSimulator, type SimulatorOptions as PlatformOptions } from "./engine/simulator.js";
import type { Topology } from "./model/topology.js";
import { PluginRegistry } from "./plugin/registry.js";

/* ---- Running scenarios: the engine, its reports as data ---- */
export type { Op } from "./engine/simulator.js";
export { runFile, type ScenarioResult, type Failure, type RunOptions } from "./engine/runner.js";
export { loadSmmu, loadTopology, TopologyError } from "./engine/load.js";
export type { Violation, ViolationKind, OpRef } from "./engine/oracle.js";
export { Timeline, type InvalidationKind, type InvalidationSpan, type SpanSink } from "./engine/timeline.js";
export { scenarioMetrics, type ScenarioMetrics, type InvalidationMetric, type Stats } from "./engine/metrics.js";
export { compareConfigs, compareFile, type CompareConfig, type Comparison } from "./engine/compare.js";

/* ---- The language and the schemas ---- */
export { compileSmmu } from "./dsl/compile.js";
export type { SmmuFile, Scenario, Stmt } from "./dsl/ast.js";
export { validateTopology } from "./schema/validate.js";
export { InputError, formatDiagnostic, type Diagnostic, type Span } from "./core/diagnostics.js";

/* ---- Writing a plugin: its definition, context and registry ---- */
export {
  definePlugin,
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

/* ---- The bus and its events ---- */
export { Bus, HandlerError } from "./core/bus.js";
export type {
  AtcInvReply,
  AtcInvRequest,
  BusNotifications,
  BusRequests,
  CmdqPollReply,
  CmdqPollRequest,
  CmdqSubmit,
  CmdqSubmitReply,
  DmaReply,
  DmaRequest,
  NotificationName,
  ReplyOf,
  RequestName,
  RequestOf,
  ShowReply,
  SmmuShowRequest,
  TlbTagsReply,
  TranslatedReply,
  TranslatedRequest,
  TranslateRequest,
} from "./model/events.js";

/* ---- The vocabulary of models: topology, nodes, the driver interface, commands, tables, translations ---- */
export { DRIVER_NODE } from "./model/topology.js";
export { SMMU_FEATURES, SMMU_OPTIONS, type Topology, type SmmuSpec, type DeviceSpec, type VsmmuSpec, type DomainSpec, type DriverSpec, type SmmuFeature, type SmmuOption } from "./model/topology.js";
export type { SmmuNode, EndpointNode, VsmmuNode, PlatformNode, CmdqAgent } from "./model/nodes.js";
export { DriverUnsupportedError, INV_TYPE_NAMES, type InvTypeName, type IommuDriver, type DriverDomain, type Gather, type InvsAlgebra, type InvsSnapshot } from "./model/driver.js";
export { ATC_INV_SIZE_ALL, CMDQ_OP, buildCmd, cmdPrototype, formatCmd, isTlbi, makeCmd, type Cmd, type CmdOf, type CmdqEnt, type Opcode } from "./model/commands.js";
export { CdTable, CTXDESC_SPLIT, NUM_ENTRY_QWORDS, qwordLocation, StreamTable, type Qwords } from "./model/tables.js";
/** The STE and CD layout (arm-smmu-v3.h's field masks), for drivers that write entries and SMMUs that read them. */
export * from "./model/entries.js";
export { ffs, LpaeLayout, PageTable, PtTable, pgsizeBitmapFor, pteLocation, type Leaf, type Pte } from "./model/page-table.js";
export { formatTranslation, type Access, type Backing, type TranslateResult, type Translation, type Via } from "./model/translation.js";
export { hex } from "./model/hex.js";

/* ---- Kernel primitives for stepped models: steps, RCU, locks, errno, memory, time ---- */
export { born, exec, NO_STEPS, site, waitStep, type AccessKind, type Explored, type RmwOrder, type SharedAccess, type Step, type Steps } from "./model/step.js";
export { Exec } from "./core/exec.js";
export { runSteps, StepBudget, LivelockError } from "./core/steps.js";
export { smpMb, wmb } from "./core/barriers.js";
export { Rcu, RcuPointer, KernelBugError, KernelOopsError, UseAfterFreeError } from "./core/rcu.js";
export { newLock, readLock, readUnlock, writeLock, writeUnlock, mutexLocked, type Mutex, type RwLock } from "./core/rwlock.js";
export { EBUSY, EEXIST, EINVAL, EIO, ENODEV, ENOENT, ENOMEM, ENOSPC, EOPNOTSUPP, EOVERFLOW, ETIMEDOUT, ErrPtr, isErr, errnoName } from "./core/errno.js";
export type { Clock } from "./core/clock.js";
export type { Memory } from "./core/memory.js";

/* ---- The invalidation-array algebra, as the kernel names it ---- */
export {
  ATS,
  ATS_FULL,
  Invs,
  InvView,
  S1_ASID,
  S2_VMID,
  S2_VMID_S1_CLEAR,
  S2_VMID_VSMMU,
  invsAlloc,
  invsFrom,
  invsMerge,
  invsPurge,
  invsUnref,
  type InvInit,
  type InvType,
} from "../plugins/driver-invs/invs.js";
export { MAINLINE, SHARE, V9, type DriverVariant } from "../plugins/driver-invs/variant.js";

/** Simulator options; the plugins default to the built-in ones. */
export type SimulatorOptions = Omit<PlatformOptions, "registry"> & { registry?: PluginRegistry };

/** A registry holding the built-in plugins. */
export function builtinRegistry(): PluginRegistry {
  const r = new PluginRegistry();
  for (const p of builtinPlugins()) r.register(p, { builtin: true });
  return r;
}

/**
 * One emulated platform running one driver (src/engine/simulator.ts), with
 * the built-in plugins unless `options.registry` says otherwise. The
 * topology is checked first, as `smmu-emu validate` checks a file: a bad one
 * throws TopologyError with the same messages, each at its JSON Pointer.
 */
export class Simulator extends PlatformSimulator {
  constructor(topology: Topology, options: SimulatorOptions = {}) {
    const registry = options.registry ?? builtinRegistry();
    checkTopology(topology, registry);
    super(topology, { ...options, registry });
  }
}

import { builtinPlugins } from "../plugins/index.js";
