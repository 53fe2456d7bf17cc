/** What a translation is made of, and where it came from, for caches and the oracle. */
import { hex } from "./hex.js";

/** A page table that backed a translation: `table` mapped `addr` to `pa` at fill time. */
export interface Backing {
  /** The page table's physical address (its identity in memory). */
  table: bigint;
  addr: number;
  pa: number;
}

/** A translated region: [base, base + size) maps to [pa, pa + size). */
export interface Translation {
  base: number;
  size: number;
  pa: number;
  writable: boolean;
  /** The tables walked to make it, outermost stage first; empty for bypass. */
  backing: Backing[];
}

export const ACCESSES = ["read", "write"] as const;
export type Access = (typeof ACCESSES)[number];

/** Where a served translation came from: a device's ATC, an SMMU's TLB, a table walk, or no translation (bypass). */
export const VIAS = ["atc", "iotlb", "walk", "bypass"] as const;
export type Via = (typeof VIAS)[number];

export type TranslateResult =
  | { kind: "ok"; t: Translation; via: Via }
  /** An SMMU event (F_TRANSLATION, C_BAD_STE, F_BAD_ATS_TREQ, ...) */
  | { kind: "fault"; event: string; detail: string }
  /** Terminated without an event (STE.Config abort, S1DSS terminate). */
  | { kind: "abort"; detail: string };

/** A translation as the language writes a mapping: "0x10000 size 0x4000 to 0x80010000", then " readonly" for one that is. */
export function formatTranslation(t: Translation): string {
  return `${hex(t.base)} size ${hex(t.size)} to ${hex(t.pa)}${t.writable ? "" : " readonly"}`;
}
