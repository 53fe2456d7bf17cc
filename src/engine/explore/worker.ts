/**
 * A worker thread of ExplorePool: for each job it is given, builds the
 * program from the job's factory, plans the same units as every other
 * worker, and searches the units it claims from the shared counter until
 * none is left or the budget is certainly spent; posts each unit's tally,
 * then the end of its part. It waits for the next job until the pool ends it.
 * Under the pool's watchdog (workerData), it says where its search is as it
 * goes (watched.ts), and which user plugin runs (plugin/running.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { InputError } from "../../core/diagnostics.js";
import { postOutput } from "../../core/thread.js";
import { observePluginCalls } from "../../plugin/running.js";
import { buildProgram, claimUnits, type Job, type WorkerMessage, type WorkerSetup } from "./parallel.js";
import { SearchWatch, watchedProgram } from "./watched.js";

const post = (m: WorkerMessage): void => parentPort!.postMessage(m);
/* what a plugin prints comes out on the pool's side, in order with the units */
postOutput((printed) => post({ printed }));

const setup = (workerData ?? {}) as WorkerSetup;
const watch = setup.watch ? new SearchWatch(setup.watch, setup.calls) : undefined;
if (watch) observePluginCalls((call) => watch.calls.call(call));

/* jobs one at a time, in the order given: the pool gives the next once every worker has ended this one */
let queue = Promise.resolve();
parentPort!.on("message", (job: Job) => {
  queue = queue.then(async () => {
    try {
      watch?.job();
      const built = await buildProgram(job.factory);
      const program = watch ? watchedProgram(built, watch) : built;
      const units = claimUnits(program, job, watch && ((unit, of) => watch.unit(unit, of)));
      for (let r = units.next(); ; r = units.next()) {
        if (r.done) {
          post({ id: job.id, done: true, ...r.value });
          break;
        }
        const [unit, of, tally] = r.value;
        post({ id: job.id, unit, of, tally });
      }
    } catch (e) {
      if (e instanceof InputError) post({ id: job.id, diagnostics: e.diagnostics });
      else post({ id: job.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
});
