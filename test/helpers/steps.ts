/** Driving stepped paths by hand in tests: to a given step, to the end, or watching each step. */
import type { Step, Steps } from "../../src/model/step.js";

/** Step `path` until it yields a step of `fn` at `access`; that step. */
export function stepTo(path: Steps<unknown>, fn: string, access: string): Step {
  for (;;) {
    const r = path.next();
    if (r.done) throw new Error(`finished before ${fn}: ${access}`);
    if (r.value.fn === fn && r.value.access === access) return r.value;
  }
}

/** Run `path` to its end; what it returns. */
export function finish<T>(path: Steps<T>): T {
  for (;;) {
    const r = path.next();
    if (r.done) return r.value;
  }
}

/** `path`, calling `seen` with each step it yields before passing it on. */
export function* watched<T>(path: Steps<T>, seen: (step: Step) => void): Steps<T> {
  for (;;) {
    const r = path.next();
    if (r.done) return r.value;
    seen(r.value);
    yield r.value;
  }
}
