/**
 * Barriers as stepped paths. A straight run takes a barrier as the step it
 * names; under a schedule explorer smp_mb() waits for the CPU's store
 * buffer to drain (core/weak-memory.ts), and the write barriers order the
 * CPU's later stores after its earlier ones.
 */
import { exec, type Step, type Steps } from "../model/step.js";

/** smp_mb() (or mb()) at `at`. */
export function* smpMb(at: Step): Steps {
  const e = exec();
  if (!e) {
    yield at;
    return;
  }
  yield e.mbStep(at);
  e.mb();
}

/** dma_wmb(), wmb() or smp_wmb() at `at`. */
export function* wmb(at: Step): Steps {
  yield at;
  exec()?.wmb();
}
