/**
 * The typed event bus every model talks through. Notifications go over
 * eventemitter3 (synchronous, in subscription order); requests are addressed
 * to one node and answered by the single handler its plugin serves, found in
 * a table per event (no key is built per request). A handler that throws is
 * reported with the plugin and event it belongs to.
 */
import { EventEmitter } from "eventemitter3";
import type { BusNotifications, NotificationName, ReplyOf, RequestName, RequestOf } from "../model/events.js";

type NotificationArgs = { [K in NotificationName]: [BusNotifications[K]] };

/** Something a plugin did wrong, attributed to it and to the event (or "setup") it was handling. */
export class PluginFault extends Error {
  constructor(
    readonly plugin: string,
    readonly event: string,
    message: string,
  ) {
    super(message);
    this.name = "PluginFault";
  }
}

/** A plugin's handler failed; `cause` is what it threw. */
export class HandlerError extends PluginFault {
  constructor(
    plugin: string,
    event: string,
    override readonly cause: unknown,
  ) {
    super(plugin, event, `plugin "${plugin}" failed handling "${event}": ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "HandlerError";
  }
}

/** A plugin emitted, requested or answered something of the wrong shape. */
export class MalformedEventError extends PluginFault {
  constructor(
    plugin: string,
    event: string,
    readonly problem: string,
  ) {
    super(plugin, event, `plugin "${plugin}" sent a malformed "${event}": ${problem}`);
    this.name = "MalformedEventError";
  }
}

/**
 * A user's plugin did what no plugin may: changed what it was given to
 * read, emitted another model's notification, re-entered the bus without
 * end, called process.exit(), left a timer running, ran out of time.
 */
export class PluginMisuseError extends PluginFault {
  constructor(plugin: string, event: string, what: string) {
    super(plugin, event, `plugin "${plugin}" ${what}`);
    this.name = "PluginMisuseError";
  }
}

/** No node answers a request (a StreamID no endpoint owns, an unknown SMMU). */
export class NoHandlerError extends Error {
  constructor(
    readonly event: string,
    readonly target: string,
  ) {
    super(`nothing on the platform answers "${event}" for ${target}`);
    this.name = "NoHandlerError";
  }
}

/** `fn` with what it throws attributed to `plugin` and `event` (one argument: no rest array per call). */
function guard<A, R>(plugin: string, event: string, fn: (a: A) => R): (a: A) => R {
  return (a: A): R => {
    try {
      return fn(a);
    } catch (err) {
      if (err instanceof PluginFault) throw err;
      throw new HandlerError(plugin, event, err);
    }
  };
}

type Handler = (req: never) => unknown;

export class Bus {
  private readonly events = new EventEmitter<NotificationArgs>();
  /** Per request event, the handler of each target. */
  private readonly servers = new Map<RequestName, Map<string, Handler>>();

  private table(event: RequestName): Map<string, Handler> {
    let t = this.servers.get(event);
    if (!t) this.servers.set(event, (t = new Map()));
    return t;
  }

  /** Subscribe `plugin` to a notification. */
  on<K extends NotificationName>(event: K, plugin: string, fn: (payload: BusNotifications[K]) => void): void {
    this.events.on(event, guard(plugin, event, fn) as never);
  }

  /** Whether anyone listens to `event`: a payload nobody hears need not be made. */
  hears(event: NotificationName): boolean {
    return this.events.listenerCount(event) > 0;
  }

  emit<K extends NotificationName>(event: K, payload: BusNotifications[K]): void {
    (this.events.emit as (e: K, p: BusNotifications[K]) => boolean)(event, payload);
  }

  /** Answer `event` requests addressed to `target` (a node name or "smmu0#0x100"). */
  serve<K extends RequestName>(event: K, target: string, plugin: string, fn: (req: RequestOf<K>) => ReplyOf<K>): void {
    const table = this.table(event);
    if (table.has(target)) throw new Error(`"${event}" for ${target} is already served`);
    table.set(target, guard(plugin, event, fn) as Handler);
  }

  /**
   * Wrap the handler that answers `event` for `target`: `fn` gets the request
   * and the handler it wraps (a plugin adding a quirk to a model it extends).
   */
  intercept<K extends RequestName>(
    event: K,
    target: string,
    plugin: string,
    fn: (req: RequestOf<K>, next: (req: RequestOf<K>) => ReplyOf<K>) => ReplyOf<K>,
  ): void {
    const table = this.table(event);
    const inner = table.get(target) as ((r: RequestOf<K>) => ReplyOf<K>) | undefined;
    if (!inner) throw new NoHandlerError(event, target);
    table.set(target, guard(plugin, event, (req: RequestOf<K>) => fn(req, inner)) as Handler);
  }

  /** Whether some node answers `event` for `target`. */
  serves(event: RequestName, target: string): boolean {
    return this.servers.get(event)?.has(target) ?? false;
  }

  request<K extends RequestName>(event: K, target: string, req: RequestOf<K>): ReplyOf<K> {
    const fn = this.servers.get(event)?.get(target) as ((r: RequestOf<K>) => ReplyOf<K>) | undefined;
    if (!fn) throw new NoHandlerError(event, target);
    return fn(req);
  }
}
