/**
 * The invalidation array's fields that CPUs share without a lock, as
 * locations for a schedule explorer: `num_invs` and each entry's `users`,
 * written by the attach path (under arm_smmu_asid_lock) and read by every
 * invalidation (READ_ONCE()).
 */
import type { Explored } from "../../src/index.js";
import type { Invs } from "./invs.js";

export function numInvsAt(e: Explored, invs: Invs): string {
  return `${e.nameOf(invs, "invs")}.num_invs`;
}

export function usersAt(e: Explored, invs: Invs, i: number): string {
  return `${e.nameOf(invs, "invs")}[${i}].users`;
}
