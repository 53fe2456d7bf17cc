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
  const result = searchClaimed(program, data, (schedules, total) => parentPort!.postMessage({ unit: true, schedules, total }));
  parentPort!.postMessage({ ok: true, ...result });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
