/**
 * `check`, `validate`, `export`, `graph`, `compare` and `plugins` with
 * --timeout: the whole command on a
 * worker thread (command-worker.ts), which runs the same command line; its
 * output comes through as it is printed. One that runs longer is stopped:
 * a line naming the user plugin and event whose code was running, exit 2 (a
 * plugin's fault is bad input), and nothing else it would have printed.
 */
import type { Worker } from "node:worker_threads";
import { workerData } from "node:worker_threads";
import { startWorker, stopWorker } from "../../core/thread.js";
import { inPluginText } from "../../plugin/running.js";
import { Watch } from "../../plugin/watch.js";
import { Lines } from "../lines.js";
import { EXIT_BAD_INPUT, type Io } from "../io.js";

/** What the command's worker is started with. */
export interface CommandSetup {
  readonly argv: readonly string[];
  readonly tty: boolean;
  readonly watch: SharedArrayBuffer;
}

/** The command's lines (out, err), what a plugin wrote (printed: pieces of lines), and its end. */
export type FromCommand = { t: "out" | "err" | "printed"; text: string } | { t: "done"; status: number };

/** Whether this thread is a watched command's worker (which runs the command itself). */
export function watchedHere(): boolean {
  return typeof workerData === "object" && workerData !== null && "argv" in workerData && "watch" in workerData;
}

/** Run `argv` (the command `name`) on a worker thread, stopping it after `seconds`. */
export function watchedCommand(argv: readonly string[], seconds: number, io: Io, name: string): Promise<number> {
  const watch = new Watch();
  const setup: CommandSetup = { argv, tty: io.tty, watch: watch.buffer };
  const w: Worker = startWorker(new URL("./command-worker.js", import.meta.url), { workerData: setup });
  /* what a plugin prints goes to stderr, a line at a time, as under run */
  const printed = new Lines((line) => io.err(line));
  return new Promise<number>((resolve) => {
    let settled = false;
    const settle = (status: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      printed.flush();
      void stopWorker(w).then(() => resolve(status));
    };
    const deadline = setTimeout(() => {
      settled = true;
      printed.flush();
      void stopWorker(w).then(() => {
        const call = watch.read().call;
        const where = call ? ` ${inPluginText(call)}` : "";
        io.err(`smmu-emu: ${name}: timed out after ${seconds} s (--timeout)${where}`);
        resolve(EXIT_BAD_INPUT);
      });
    }, seconds * 1000);
    w.on("message", (m: FromCommand) => {
      if (settled) return;
      if (m.t === "done") settle(m.status);
      else if (m.t === "printed") printed.push(m.text);
      else {
        printed.flush();
        io[m.t](m.text);
      }
    });
    w.on("error", (err: Error) => {
      if (settled) return;
      io.err(`smmu-emu: ${name}: the command's worker thread failed: ${err.message}`);
      settle(EXIT_BAD_INPUT);
    });
    w.on("exit", (code) => {
      if (settled) return;
      io.err(`smmu-emu: ${name}: the command's worker thread exited (code ${code})`);
      settle(EXIT_BAD_INPUT);
    });
  });
}
