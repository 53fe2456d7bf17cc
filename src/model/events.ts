/**
 * Every event on the bus, in one place.
 *
 * Notifications are broadcast to every listener. Requests are addressed to one
 * node (an SMMU, an endpoint) and answered by the one handler that node's
 * plugin serves.
 */
import type { Cmd } from "./commands.js";
import type { Steps } from "./step.js";
import type { Leaf } from "./page-table.js";
import type { Access, TranslateResult, Translation, Via } from "./translation.js";

/** A list of commands for one SMMU queue, optionally followed by CMD_SYNC (arm_smmu_cmdq_issue_cmdlist). */
export interface CmdqSubmit {
  cmds: readonly Cmd[];
  sync: boolean;
  /** Who submitted: a CPU of the driver, or a vSMMU forwarding a guest's queue. */
  source: string;
  /** When the producer index moved (simulated ns): the SMMU sees the commands from then. */
  at: number;
}

/** The outcome of a submission's CMD_SYNC. */
export interface CmdqSubmitReply {
  /** false when a CMD_SYNC timed out (an ATC_INV never completed). */
  synced: boolean;
  /** When the last command (the CMD_SYNC, if any) completed or timed out; `at` if absent. */
  done?: number;
  /**
   * Set when the SMMU runs beside the CPUs (a schedule explorer's agent) and
   * has only queued the commands: the CMD_SYNC's place in the queue, to
   * poll with "smmu:cmdq-poll" ("synced" then says nothing yet).
   */
  ticket?: number;
}

/** Whether the CMD_SYNC at `ticket` has completed (arm_smmu_cmdq_poll_until_sync()), and whether it timed out. */
export interface CmdqPollRequest {
  ticket: number;
}

export interface CmdqPollReply {
  completed: boolean;
  /** false when it completed by timing out (an ATC_INV never answered) */
  synced: boolean;
}

export interface TranslateRequest {
  sid: number;
  /** null: no PASID on the transaction */
  ssid: number | null;
  iova: number;
  access: Access;
  /** an ATS Translation Request (vs. an untranslated transaction) */
  ats: boolean;
}

/**
 * A Translated transaction (PCIe AT = Translated): the endpoint uses an
 * address its ATC holds. The SMMU does not translate it; with
 * SMMU_CR0.ATSCHK, which the driver always sets, it checks that the STE
 * allows ATS for the stream.
 */
export interface TranslatedRequest {
  sid: number;
  /** null: no PASID on the transaction */
  ssid: number | null;
  /** the translated (physical) address */
  addr: number;
  access: Access;
}

/** Whether the SMMU lets a Translated transaction through, or how it terminates it. */
export type TranslatedReply = { kind: "ok" } | { kind: "fault"; event: string; detail: string } | { kind: "abort"; detail: string };

export interface DmaRequest {
  iova: number;
  pasid: number | null;
  access: Access;
  /** the StreamID to issue from; a device's first by default */
  sid?: number;
}

export interface DmaReply {
  result: TranslateResult;
}

/** An ATC Invalidate Request sent to an endpoint for one of its StreamIDs. */
export interface AtcInvRequest {
  sid: number;
  ssid: number;
  ssv: boolean;
  /** first byte of the invalidated span */
  addr: number;
  /** log2 of the span in 4 KiB pages; ATC_INV_SIZE_ALL for everything */
  size: number;
  /** When the SMMU sent the request (simulated ns). */
  at: number;
  /**
   * Under a schedule explorer, where the request goes out when the SMMU
   * executes the ATC_INV and is handled when it completes: the endpoint's
   * `atsDisables` when it went out (absent in straight runs, where it is
   * handled as it goes out, and for an endpoint that does not count them).
   */
  sentAtsDisables?: number;
  /** Whose ATC_INV it was: the CPU (or vSMMU) that queued it, as `cmd:queued` names it; absent: the running CPU's. */
  source?: string;
}

