/**
 * Locks as stepped paths: rwlock_t, and the exclusive locks (spinlock_t,
 * struct mutex) as its writer side. A writer waits (yielding) while readers
 * or another writer hold the lock and readers wait while a writer does, so
 * an interleaving runner can let the holder make progress. Straight-through
 * runs never contend.
 *
 * A mutex sleeps where a spinlock spins; in a stepped model both are a
 * waiter yielding until the holder lets go, told apart only by the step
 * they yield. Taking a lock its own path already holds waits forever, as
 * the kernel deadlocks: the step budget then reports a livelock there.
 */
import { born, exec, type Explored, site, type Step, type Steps } from "../model/step.js";

/** The state of one rwlock_t, spinlock_t or struct mutex, kept on the object it protects. */
export interface RwLock {
  readers: number;
  writer: boolean;
}

/** struct mutex: only ever taken exclusively (mutex_lock()/mutex_unlock()). */
export type Mutex = RwLock;

/** An unlocked lock: DEFINE_MUTEX(), spin_lock_init(), rwlock_init(). */
export function newLock(): RwLock {
  return born({ readers: 0, writer: false }, "lock");
}

const SPIN_READ = site("read_lock", "spin: writer holds the lock");
const SPIN_WRITE = site("write_lock", "spin: lock held");
const SLEEP_MUTEX = site("mutex_lock", "sleep: mutex held");

/**
 * Under a schedule explorer: one step that waits until the lock is free
 * (an acquire rmw on it, core/exec.ts).
 */
function* acquireExplored(e: Explored, lock: RwLock, at: Step, free: () => boolean): Steps {
  const location = e.nameOf(lock, "lock");
  yield e.rmwStep(at, location, "acquire", free);
  e.rmw(location, "acquire");
}

/** The unlock's store, a release (visible to all at once, after the CPU's earlier stores). */
function release(lock: RwLock): void {
  const e = exec();
  if (e) e.rmw(e.nameOf(lock, "lock"), "release");
}

/** read_lock() / read_lock_irqsave(): `at` names the caller's access. A straight run spins while a writer holds it. */
export function* readLock(lock: RwLock, at: Step): Steps {
  const e = exec();
  if (e) {
    yield* acquireExplored(e, lock, at, () => !lock.writer);
  } else {
    yield at;
    while (lock.writer) yield SPIN_READ;
  }
  lock.readers++;
}

export function readUnlock(lock: RwLock): void {
  release(lock);
  lock.readers--;
}

/** Take `lock` exclusively, yielding `wait` while anyone holds it. */
function* exclusive(lock: RwLock, at: Step, wait: Step): Steps {
  const e = exec();
  if (e) {
    yield* acquireExplored(e, lock, at, () => !lock.writer && lock.readers === 0);
  } else {
    yield at;
    while (lock.writer || lock.readers !== 0) yield wait;
  }
  lock.writer = true;
}

/** write_lock() / write_lock_irqsave(), and spin_lock() / spin_lock_irqsave(): `at` names the caller's access. */
export function writeLock(lock: RwLock, at: Step): Steps {
  return exclusive(lock, at, SPIN_WRITE);
}

export function writeUnlock(lock: RwLock): void {
  release(lock);
  lock.writer = false;
}

/** mutex_lock(): `at` names the caller's access; a waiter sleeps until the holder unlocks. */
export function mutexLock(lock: Mutex, at: Step): Steps {
  return exclusive(lock, at, SLEEP_MUTEX);
}

/** mutex_unlock() */
export function mutexUnlock(lock: Mutex): void {
  writeUnlock(lock);
}

/**
 * `critical` under mutex_lock(`lock`), taken at `at`: the kernel's callers
 * unlock on every return, an error included. Modelling choice: an emulator
 * failure thrown out of `critical` (an oops, a livelock) unlocks too, where
 * the kernel would leave the mutex held.
 */
export function* mutexLocked<T>(lock: Mutex, at: Step, critical: () => Steps<T>): Steps<T> {
  yield* mutexLock(lock, at);
  try {
    return yield* critical();
  } finally {
    mutexUnlock(lock);
  }
}
