/**
 * RCU as the invalidation array uses it: a published pointer, read-side
 * critical sections, and kfree_rcu() that frees an object only once every
 * reader that could still hold it has left its critical section. Freed
 * objects are marked, so a reader that touches one is caught (use after free).
 */
import { ErrPtr } from "./errno.js";
import { born, exec, site, type Steps } from "../model/step.js";

/** Memory RCU can free: the owner marks it and readers check the mark. */
export interface Freeable {
  freed: boolean;
}

export class UseAfterFreeError extends Error {
  constructor(what: string, where: string) {
    super(`use after free: ${where} touched ${what} after it was freed`);
    this.name = "UseAfterFreeError";
  }
}

/** Dereferencing an ERR_PTR: the kernel would oops here. */
export class KernelOopsError extends Error {
  constructor(what: string, where: string) {
    super(`Unable to handle kernel paging request: ${where} dereferenced ${what}`);
    this.name = "KernelOopsError";
  }
}

/** A BUG_ON() that fires: an oops too (the task dies holding whatever it held). */
export class KernelBugError extends KernelOopsError {
  constructor(cond: string, where: string) {
    super(cond, where);
    this.message = `kernel BUG in ${where}: BUG_ON(${cond})`;
    this.name = "KernelBugError";
  }
}

/** An `__rcu` pointer. May hold an ERR_PTR if a buggy writer published one. */
export class RcuPointer<T extends Freeable> {
  constructor(private value: T | ErrPtr) {
    born(this, "rcu");
  }

  /** rcu_dereference_protected(): the writer's view, under the update-side lock. */
  protected_(): T | ErrPtr {
    return this.value;
  }

  /** rcu_assign_pointer() (the caller yields the step). */
  assign(v: T | ErrPtr): void {
    this.value = v;
  }
}

interface Pending {
  obj: Freeable;
  waitFor: Set<number>;
}

const S_ASSIGN = site("rcu_assign_pointer", "store the published pointer");

export class Rcu {
  private nextReader = 1;
  private readonly readers = new Set<number>();
  private readonly pending: Pending[] = [];

  /** rcu_read_lock(): returns a token for rcu_read_unlock(). */
  readLock(): number {
    const id = this.nextReader++;
    this.readers.add(id);
    return id;
  }

  rcuReadUnlock(token: number): void {
    this.readers.delete(token);
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      p.waitFor.delete(token);
      if (p.waitFor.size === 0) {
        p.obj.freed = true;
        this.pending.splice(i, 1);
      }
    }
  }

  /** rcu_dereference(): the reader's view; an ERR_PTR or freed object is fatal. */
  dereference<T extends Freeable>(ptr: RcuPointer<T>, what: string, where: string): T {
    const e = exec();
    /* under an explorer: another CPU's publication may not have reached this one yet */
    const v = e ? e.load(e.nameOf(ptr, "rcu"), ptr.protected_()) : ptr.protected_();
    if (v instanceof ErrPtr) throw new KernelOopsError(`${what} = ${v.toString()}`, where);
    if (v.freed) throw new UseAfterFreeError(what, where);
    return v;
  }

  /** rcu_assign_pointer(): a release store, visible to readers after every earlier store of the writer. */
  *assign<T extends Freeable>(ptr: RcuPointer<T>, v: T | ErrPtr): Steps {
    const e = exec();
    if (!e) {
      yield S_ASSIGN;
      ptr.assign(v);
      return;
    }
    const location = e.nameOf(ptr, "rcu");
    yield e.storeStep(S_ASSIGN, location);
    e.store(location, ptr.protected_(), v, true);
    ptr.assign(v);
  }

  /**
   * kfree_rcu(): free after a grace period (now, if no reader is inside a
   * critical section). A grace period orders the writer's earlier stores
   * (the publication of what replaced `obj`) before any reader that starts
   * after it: under an explorer, a full barrier of the writer.
   */
  kfreeRcu(obj: Freeable): void {
    exec()?.mb();
    if (this.readers.size === 0) {
      obj.freed = true;
      return;
    }
    this.pending.push({ obj, waitFor: new Set(this.readers) });
  }

  /** kfree(): free now, whoever still holds it. */
  kfree(obj: Freeable): void {
    obj.freed = true;
  }

  /** Objects waiting for a grace period. */
  get pendingFrees(): number {
    return this.pending.length;
  }
}