export interface AtcInvReply {
  /** false when the endpoint never answers */
  completed: boolean;
  /** When the completion reached the SMMU; `at` (at once) if absent. */
  done?: number;
}

/** The TLB tags an SMMU holds translations for ("smmu0 asid 1", "smmu0 vmid 2"). */
export interface TlbTagsReply {
  tags: string[];
}

/** What `show ste`, `show cd` and `show iotlb` ask an SMMU for: an STE (`sid`), a CD (`sid`, `ssid`), or its TLB and walk cache. */
export interface SmmuShowRequest {
  what: "ste" | "cd" | "iotlb";
  sid?: number;
  ssid?: number;
}

/** What a node shows of itself, as lines of text for the report (fields named as the kernel names them). */
export interface ShowReply {
  lines: string[];
}

/** Requests: name -> [request, reply]. */
export interface BusRequests {
  "smmu:cmdq": [CmdqSubmit, CmdqSubmitReply];
  "smmu:cmdq-poll": [CmdqPollRequest, CmdqPollReply];
  "smmu:tlb-tags": [Record<string, never>, TlbTagsReply];
  "smmu:translate": [TranslateRequest, TranslateResult];
  /** The same translation as the steps a schedule explorer interleaves (STE and CD fetch, TLB lookup, each walk read, the fill). */
  "smmu:translate-steps": [TranslateRequest, Steps<TranslateResult>];
  "smmu:translated": [TranslatedRequest, TranslatedReply];
  "ep:dma": [DmaRequest, DmaReply];
  /** The same DMA as steps (ATC lookup, the translation's steps, the ATC fill), for a schedule explorer. */
  "ep:dma-steps": [DmaRequest, Steps<DmaReply>];
  "ep:atc-inv": [AtcInvRequest, AtcInvReply];
  /** The `show` statement: an STE or CD as the SMMU would read it from memory, or what its TLB and walk cache hold. */
  "smmu:show": [SmmuShowRequest, ShowReply];
  /** The `show atc` statement: what the endpoint's ATC holds. */
  "ep:show": [{ what: "atc" }, ShowReply];
}

