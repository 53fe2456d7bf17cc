/**
 * What a user's plugin meets on the bus, so that it cannot forge a verdict:
 * every payload, request and reply it is given is a frozen copy (what the
 * oracle, the SMMU model and the command log hold stays theirs), and what it
 * hands over is copied in turn (a copy it was given goes back as the
 * original); it emits only its own model's notifications, about its own
 * node; its calls into the bus nest only so deep; a write to what it was
 * given, and all it throws, are failures naming it and the event. Each call
 * into it is marked as running (plugin/running.ts). Built-in plugins skip
 * all of this: their events are the hot path of every run.
 */
import { Bus, MalformedEventError, PluginMisuseError } from "../core/bus.js";
import { checkNotification, checkReply, checkRequest } from "../core/event-shapes.js";
import type { Memory } from "../core/memory.js";
import type { BusNotifications, NotificationName } from "../model/events.js";
import { PageTable } from "../model/page-table.js";
import type { PageTableView, PluginContext, PluginKind } from "./api.js";
import { inPlugin, type PluginCall } from "./running.js";

/** Read-only copies made, to the values they copy. */
const originals = new WeakMap<object, object>();

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * `v` as a plugin may read it: plain objects and arrays copied and frozen,
 * all the way down (anything else, a generator of steps say, as it is).
 */
export function readOnly<T>(v: T): T {
  if (typeof v !== "object" || v === null || originals.has(v)) return v;
  let copy: object;
  if (Array.isArray(v)) copy = v.map(readOnly);
  else if (isPlain(v)) copy = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, readOnly(x)]));
  else return v;
  originals.set(Object.freeze(copy), v);
  return copy as T;
}

/** What a plugin hands over, as the engine may keep it: its own objects copied, a copy it was given the original again. */
function handOver<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  const o = originals.get(v);
  if (o) return o as T;
  if (Array.isArray(v)) return v.map(handOver) as T;
  if (isPlain(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, handOver(x)])) as T;
  return v;
}

/** What V8 throws, in strict code, for a write to a frozen object. */
function isReadOnlyWrite(err: unknown): err is TypeError {
  return err instanceof TypeError && /read only property|not extensible|Cannot delete property|Cannot redefine property/.test(err.message);
}

/** The kinds of plugin whose model sends each notification, and the node a payload is about (to be the plugin's own). */
const SENDERS: { readonly [K in NotificationName]: { kinds: readonly PluginKind[]; node?: (p: BusNotifications[K]) => string } } = {
  "cmd:queued": { kinds: ["smmu"], node: (p) => p.smmu },
  "walk:cached": { kinds: ["smmu"], node: (p) => p.smmu },
  "cache:fill": { kinds: ["smmu", "device"], node: (p) => p.cache.split(".")[0]! },
  "ep:atc-inv-done": { kinds: ["device"], node: (p) => p.device },
  "dma:served": { kinds: ["device"], node: (p) => p.device },
  "dma:forbidden": { kinds: ["device"], node: (p) => p.device },
  "ep:ats": { kinds: ["device"], node: (p) => p.device },
  "cpu:sync-wait": { kinds: ["driver"] },
  "driver:warn": { kinds: ["driver"] },
  "driver:log": { kinds: ["driver"] },
  "driver:errno": { kinds: ["driver"] },
  "invs:publish": { kinds: ["driver"] },
  "invs:trim": { kinds: ["driver"] },
  "pgtable:unmap": { kinds: [] },
  "pgtable:free": { kinds: [] },
  "cache:lookup": { kinds: ["smmu", "device"], node: (p) => p.cache.split(".")[0]! },
  "cache:invalidate": { kinds: ["smmu", "device"], node: (p) => p.cache.split(".")[0]! },
  "walk:done": { kinds: ["smmu"], node: (p) => p.smmu },
  "dma:done": { kinds: [] },
};

/** Why a `kind` plugin of `node` may not send `event` with `payload`, or null. */
function senderProblem<K extends NotificationName>(kind: PluginKind, node: string, event: K, payload: BusNotifications[K]): string | null {
  const s = SENDERS[event] as { kinds: readonly PluginKind[]; node?: (p: BusNotifications[K]) => string };
  if (!s.kinds.includes(kind)) {
    const by = s.kinds.length ? `a ${s.kinds.join(" or ")} model's` : "the iommu core's";
    return `may not emit "${event}": that notification is ${by}, and it models a ${kind}`;
  }
  const about = s.node?.(payload);
  return about === undefined || about === node ? null : `may not emit "${event}" for ${about}: it models ${node}`;
}

