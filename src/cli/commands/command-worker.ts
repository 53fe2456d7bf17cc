/**
 * The worker thread of a watched command (watched.ts): the same command
 * line run by main(), its output and what a plugin prints posted as they
 * come, the user plugin running mirrored into the watch.
 */
import { parentPort, workerData } from "node:worker_threads";
import { postOutput } from "../../core/thread.js";
import { observePluginCalls } from "../../plugin/running.js";
import { Watch } from "../../plugin/watch.js";
import { main } from "../main.js";
import type { CommandSetup, FromCommand } from "./watched.js";

const setup = workerData as CommandSetup;
const post = (m: FromCommand): void => parentPort!.postMessage(m);
const watch = new Watch(setup.watch);
observePluginCalls((call) => watch.call(call));
/* a plugin's writes go to stderr, as under run */
postOutput((text) => post({ t: "printed", text }));

const status = await main(setup.argv, { out: (text) => post({ t: "out", text }), err: (text) => post({ t: "err", text }), tty: setup.tty });
post({ t: "done", status });
