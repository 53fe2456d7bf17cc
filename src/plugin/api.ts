/**
 * The plugin API: every model, built in or not, is a plugin defined with
 * `definePlugin` and set up with a context holding the bus, the clock, memory
 * and the platform. Versioned by PLUGIN_API_VERSION.
 */
import type { Bus } from "../core/bus.js";
import type { Clock } from "../core/clock.js";
import type { BusNotifications, NotificationName, ReplyOf, RequestName, RequestOf } from "../core/events.js";
import type { Memory } from "../core/memory.js";
import type { IommuDriver } from "../model/driver.js";
import type { EndpointNode, SmmuNode, VsmmuNode } from "../model/nodes.js";
import type { DeviceSpec, DriverSpec, SmmuSpec, Topology, VsmmuSpec } from "../model/topology.js";
import type { Platform } from "./platform.js";

export const PLUGIN_API_VERSION = 1;

/** A JSON Schema (draft 2020-12) object. */
export type JsonSchema = Record<string, unknown>;

/** What a plugin's setup receives. */
export interface PluginContext<Spec> {
  /** The plugin's name. */
  readonly plugin: string;
  /** The node it models ("driver" for the driver). */
  readonly node: string;
  /** The node's validated properties. */
  readonly spec: Spec;
  readonly topology: Topology;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly memory: Memory;
  readonly platform: Platform;
  /** Subscribe to a notification, errors attributed to this plugin. */
  on<K extends NotificationName>(event: K, fn: (payload: BusNotifications[K]) => void): void;
  /** Answer requests addressed to `target`. */
  serve<K extends RequestName>(event: K, target: string, fn: (req: RequestOf<K>) => ReplyOf<K>): void;
}

interface PluginBase {
  readonly name: string;
  readonly version: string;
  /** The plugin API versions this plugin works with. */
  readonly apiVersions: readonly number[];
  readonly description: string;
  /** JSON Schema of the node's properties. */
  readonly schema: JsonSchema;
}

export interface SmmuPlugin extends PluginBase {
  readonly kind: "smmu";
  setup(ctx: PluginContext<SmmuSpec>): SmmuNode;
}

export interface DevicePlugin extends PluginBase {
  readonly kind: "device";
  setup(ctx: PluginContext<DeviceSpec>): EndpointNode;
}

export interface VsmmuPlugin extends PluginBase {
  readonly kind: "vsmmu";
  setup(ctx: PluginContext<VsmmuSpec>): VsmmuNode;
}

export interface DriverPlugin extends PluginBase {
  readonly kind: "driver";
  /** Variants the driver models; the first is the default. */
  readonly variants: readonly string[];
  setup(ctx: PluginContext<DriverSpec>): IommuDriver;
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
