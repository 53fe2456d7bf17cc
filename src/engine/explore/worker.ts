/**
 * A worker thread of exploreParallel(): builds the program from its factory,
 * plans the same units as every other worker, and searches the units it
 * claims from the shared counter until none is left; posts the tally.
 */
import { parentPort, workerData } from "node:worker_threads";
import { buildProgram, searchClaimed, type WorkerData } from "./parallel.js";

const data = workerData as WorkerData;
try {
  const program = await buildProgram(data.factory);
  parentPort!.postMessage({ ok: true, ...searchClaimed(program, data) });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
