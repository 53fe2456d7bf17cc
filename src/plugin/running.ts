/**
 * Which user plugin's code is running, and for which event: set around
 * every call into a user's plugin (the host's untrusted doors), read by what
 * must blame a plugin for what it left behind (a timer, a process.exit()).
 * Built-in plugins are not tracked: their calls are the hot path.
 */

/** A user plugin's handler, or its setup. */
export interface PluginCall {
  readonly plugin: string;
  readonly event: string;
}

let current: PluginCall | undefined;

/** Run `f` as `call`, restoring the plugin that ran before it. */
export function inPlugin<T>(call: PluginCall, f: () => T): T {
  const outer = current;
  current = call;
  try {
    return f();
  } finally {
    current = outer;
  }
}
