/**
 * src/core/rwlock.ts: rwlock_t, spinlock_t and struct mutex as stepped
 * paths. A path yields the caller's step, then waits (yielding) while the
 * lock is held against it: readers against a writer, a writer against
 * anyone; a mutex waiter sleeps where a spinner spins. Taking a lock its own
 * path holds never ends, and the step budget calls it a livelock.
 */
import { describe, expect, test } from "vitest";
import { LivelockError, runSteps } from "../../src/core/steps.js";
import { mutexLock, mutexLocked, mutexUnlock, newLock, readLock, readUnlock, writeLock, writeUnlock } from "../../src/core/rwlock.js";
import { site, type Step, type Steps } from "../../src/model/step.js";

const AT = site("arm_smmu_domain_inv_range", "read_lock(&invs->rwlock)");
const AT_W = site("arm_smmu_install_new_domain_invs", "write_lock(&invs->rwlock)");

/** The steps `path` yields in `n` calls of next(), as "fn: access", and whether it finished. */
function advance(path: Steps, n: number): { steps: string[]; done: boolean } {
  const steps: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = path.next();
    if (r.done) return { steps, done: true };
    steps.push(`${(r.value as Step).fn}: ${r.value.access}`);
  }
  return { steps, done: false };
}

test("an unlocked lock: no readers, no writer", () => {
  expect(newLock()).toEqual({ readers: 0, writer: false });
});

describe("read_lock", () => {
  test("uncontended: the caller's step, then taken; readers share", () => {
    const lock = newLock();
    expect(advance(readLock(lock, AT), 5)).toEqual({ steps: ["arm_smmu_domain_inv_range: read_lock(&invs->rwlock)"], done: true });
    expect(advance(readLock(lock, AT), 5).done).toBe(true);
    expect(lock).toEqual({ readers: 2, writer: false });
    readUnlock(lock);
    readUnlock(lock);
    expect(lock).toEqual({ readers: 0, writer: false });
  });

  test("a writer holds it: the reader spins until the writer lets go", () => {
    const lock = newLock();
    runSteps(writeLock(lock, AT_W));
    const reader = readLock(lock, AT);
    expect(advance(reader, 3)).toEqual({
      steps: ["arm_smmu_domain_inv_range: read_lock(&invs->rwlock)", "read_lock: spin: writer holds the lock", "read_lock: spin: writer holds the lock"],
      done: false,
    });
    writeUnlock(lock);
    expect(advance(reader, 3)).toEqual({ steps: [], done: true });
    expect(lock).toEqual({ readers: 1, writer: false });
  });
});

describe("write_lock and spin_lock", () => {
  test("a reader holds it: the writer spins; then takes it alone", () => {
    const lock = newLock();
    runSteps(readLock(lock, AT));
    const writer = writeLock(lock, AT_W);
    expect(advance(writer, 2).steps).toEqual(["arm_smmu_install_new_domain_invs: write_lock(&invs->rwlock)", "write_lock: spin: lock held"]);
    readUnlock(lock);
    expect(advance(writer, 2)).toEqual({ steps: [], done: true });
    expect(lock).toEqual({ readers: 0, writer: true });
  });

  test("another writer holds it: the writer spins", () => {
    const lock = newLock();
    runSteps(writeLock(lock, AT_W));
    expect(advance(writeLock(lock, AT_W), 3)).toEqual({ steps: ["arm_smmu_install_new_domain_invs: write_lock(&invs->rwlock)", "write_lock: spin: lock held", "write_lock: spin: lock held"], done: false });
  });

  test("taken again on the path that holds it: a livelock at the spin", () => {
    const lock = newLock();
    function* twice(): Steps {
      yield* writeLock(lock, AT_W);
      yield* writeLock(lock, AT_W);
    }
    let err: unknown;
    try {
      runSteps(twice(), 100);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LivelockError);
    expect((err as LivelockError).hot).toEqual({ fn: "write_lock", access: "spin: lock held" });
  });
});

describe("mutex", () => {
  const AT_M = site("arm_smmu_attach_dev", "mutex_lock(&arm_smmu_asid_lock)");

  test("held: a waiter sleeps until it is unlocked", () => {
    const lock = newLock();
    runSteps(mutexLock(lock, AT_M));
    const waiter = mutexLock(lock, AT_M);
    expect(advance(waiter, 2).steps).toEqual(["arm_smmu_attach_dev: mutex_lock(&arm_smmu_asid_lock)", "mutex_lock: sleep: mutex held"]);
    mutexUnlock(lock);
    expect(advance(waiter, 1).done).toBe(true);
  });

  test("mutexLocked: the critical section under the lock, unlocked on return and on a throw", () => {
    const lock = newLock();
    const held: boolean[] = [];
    function* critical(): Steps<number> {
      held.push(lock.writer);
      yield site("critical", "inside");
      return 7;
    }
    expect(runSteps(mutexLocked(lock, AT_M, critical))).toBe(7);
    expect([held, lock.writer]).toEqual([[true], false]);
    function* failing(): Steps<number> {
      throw new Error("oops");
    }
    expect(() => runSteps(mutexLocked(lock, AT_M, failing))).toThrow("oops");
    expect(lock).toEqual({ readers: 0, writer: false });
  });
});