/** `value`, or a MalformedEventError of plugin `name` when its shape has a `problem` (`what`: "request", "reply", or "" for a notification). */
export function shapeChecker(name: string): <T>(event: string, what: string, problem: string | null, value: T) => T {
  return (event, what, problem, value) => {
    if (problem) throw new MalformedEventError(name, event, what ? `${what}: ${problem}` : problem);
    return value;
  };
}

/** Calls into the bus nested deeper than this, through user plugins, are a plugin re-entering itself. */
const MAX_PLUGIN_NESTING = 32;

/** What the untrusted plugins of one platform share: how deep their calls into the bus are nested. */
export class Nesting {
  depth = 0;
}

type Doors = Pick<PluginContext<unknown>, "on" | "emit" | "request" | "serve" | "intercept" | "pageTable">;

/** The bus doors of the user's plugin `name`, which models a `kind` (its node `node`). */
export function untrustedDoors(bus: Bus, memory: Memory, name: string, kind: PluginKind, node: string, nesting: Nesting): Doors {
  const calls = new Map<string, PluginCall>();
  const callOf = (event: string): PluginCall => {
    let c = calls.get(event);
    if (!c) calls.set(event, (c = { plugin: name, event }));
    return c;
  };
  const run = <T>(event: string, f: () => T): T => ownCode(callOf(event), f);
  /* the plugin calling into the bus, nested in its own handlers */
  const call = <T>(event: string, f: () => T): T => {
    if (nesting.depth >= MAX_PLUGIN_NESTING) {
      throw new PluginMisuseError(name, event, `re-entered the bus more than ${MAX_PLUGIN_NESTING} deep sending "${event}" (a handler that causes itself to run again)`);
    }
    nesting.depth++;
    try {
      return f();
    } finally {
      nesting.depth--;
    }
  };
  const checked = shapeChecker(name);
  return {
    on: (event, fn) => bus.on(event, name, (p) => run(event, () => fn(readOnly(p)))),
    emit: (event, payload) => {
      checked(event, "", checkNotification(event, payload), payload);
      const problem = senderProblem(kind, node, event, payload);
      if (problem) throw new PluginMisuseError(name, event, problem);
      call(event, () => bus.emit(event, handOver(payload)));
    },
    request: (event, target, req) => readOnly(call(event, () => bus.request(event, target, handOver(checked(event, "request", checkRequest(event, req), req))))),
    serve: (event, target, fn) =>
      bus.serve(event, target, name, (req) =>
        run(event, () => {
          const reply = fn(readOnly(req));
          return handOver(checked(event, "reply", checkReply(event, reply), reply));
        }),
      ),
    intercept: (event, target, fn) =>
      bus.intercept(event, target, name, (req, next) =>
        run(event, () => {
          /* what this plugin passes on is its request, checked as ctx.request checks one */
          const reply = fn(readOnly(req), (r) => readOnly(call(event, () => next(handOver(checked(event, "request", checkRequest(event, r), r))))));
          return handOver(checked(event, "reply", checkReply(event, reply), reply));
        }),
      ),
    pageTable: (pa) => {
      const t = memory.deref(pa, PageTable);
      if (!t) return undefined;
      const view: PageTableView = { granule: t.granule, lookup: (addr) => readOnly(t.lookup(addr)), entries: () => readOnly(t.entries()) };
      return Object.freeze(view);
    },
  };
}

/** The user plugin's code run as `call`: marked as running; a write to what it was given is its failure. */
function ownCode<T>(call: PluginCall, f: () => T): T {
  return inPlugin(call, () => {
    try {
      return f();
    } catch (err) {
      if (isReadOnlyWrite(err)) throw new PluginMisuseError(call.plugin, call.event, `changed what it was given handling "${call.event}", which is read-only: ${err.message}`);
      throw err;
    }
  });
}

/** Run the setup of the user's plugin `name` as its own code. */
export function untrustedSetup<T>(name: string, f: () => T): T {
  return ownCode({ plugin: name, event: "setup" }, f);
}
