/**
 * The process an SVA domain translates for, as far as a scenario can see
 * it: its mm_struct's mm_users, and whether its mmu notifiers are still
 * hooked. The process holds one reference until it exits (`mm release`); a
 * bind holds another across arm_smmu_sva_set_dev_pasid() (mmget_not_zero()
 * ... mmput()), so the mm cannot be released under it. The last mmput()
 * runs __mmput() -> exit_mmap() -> mmu_notifier_release(): every notifier's
 * ->release(), after which __mmu_notifier_release() has unhooked them all
 * and none is called again. From then on mmget_not_zero() fails, and
 * registering a notifier on the mm BUGs. Both drivers' SVA paths use this.
 */
import { KernelBugError, site, type Steps } from "../../src/index.js";

/** struct mm_struct as SVA sees it (the mm of every SVA domain of one process). */
export class MmStruct {
  /** mm_users: the process's own reference, plus one per mmget_not_zero() still held. */
  users = 1;
  /** The process has exited: exit_mm() dropped its own reference (a process exits once). */
  exited = false;
  /** mmu_notifier_release() has run: the mm's notifiers are unhooked and never called again. */
  released = false;
}

const S_MMGET = site("mmget_not_zero", "atomic_inc_not_zero(&mm->mm_users)");
const S_MMPUT = site("mmput", "atomic_dec_and_test(&mm->mm_users)");

/** mmget_not_zero(): a reference to `mm`, unless it has no users left (the process has exited). */
export function* mmgetNotZero(mm: MmStruct): Steps<boolean> {
  yield S_MMGET;
  if (mm.users === 0) return false;
  mm.users++;
  return true;
}

/**
 * mmput(): drop a reference; the last one runs __mmput() -> exit_mmap() ->
 * mmu_notifier_release(), which calls `release` (the ->release() of each
 * notifier on the mm) and then unhooks them.
 */
export function* mmput(mm: MmStruct, release: () => Steps): Steps {
  yield S_MMPUT;
  if (--mm.users > 0) return;
  yield* release();
  mm.released = true;
}

/**
 * exit_mm(): the process exits, dropping its own reference with mmput().
 * Modelling choice: a second `mm release` of the same process does nothing
 * (a process exits once; its notifiers are gone).
 */
export function* exitMm(mm: MmStruct, release: () => Steps): Steps {
  if (mm.exited) return;
  mm.exited = true;
  yield* mmput(mm, release);
}

/** __mmu_notifier_register(): BUG_ON(atomic_read(&mm->mm_users) <= 0): a notifier can only be registered on a live mm. */
export function mmuNotifierRegister(mm: MmStruct): void {
  if (mm.users <= 0) throw new KernelBugError("atomic_read(&mm->mm_users) <= 0", "__mmu_notifier_register");
}