/** Notifications: name -> payload. */
export interface BusNotifications {
  /**
   * A command reached an SMMU's queue (CMD_SYNC included) and was executed
   * from `start` to `end` (simulated ns); a CMD_SYNC ends when it completes.
   */
  "cmd:queued": { smmu: string; cmd: Cmd; seq: number; source: string; start: number; end: number };
  /** An endpoint's ATC invalidated (or dropped) an ATC Invalidate Request, from its arrival to its completion; `source` as the request's. */
  "ep:atc-inv-done": { device: string; sid: number; start: number; end: number; completed: boolean; source?: string };
  /** A CPU spun from `start` to `end` until a CMD_SYNC on `smmu` completed (or timed out). */
  "cpu:sync-wait": { cpu: string; smmu: string; start: number; end: number };
  /** A translation was served from a cache or a walk. */
  "dma:served": {
    device: string;
    sid: number;
    pasid: number | null;
    iova: number;
    access: Access;
    via: Via;
    cache: string;
    t: Translation;
  };
  /**
   * An endpoint used a translation from its ATC (a Translated transaction)
   * and the SMMU refused it, as the STE does not allow ATS for the stream:
   * the device had ATS enabled where its STE forbids it. `t` is the
   * translation it used, `detail` why the SMMU refused.
   */
  "dma:forbidden": { device: string; sid: number; pasid: number | null; iova: number; access: Access; cache: string; t: Translation; detail: string };
  /**
   * A cache took a translation: `cache` named as `dma:served` names it
   * ("smmu0.iotlb", "nic0.atc"), `tag` what the entry is held under
   * ("s1 asid 1 vmid 0", "s2 vmid 2", "sid 0x40 pasid 1").
   */
  "cache:fill": { cache: string; tag: string; t: Translation };
  /** PCI ATS enable/disable on an endpoint (pci_enable_ats / pci_disable_ats). */
  "ep:ats": { device: string; enabled: boolean; stu: number };
  /**
   * A WARN_ON() (WARN_ON_ONCE(), WARN()) in the driver or io-pgtable that
   * fired: `cond` is its condition or message. A scenario fails on one that
   * no `expect warn` expects.
   */
  "driver:warn": { fn: string; cond: string };
  /**
   * A message the driver prints that is no WARN: dev_err() (`err`),
   * dev_warn() (`warn`), or what the model says where the kernel prints
   * nothing (`info`). The report lists it; the scenario goes on.
   */
  "driver:log": { fn: string; level: "err" | "warn" | "info"; msg: string };
  /**
   * The driver (or the iommu core before it) is about to return -`errno`
   * from `fn` because `cond` holds, in the kernel's words; `lacks` when the
   * refusal is a limit of the driver or variant rather than of the platform
   * (a domain on a second SMMU before domains could be shared).
   */
  "driver:errno": { fn: string; errno: number; cond: string; lacks?: boolean };
  /** An invalidation array was published (rcu_assign_pointer). */
  "invs:publish": { domain: string; entries: number };
  /**
   * arm_smmu_invs_unref() lowered num_invs of `domain`'s array, under the
   * write side of its rwlock, which means no ATC invalidation of the array
   * is outstanding: `walkers` is how many invalidation walks of it were
   * still between their load of num_invs and their last CMD_SYNC (the
   * oracle reports any).
   */
  "invs:trim": { domain: string; walkers: number; ats: boolean };
  /** Leaves left a page table (the PTEs are clear; the caches may still hold them). */
  "pgtable:unmap": { table: bigint; leaves: readonly Leaf[] };
  /** Tables of the page table whose pgd is at `table` were freed (__arm_lpae_free_pgtable()). */
  "pgtable:free": { table: bigint; freed: readonly bigint[] };
  /**
   * A table walk started from a walk-cache entry instead of the table base:
   * the entry at `level` for the region at `base` gave the next table's
   * address `next`.
   */
  "walk:cached": { smmu: string; cache: string; sid: number; ssid: number | null; iova: number; access: Access; level: number; base: number; next: bigint };
  /**
   * A cache was looked up for `addr` under `tag` (as `cache:fill` names
   * them): an SMMU's TLB ("smmu0.iotlb") or walk cache ("smmu0.walk"), an
   * endpoint's ATC ("nic0.atc"). For the run's log and cache statistics.
   */
  "cache:lookup": { cache: string; tag: string; addr: number; hit: boolean };
  /**
   * An invalidation (`by`: the command, or ATC_INV for an ATC Invalidate
   * Request) removed `entries` entries of a cache (named as `cache:lookup`
   * names it), at simulated time `at`; `source`: who queued the command, as
   * `cmd:queued` names it (absent: the running CPU). Under a schedule
   * explorer the queue executes commands beside the CPUs, so the CPU that
   * ran last is not always the one whose command it was.
   */
  "cache:invalidate": { cache: string; by: string; entries: number; at: number; source?: string };
  /** A table walk of one stage ended, having read `reads` table entries; `ok` false when it faulted. */
  "walk:done": { smmu: string; sid: number; ssid: number | null; iova: number; stage: 1 | 2; reads: number; ok: boolean };
  /**
   * A `dma` statement's transaction ended (the simulator says it, for any
   * endpoint): `result` ok (`via`, and `pa` the address it reached), fault
   * (`event`) or abort; `detail` says why, for the last two.
   */
  "dma:done": { device: string; sid: number; pasid: number | null; iova: number; access: Access; result: "ok" | "fault" | "abort"; via?: Via; pa?: number; event?: string; detail?: string };
}

export type RequestName = keyof BusRequests;
export type NotificationName = keyof BusNotifications;
export type RequestOf<K extends RequestName> = BusRequests[K][0];
export type ReplyOf<K extends RequestName> = BusRequests[K][1];
