/**
 * rwlock_t as stepped paths: a writer spins (yielding) while readers hold the
 * lock and readers spin while a writer does, so an interleaving runner can let
 * the other side make progress. Straight-through runs never contend.
 */
import { site, type Step, type Steps } from "./steps.js";

/** The state of one rwlock_t, kept on the object it protects. */
export interface RwLock {
  readers: number;
  writer: boolean;
}

const SPIN_READ = site("read_lock", "spin: writer holds the lock");
const SPIN_WRITE = site("write_lock", "spin: lock held");

/** read_lock() / read_lock_irqsave(): `at` names the caller's access. */
export function* readLock(lock: RwLock, at: Step): Steps {
  yield at;
  while (lock.writer) yield SPIN_READ;
  lock.readers++;
}

export function readUnlock(lock: RwLock): void {
  lock.readers--;
}

/** write_lock() / write_lock_irqsave(): `at` names the caller's access. */
export function* writeLock(lock: RwLock, at: Step): Steps {
  yield at;
  while (lock.writer || lock.readers > 0) yield SPIN_WRITE;
  lock.writer = true;
}

export function writeUnlock(lock: RwLock): void {
  lock.writer = false;
}
