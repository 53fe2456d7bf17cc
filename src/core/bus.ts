/**
 * The typed event bus every model talks through. Notifications go over
 * eventemitter3 (synchronous, in subscription order); requests are addressed
 * to one node and answered by the single handler its plugin serves. A handler
 * that throws is reported with the plugin and event it belongs to.
 */
import { EventEmitter } from "eventemitter3";
import type { BusNotifications, NotificationName, ReplyOf, RequestName, RequestOf } from "../model/events.js";

type NotificationArgs = { [K in NotificationName]: [BusNotifications[K]] };

/** A plugin's handler failed; `cause` is what it threw. */
export class HandlerError extends Error {
  constructor(
    readonly plugin: string,
    readonly event: string,
    override readonly cause: unknown,
  ) {
    super(`plugin "${plugin}" failed handling "${event}": ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "HandlerError";
  }
}

/** A plugin emitted, requested or answered something of the wrong shape. */
export class MalformedEventError extends Error {
  constructor(
    readonly plugin: string,
    readonly event: string,
    readonly problem: string,
  ) {
    super(`plugin "${plugin}" sent a malformed "${event}": ${problem}`);
    this.name = "MalformedEventError";
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

function guard<A extends unknown[], R>(plugin: string, event: string, fn: (...a: A) => R): (...a: A) => R {
  return (...a: A): R => {
    try {
      return fn(...a);
    } catch (err) {
      if (err instanceof HandlerError || err instanceof MalformedEventError) throw err;
      throw new HandlerError(plugin, event, err);
    }
  };
}

export class Bus {
  private readonly events = new EventEmitter<NotificationArgs>();
  private readonly servers = new Map<string, (req: never) => unknown>();

  /** Subscribe `plugin` to a notification. */
  on<K extends NotificationName>(event: K, plugin: string, fn: (payload: BusNotifications[K]) => void): void {
    this.events.on(event, guard(plugin, event, fn) as never);
  }

  emit<K extends NotificationName>(event: K, payload: BusNotifications[K]): void {
    (this.events.emit as (e: K, p: BusNotifications[K]) => boolean)(event, payload);
  }

  /** Answer `event` requests addressed to `target` (a node name or "smmu0#0x100"). */
  serve<K extends RequestName>(event: K, target: string, plugin: string, fn: (req: RequestOf<K>) => ReplyOf<K>): void {
    const key = `${event}@${target}`;
    if (this.servers.has(key)) throw new Error(`"${event}" for ${target} is already served`);
    this.servers.set(key, guard(plugin, event, fn) as (req: never) => unknown);
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
    const key = `${event}@${target}`;
    const inner = this.servers.get(key) as ((r: RequestOf<K>) => ReplyOf<K>) | undefined;
    if (!inner) throw new NoHandlerError(event, target);
    this.servers.set(key, guard(plugin, event, (req: RequestOf<K>) => fn(req, inner)) as (req: never) => unknown);
  }

  /** Whether some node answers `event` for `target`. */
  serves(event: RequestName, target: string): boolean {
    return this.servers.has(`${event}@${target}`);
  }

  request<K extends RequestName>(event: K, target: string, req: RequestOf<K>): ReplyOf<K> {
    const fn = this.servers.get(`${event}@${target}`) as ((r: RequestOf<K>) => ReplyOf<K>) | undefined;
    if (!fn) throw new NoHandlerError(event, target);
    return fn(req);
  }
}
