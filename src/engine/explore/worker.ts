/**
 * A worker thread of ExplorePool: for each job it is given, builds the
 * program from the job's factory, plans the same units as every other
 * worker, and searches the units it claims from the shared counter until
 * none is left or the budget is certainly spent; posts each unit's tally,
 * then the end of its part. It waits for the next job until the pool ends it.
 */
import { parentPort } from "node:worker_threads";
import { buildProgram, claimUnits, type Job, type WorkerMessage } from "./parallel.js";

const post = (m: WorkerMessage): void => parentPort!.postMessage(m);

/* jobs one at a time, in the order given: the pool gives the next once every worker has ended this one */
let queue = Promise.resolve();
parentPort!.on("message", (job: Job) => {
  queue = queue.then(async () => {
    try {
      const program = await buildProgram(job.factory);
      const units = claimUnits(program, job);
      for (let r = units.next(); ; r = units.next()) {
        if (r.done) {
          post({ id: job.id, done: true, ...r.value });
          break;
        }
        const [unit, of, tally] = r.value;
        post({ id: job.id, unit, of, tally });
      }
    } catch (e) {
      post({ id: job.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
});
