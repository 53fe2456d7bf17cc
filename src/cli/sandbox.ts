/**
 * What the worker thread that runs user plugins (run-worker.ts) does about
 * code that outlives its call: a scenario runs synchronously, so a timer a
 * plugin sets there could only fire after the scenario is judged. Such a
 * timer (setTimeout, setInterval, setImmediate, from node:timers and
 * node:timers/promises too) is never scheduled: left pending at the end of
 * the scenario it is a failure of the plugin that set it, at the statement
 * that was running. A microtask or nextTick it queues runs, as its own code;
 * what one throws, and a promise of its rejected with nothing to catch it,
 * are its failures too. process.exit() from a plugin throws, and is a
 * failure even if the plugin catches that. Code that is no plugin's (the
 * engine, the module loader) is left alone.
 */
import { createRequire, syncBuiltinESMExports } from "node:module";
import { promiseHooks } from "node:v8";
import { PluginMisuseError } from "../core/bus.js";
import type { Span } from "../core/diagnostics.js";
import type { Failure } from "../engine/runner.js";
import { inPlugin, runningPlugin, type PluginCall } from "../plugin/running.js";

/** What a plugin did that is found out after its call returned. */
interface Fault {
  call: PluginCall | undefined;
  at: Span;
  message: string;
}

/** A timer that was never scheduled; what clearTimeout() and its methods need of one. */
class UnscheduledTimer {
  private static next = 1;
  readonly id = UnscheduledTimer.next++;
  constructor(readonly unclear: () => void) {}
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return false;
  }
  refresh(): this {
    return this;
  }
  close(): this {
    this.unclear();
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Sandbox {
  /** The statement running (the scenario, while its platform is set up). */
  at: Span = { file: "", line: 1, column: 1 };
  private readonly pending = new Map<number, Fault>();
  private faults: Fault[] = [];
  private readonly origins = new WeakMap<Promise<unknown>, { call: PluginCall; at: Span }>();

  /** Patch the globals of this thread; once. */
  install(): void {
    this.holdTimers();
    const realMicrotask = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) => realMicrotask(this.own(fn, "a queueMicrotask callback"));
    const realTick = process.nextTick.bind(process);
    process.nextTick = (fn: (...a: unknown[]) => void, ...args: unknown[]) => realTick(this.own(() => fn(...args), "a process.nextTick callback"));
    promiseHooks.onInit((promise, parent) => {
      const call = runningPlugin();
      const origin = call ? { call, at: this.at } : parent && this.origins.get(parent as Promise<unknown>);
      if (origin) this.origins.set(promise as Promise<unknown>, origin);
    });
    process.on("unhandledRejection", (reason, promise) => {
      const o = this.origins.get(promise);
      this.faults.push({ call: o?.call, at: o?.at ?? this.at, message: `let a promise${made(o?.call, "it made")} be rejected with nothing to catch it: ${describe(reason)}` });
    });
    process.on("uncaughtException", (err) => {
      const call = runningPlugin();
      this.faults.push({ call, at: this.at, message: `threw an exception nothing caught${made(call, "")}: ${describe(err)}` });
    });
    process.exit = ((code?: number | string | null) => {
      const call = runningPlugin();
      const what = `called process.exit(${code ?? ""})${made(call, "")}`;
      this.faults.push({ call, at: this.at, message: what });
      if (call) throw new PluginMisuseError(call.plugin, call.event, what);
      throw new Error(`${what} in the run's worker thread`);
    }) as typeof process.exit;
  }

  /** Patch this thread's timers only: a plugin's are never scheduled, pending until it clears them. */
  holdTimers(): void {
    const timers = createRequire(import.meta.url)("node:timers") as Record<string, unknown>;
    const promises = createRequire(import.meta.url)("node:timers/promises") as Record<string, unknown>;
    for (const name of ["setTimeout", "setInterval", "setImmediate"] as const) {
      const real = globalThis[name] as (...a: unknown[]) => unknown;
      const patched = (...args: unknown[]): unknown => (runningPlugin() ? this.unscheduled(name) : real(...args));
      (globalThis as Record<string, unknown>)[name] = timers[name] = patched;
      const realPromise = promises[name] as (...a: unknown[]) => unknown;
      promises[name] = (...args: unknown[]): unknown => {
        if (!runningPlugin()) return realPromise(...args);
        this.unscheduled(`timers/promises ${name}`);
        return new Promise(() => {});
      };
    }
    for (const name of ["clearTimeout", "clearInterval", "clearImmediate"] as const) {
      const real = globalThis[name] as (h: unknown) => void;
      const patched = (h: unknown): void => {
        if (h instanceof UnscheduledTimer) h.unclear();
        else if (typeof h === "number" && this.pending.has(h)) this.pending.delete(h);
        else real(h);
      };
      (globalThis as Record<string, unknown>)[name] = timers[name] = patched;
    }
    syncBuiltinESMExports();
  }

  /** A timer a plugin set, never scheduled: pending until it is cleared. */
  private unscheduled(what: string): UnscheduledTimer {
    const call = runningPlugin()!;
    const timer = new UnscheduledTimer(() => this.pending.delete(timer.id));
    this.pending.set(timer.id, { call, at: this.at, message: `set a ${what}${made(call, "")} and left it pending: a plugin's timer never runs within a scenario` });
    return timer;
  }

  /** `fn`, queued by a plugin, run as its code, what it throws its failure. */
  private own(fn: () => void, what: string): () => void {
    const call = runningPlugin();
    if (!call) return fn;
    const at = this.at;
    return () => {
      try {
        inPlugin(call, fn);
      } catch (err) {
        this.faults.push({ call, at, message: `threw from ${what}${made(call, "it queued")}: ${describe(err)}` });
      }
    };
  }

  /**
   * After a scenario (and a turn of the event loop for its microtasks and
   * rejections): the failures its plugins left, each once (one already
   * among `failures` is not repeated), the pending timers cancelled.
   */
  take(failures: readonly Failure[]): Failure[] {
    const seen = new Set(failures.map((f) => f.message));
    const out: Failure[] = [];
    for (const f of [...this.faults, ...this.pending.values()]) {
      const message = f.call ? `plugin "${f.call.plugin}" ${f.message}` : f.message;
      if (seen.has(message)) continue;
      seen.add(message);
      out.push({ span: f.at, message, kind: "plugin" });
    }
    this.faults = [];
    this.pending.clear();
    return out;
  }
}

/** " it set handling "EVENT"": in which of its calls a plugin did it. */
function made(call: PluginCall | undefined, what: string): string {
  return call ? `${what ? ` ${what}` : ""} handling "${call.event}"` : "";
}

let held = false;

/**
 * On the command's own thread, where a file's plugins are loaded and their
 * setup() runs while the file is checked: a timer a plugin sets there is
 * never scheduled (the run on the worker thread, which sets the plugin up
 * again, is where it is reported). Once per process.
 */
export function holdPluginTimers(): void {
  if (held) return;
  held = true;
  new Sandbox().holdTimers();
}
