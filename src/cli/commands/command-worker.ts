/**
 * The worker thread of a watched command (watched.ts): the same command
 * line run by main(), its output posted line by line, the user plugin
 * running mirrored into the watch.
 */
import { parentPort, workerData } from "node:worker_threads";
import { observePluginCalls } from "../../plugin/running.js";
import { Watch } from "../../plugin/watch.js";
import { main } from "../main.js";
import type { CommandSetup, FromCommand } from "./watched.js";

const setup = workerData as CommandSetup;
const post = (m: FromCommand): void => parentPort!.postMessage(m);
const watch = new Watch(setup.watch);
observePluginCalls((call) => watch.call(call));

const status = await main(setup.argv, { out: (text) => post({ t: "out", text }), err: (text) => post({ t: "err", text }), tty: setup.tty });
post({ t: "done", status });
