/**
 * Which user plugin's code is running, and for which event: set around
 * every call into a user's plugin (the host's untrusted doors), read by what
 * must blame a plugin for what it left behind (a timer, a process.exit())
 * and by a watchdog on another thread (an observer mirrors it there).
 * Built-in plugins are not tracked: their calls are the hot path.
 */

/** A user plugin's handler, or its setup. */
export interface PluginCall {
  readonly plugin: string;
  readonly event: string;
}

/** Where a watchdog found a call, as its messages say it: `in plugin "x" handling "dma:served"`. */
export function inPluginText(call: PluginCall): string {
  return `in plugin "${call.plugin}" handling "${call.event}"`;
}

let current: PluginCall | undefined;
let observer: ((call: PluginCall | undefined) => void) | undefined;

/** The user plugin whose code runs now, innermost, if any. */
export function runningPlugin(): PluginCall | undefined {
  return current;
}

/** Hear every change of the running plugin (one observer: a watchdog's mirror). */
export function observePluginCalls(fn: ((call: PluginCall | undefined) => void) | undefined): void {
  observer = fn;
}

/** Run `f` as `call`, restoring the plugin that ran before it. */
export function inPlugin<T>(call: PluginCall, f: () => T): T {
  const outer = current;
  current = call;
  observer?.(call);
  try {
    return f();
  } finally {
    current = outer;
    observer?.(outer);
  }
}
