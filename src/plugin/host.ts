/**
 * The plugin host: sets up the plugin of each node of a platform (after the
 * plugins it extends, on the same node) and gives each its context, so that
 * a plugin's handler errors and malformed events are attributed to it. A
 * user's plugin meets the bus through untrusted doors (plugin/untrusted.ts:
 * what it sends is shape-checked and copied, what it is given is a frozen
 * copy); a built-in one goes straight to the bus, or through shape checks
 * when every plugin is to be checked (`checkPlugins`): its events are the
 * hot path of every run.
 */
import { Bus, HandlerError, PluginFault } from "../core/bus.js";
import type { Clock } from "../core/clock.js";
import { checkNotification, checkReply, checkRequest } from "../core/event-shapes.js";
import type { Memory } from "../core/memory.js";
import type { IommuDriver } from "../model/driver.js";
import type { EndpointNode, SmmuNode, VsmmuNode } from "../model/nodes.js";
import { PageTable } from "../model/page-table.js";
import type { DeviceSpec, DriverSpec, SmmuSpec, Topology, VsmmuSpec } from "../model/topology.js";
import type { Plugin, PluginContext, PluginKind } from "./api.js";
import type { Platform } from "./platform.js";
import type { PluginRegistry } from "./registry.js";
import { Nesting, readOnly, shapeChecker, untrustedDoors, untrustedSetup } from "./untrusted.js";

export type SpecOf<K extends PluginKind> = K extends "smmu" ? SmmuSpec : K extends "device" ? DeviceSpec : K extends "vsmmu" ? VsmmuSpec : DriverSpec;
export type NodeOf<K extends PluginKind> = K extends "smmu" ? SmmuNode : K extends "device" ? EndpointNode : K extends "vsmmu" ? VsmmuNode : IommuDriver;

/** What every plugin of one platform shares. */
export interface HostServices {
  readonly bus: Bus;
  readonly clock: Clock;
  readonly memory: Memory;
  readonly platform: Platform;
  readonly topology: Topology;
}

export class PluginHost {
  /** The values plugins exposed for `expect state`, by node. */
  readonly states = new Map<string, Map<string, number | string | boolean>>();

  constructor(
    private readonly registry: PluginRegistry,
    private readonly services: HostServices,
    /** Check the events of built-in plugins too (a user's are always checked). */
    private readonly checkPlugins = false,
  ) {}

  /** Set up `node` with the plugin `name` (the kind's default if undefined), after the plugin it extends (if any) on the same node. */
  setup<K extends PluginKind>(kind: K, name: string | undefined, node: string, spec: SpecOf<K>): NodeOf<K> {
    const plugin = this.registry.resolve(kind, name);
    const base = plugin.extends === undefined ? undefined : this.setup(kind, plugin.extends, node, spec);
    const ctx = this.context(plugin, node, spec);
    const setup = (): NodeOf<K> => (plugin.setup as (c: PluginContext<SpecOf<K>>, b?: NodeOf<K>) => NodeOf<K>)(ctx, base);
    let made: NodeOf<K>;
    try {
      made = this.registry.isBuiltin(plugin.name) ? setup() : untrustedSetup(plugin.name, setup);
    } catch (err) {
      if (err instanceof PluginFault) throw err;
      throw new HandlerError(plugin.name, "setup", err);
    }
    /* what setup() returns is the node's model: the engine reads it at once (its name, its handlers) */
    if (made === null || typeof made !== "object") {
      throw new HandlerError(plugin.name, "setup", new TypeError(`setup() returned ${made === null ? "null" : typeof made}, not the ${kind} node's model`));
    }
    return made;
  }

  /** How deep the user plugins' calls into the bus are nested. */
  private readonly nesting = new Nesting();
  /** The topology as user plugins read it (a frozen copy, made once). */
  private frozenTopology: Topology | undefined;

  /** What a plugin gets: the bus (through checked doors unless the plugin is trusted), and its node's state for `expect state`. */
  private context<S>(plugin: Plugin, node: string, spec: S): PluginContext<S> {
    const { bus, clock, memory, platform, topology } = this.services;
    const name = plugin.name;
    let state = this.states.get(node);
    if (!state) this.states.set(node, (state = new Map()));
    if (!this.registry.isBuiltin(name)) {
      /* a user's plugin reads copies, and sends through doors that check and copy what it sends */
      const doors = untrustedDoors(bus, memory, name, plugin.kind, node, this.nesting);
      return { plugin: name, node, spec: readOnly(spec), topology: (this.frozenTopology ??= readOnly(topology)), clock, memory, platform, state, ...doors };
    }
    const doors = this.checkPlugins ? checkedDoors(bus, name) : trustedDoors(bus, name);
    return { plugin: name, node, spec, topology, clock, memory, platform, state, pageTable: (pa) => memory.deref(pa, PageTable), on: (event, fn) => bus.on(event, name, fn), ...doors };
  }
}

type Doors = Pick<PluginContext<unknown>, "emit" | "request" | "serve" | "intercept">;

/** A built-in plugin's way onto the bus: straight through. */
function trustedDoors(bus: Bus, name: string): Doors {
  return {
    emit: (event, payload) => bus.emit(event, payload),
    request: (event, target, req) => bus.request(event, target, req),
    serve: (event, target, fn) => bus.serve(event, target, name, fn),
    intercept: (event, target, fn) => bus.intercept(event, target, name, fn),
  };
}

/** A built-in plugin's way onto the bus under --check-plugins: every payload, request and reply it sends is shape-checked, and blamed on it. */
function checkedDoors(bus: Bus, name: string): Doors {
  const checked = shapeChecker(name);
  return {
    emit: (event, payload) => bus.emit(event, checked(event, "", checkNotification(event, payload), payload)),
    request: (event, target, req) => bus.request(event, target, checked(event, "request", checkRequest(event, req), req)),
    serve: (event, target, fn) =>
      bus.serve(event, target, name, (req) => {
        const reply = fn(req);
        return checked(event, "reply", checkReply(event, reply), reply);
      }),
    intercept: (event, target, fn) =>
      bus.intercept(event, target, name, (req, next) => {
        /* what this plugin passes on is its request, checked as ctx.request checks one */
        const reply = fn(req, (r) => next(checked(event, "request", checkRequest(event, r), r)));
        return checked(event, "reply", checkReply(event, reply), reply);
      }),
  };
}
