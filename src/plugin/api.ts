/**
 * The plugin API: every model, built in or not, is a plugin defined with
 * `definePlugin` and set up with a context holding the bus, the clock, memory
 * and the platform. Versioned by PLUGIN_API_VERSION.
 */
import type { Clock } from "../core/clock.js";
import type { BusNotifications, NotificationName, ReplyOf, RequestName, RequestOf } from "../model/events.js";
import type { Memory } from "../core/memory.js";
import type { IommuDriver } from "../model/driver.js";
import type { EndpointNode, SmmuNode, VsmmuNode } from "../model/nodes.js";
import type { Leaf } from "../model/page-table.js";
import type { DeviceSpec, DriverSpec, SmmuSpec, Topology, VsmmuSpec } from "../model/topology.js";
import type { Platform } from "./platform.js";

export const PLUGIN_API_VERSION = 1;

/** A JSON Schema (draft 2020-12) object. */
export type JsonSchema = Record<string, unknown>;

/** A plugin's doors to the bus: what a model that talks to others needs. */
export type BusPort = Pick<PluginContext<unknown>, "emit" | "request">;

/**
 * A page table as a plugin may read it: what `ctx.pageTable()` gives for a
 * translation's `backing[].table`. The live table, so a lookup answers
 * with what it maps now (undefined once the driver unmapped it).
 */
export interface PageTableView {
  /** The smallest page size. */
  readonly granule: number;
  /** The leaf translating `addr`, if any. */
  lookup(addr: number): Leaf | undefined;
  /** Every leaf, in address order. */
  entries(): Leaf[];
}

/** What a plugin's setup receives. */
export interface PluginContext<Spec> {
  /** The plugin's name. */
  readonly plugin: string;
  /** The node it models (DRIVER_NODE, "driver", for the driver). */
  readonly node: string;
  /** The node's validated properties. */
  readonly spec: Spec;
  readonly topology: Topology;
  readonly clock: Clock;
  /**
   * Physical memory holding the driver's tables, for the built-in models:
   * `memory.deref(pa, Class)` needs the class of the copy of smmu-emu that
   * runs, which a plugin's own import may not be. Read page tables with
   * `pageTable()`.
   */
  readonly memory: Memory;
  readonly platform: Platform;
  /** The page table at `pa` (a translation's `backing[].table`), or undefined if `pa` holds none (freed, or not a page table). */
  pageTable(pa: bigint): PageTableView | undefined;
  /** Subscribe to a notification, errors attributed to this plugin. */
  on<K extends NotificationName>(event: K, fn: (payload: BusNotifications[K]) => void): void;
  /** Broadcast a notification (its shape is checked). */
  emit<K extends NotificationName>(event: K, payload: BusNotifications[K]): void;
  /** Ask the node `target` (the request's shape is checked). */
  request<K extends RequestName>(event: K, target: string, req: RequestOf<K>): ReplyOf<K>;
  /** Answer requests addressed to `target` (the reply's shape is checked). */
  serve<K extends RequestName>(event: K, target: string, fn: (req: RequestOf<K>) => ReplyOf<K>): void;
  /** Wrap whatever answers `event` for `target` (a model this plugin extends). */
  intercept<K extends RequestName>(
    event: K,
    target: string,
    fn: (req: RequestOf<K>, next: (req: RequestOf<K>) => ReplyOf<K>) => ReplyOf<K>,
  ): void;
  /** Values `expect state` may read, by key; set as the model runs. */
  readonly state: Map<string, number | string | boolean>;
}

interface PluginBase {
  readonly name: string;
  readonly version: string;
  /**
   * The built-in (or other) plugin of the same kind this one extends: its
   * setup runs first, for the same node, with a context of its own (its
   * name in `ctx.plugin`, its handlers' errors attributed to it) sharing
   * the node's spec and `state`; this plugin's setup gets the node it made
   * (to wrap with ctx.intercept, or to return as is).
   */
  readonly extends?: string;
  /** The plugin API versions this plugin works with. */
  readonly apiVersions: readonly number[];
  readonly description: string;
  /** JSON Schema of the node's properties. */
  readonly schema: JsonSchema;
}

export interface SmmuPlugin extends PluginBase {
  readonly kind: "smmu";
  setup(ctx: PluginContext<SmmuSpec>, base?: SmmuNode): SmmuNode;
}

export interface DevicePlugin extends PluginBase {
  readonly kind: "device";
  setup(ctx: PluginContext<DeviceSpec>, base?: EndpointNode): EndpointNode;
}

export interface VsmmuPlugin extends PluginBase {
  readonly kind: "vsmmu";
  setup(ctx: PluginContext<VsmmuSpec>, base?: VsmmuNode): VsmmuNode;
}

export interface DriverPlugin extends PluginBase {
  readonly kind: "driver";
  /** Variants the driver models; the first is the default. */
  readonly variants: readonly string[];
  setup(ctx: PluginContext<DriverSpec>, base?: IommuDriver): IommuDriver;
}

export type Plugin = SmmuPlugin | DevicePlugin | VsmmuPlugin | DriverPlugin;
export type PluginKind = Plugin["kind"];

/** Declare a plugin. Checks its shape; the registry checks the API version. */
export function definePlugin<P extends Plugin>(plugin: P): P {
  if (!/^[a-z][a-z0-9-]*$/.test(plugin.name)) {
    throw new Error(`plugin name "${plugin.name}" must be lower-case letters, digits and dashes`);
  }
  if (typeof plugin.setup !== "function") throw new Error(`plugin "${plugin.name}" has no setup()`);
  return Object.freeze(plugin);
}
