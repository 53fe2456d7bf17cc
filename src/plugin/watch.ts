/**
 * Where a run on a worker thread is, in memory both threads share: the
 * worker writes the scenario, the statement and the user plugin (and event)
 * running as it goes; the thread watching it reads them once it has stopped
 * the worker (out of time or memory), to say where the run was. Plain
 * stores: the reader looks only after the writer is stopped.
 */
import type { PluginCall } from "./running.js";

const SCENARIO = 0;
const LINE = 1;
const COLUMN = 2;
const CALL_LENGTH = 3;
/** Byte offset of the running call, "plugin\0event" in UTF-8. */
const CALL_AT = 16;
const BYTES = 1024;

export interface WatchedPlace {
  /** The scenario's index in the worker's list; -1 before the first starts. */
  scenario: number;
  /** The statement running, or 0 before the first (the platform being set up). */
  line: number;
  column: number;
  call?: PluginCall;
}

export class Watch {
  private readonly ints: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly encoded = new WeakMap<PluginCall, Uint8Array>();

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(BYTES)) {
    this.ints = new Int32Array(buffer, 0, CALL_AT / 4);
    this.bytes = new Uint8Array(buffer, CALL_AT);
    this.ints[SCENARIO] = -1;
  }

  scenario(i: number): void {
    this.ints[SCENARIO] = i;
    this.ints[LINE] = this.ints[COLUMN] = 0;
  }

  statement(line: number, column: number): void {
    this.ints[LINE] = line;
    this.ints[COLUMN] = column;
  }

  call(c: PluginCall | undefined): void {
    if (!c) {
      this.ints[CALL_LENGTH] = 0;
      return;
    }
    let b = this.encoded.get(c);
    if (!b) this.encoded.set(c, (b = new TextEncoder().encode(`${c.plugin}\0${c.event}`).subarray(0, this.bytes.length)));
    this.bytes.set(b);
    this.ints[CALL_LENGTH] = b.length;
  }

  read(): WatchedPlace {
    const n = this.ints[CALL_LENGTH]!;
    /* TextDecoder takes no view of shared memory: a copy */
    const [plugin, event] = new TextDecoder().decode(this.bytes.slice(0, n)).split("\0");
    return {
      scenario: this.ints[SCENARIO]!,
      line: this.ints[LINE]!,
      column: this.ints[COLUMN]!,
      ...(n > 0 && plugin !== undefined && event !== undefined ? { call: { plugin, event } } : {}),
    };
  }
}
