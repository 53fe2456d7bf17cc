/**
 * The driver's side of the command queue: arm_smmu_cmdq_issue_cmdlist() and
 * the batch helpers (arm_smmu_cmdq_batch_init/add/submit) with mainline's
 * behaviour, which the seed calls without showing: a batch holds
 * CMDQ_BATCH_ENTRIES commands; adding one more issues the full batch without
 * CMD_SYNC; with ARM_SMMU_OPT_CMDQ_FORCE_SYNC the 64th command first issues
 * the 63 queued ones with CMD_SYNC. Only the main queue is modelled (no
 * secondary queue such as tegra241-cmdqv), so every command is supported.
 */
import { buildCmd, type Cmd, type CmdqEnt, EINVAL, ETIMEDOUT, exec, hex, NO_STEPS, site, type SmmuNode, type Step, type Steps, waitStep } from "../../src/index.js";
import type { DriverContext } from "./context.js";

/** CMDQ_BATCH_ENTRIES: BITS_PER_LONG on arm64 */
export const CMDQ_BATCH_ENTRIES = 64;

/** struct arm_smmu_cmdq_batch */
export class CmdqBatch {
  cmds: Cmd[] = [];
  get num(): number {
    return this.cmds.length;
  }
}

const S_INSERT = site("arm_smmu_cmdq_issue_cmdlist", "insert commands, dma_wmb(), advance prod");
const S_POLL_SYNC = site("arm_smmu_cmdq_issue_cmdlist", "poll until CMD_SYNC completes");

/** A CMD_SYNC in a queue that the CPU has not waited for yet. */
export interface PendingSync {
  smmu: SmmuNode;
  synced: boolean;
  /** when it completes (or the poll times out) */
  done: number;
  /** Its place in the queue, when the SMMU runs beside the CPUs and has not executed it yet. */
  ticket?: number;
}

/** The queue's producer index, which the CPUs move (the SMMU reads each slot, and moves cons: plugins/smmu-v3). */
function prodLocation(smmu: SmmuNode): string {
  let location = prodLocations.get(smmu);
  if (location === undefined) prodLocations.set(smmu, (location = `${smmu.name}.cmdq.prod`));
  return location;
}
/** prodLocation()'s names, made once per SMMU: an explored execution asks at every insertion. */
const prodLocations = new WeakMap<SmmuNode, string>();

/**
 * The first half of arm_smmu_cmdq_issue_cmdlist(): write the commands (and
 * CMD_SYNC) and move prod. Under a schedule explorer the insertion is a
 * release on the queue: the dma_wmb() before prod moves makes every earlier
 * store of the CPU (a cleared PTE, a written STE) visible to the SMMU first.
 */
export function* insertCmdlist(ctx: DriverContext, smmu: SmmuNode, cmds: readonly Cmd[], sync: boolean): Steps<PendingSync> {
  yield insertStep(smmu);
  return insert(ctx, smmu, cmds, sync);
}

/** The step before the insertion: under an explorer, the release on the queue. */
function insertStep(smmu: SmmuNode): Step {
  const e = exec();
  return e ? e.rmwStep(S_INSERT, prodLocation(smmu), "release") : S_INSERT;
}

/** The insertion, after its step: the queue takes `cmds` (which the caller no longer changes). */
function insert(ctx: DriverContext, smmu: SmmuNode, cmds: readonly Cmd[], sync: boolean): PendingSync {
  exec()?.rmw(prodLocation(smmu), "release");
  const at = ctx.clock.cpuNow;
  const reply = ctx.bus.request("smmu:cmdq", smmu.name, { cmds, sync, source: ctx.cpu, at });
  const pending: PendingSync = { smmu, synced: reply.synced, done: reply.done ?? at };
  if (reply.ticket !== undefined) pending.ticket = reply.ticket;
  return pending;
}

/**
 * The second half: arm_smmu_cmdq_poll_until_sync(), spinning until the
 * CMD_SYNC completes; 0 or -ETIMEDOUT. When the SMMU runs beside the CPUs,
 * one step that waits until its agent has executed the CMD_SYNC.
 */
export function* pollSync(ctx: DriverContext, pending: PendingSync): Steps<number> {
  yield pollStep(ctx, pending);
  return polled(ctx, pending);
}

/** The poll's step: one that waits for the SMMU's agent under an explorer (a ticket). */
function pollStep(ctx: DriverContext, pending: PendingSync): Step {
  const { ticket } = pending;
  if (ticket === undefined) return S_POLL_SYNC;
  return waitStep(S_POLL_SYNC, () => pollCmdq(ctx, pending, ticket).completed, [{ location: `${pending.smmu.name}.cmdq[${ticket}].done`, kind: "read" }]);
}

function pollCmdq(ctx: DriverContext, pending: PendingSync, ticket: number): { completed: boolean; synced: boolean } {
  return ctx.bus.request("smmu:cmdq-poll", pending.smmu.name, { ticket });
}

/** After the poll's step: the CPU has spun until the CMD_SYNC completed (or timed out). */
function polled(ctx: DriverContext, pending: PendingSync): number {
  if (pending.ticket !== undefined) pending.synced = pollCmdq(ctx, pending, pending.ticket).synced;
  const start = ctx.clock.cpuNow;
  ctx.clock.waitUntil(pending.done);
  ctx.bus.emit("cpu:sync-wait", { cpu: ctx.cpu, smmu: pending.smmu.name, start, end: ctx.clock.cpuNow });
  if (pending.synced) return 0;
  ctx.log("arm_smmu_cmdq_issue_cmdlist", "err", `${pending.smmu.name}: CMD_SYNC timeout`);
  return -ETIMEDOUT;
}

/** arm_smmu_cmdq_issue_cmdlist(): 0, or -ETIMEDOUT if the CMD_SYNC timed out. Its halves' steps, in one generator. */
export function* issueCmdlist(ctx: DriverContext, smmu: SmmuNode, cmds: readonly Cmd[], sync: boolean): Steps<number> {
  yield insertStep(smmu);
  const pending = insert(ctx, smmu, cmds, sync);
  if (!sync) return 0;
  yield pollStep(ctx, pending);
  return polled(ctx, pending);
}

/** arm_smmu_cmdq_batch_init(): the queue is chosen from `ent` (always the main queue here). */
export function batchInit(cmds: CmdqBatch): void {
  cmds.cmds = [];
}

/**
 * arm_smmu_cmdq_batch_add(). A batch with room takes the command without a
 * step (it is the CPU's own memory): only a full batch issues, as steps.
 */
export function batchAdd(ctx: DriverContext, smmu: SmmuNode, cmds: CmdqBatch, ent: CmdqEnt): Steps {
  const forceSync = cmds.num === CMDQ_BATCH_ENTRIES - 1 && smmu.options.has("force_sync");
  if (forceSync || cmds.num === CMDQ_BATCH_ENTRIES) return batchIssueAdd(ctx, smmu, cmds, ent, forceSync);
  batchPush(ctx, smmu, cmds, ent);
  return NO_STEPS;
}

/** arm_smmu_cmdq_batch_add() of a batch that must be issued first. */
function* batchIssueAdd(ctx: DriverContext, smmu: SmmuNode, cmds: CmdqBatch, ent: CmdqEnt, forceSync: boolean): Steps {
  if (forceSync) {
    yield* issueCmdlist(ctx, smmu, cmds.cmds, true);
    batchInit(cmds);
  }
  if (cmds.num === CMDQ_BATCH_ENTRIES) {
    yield* issueCmdlist(ctx, smmu, cmds.cmds, false);
    batchInit(cmds);
  }
  batchPush(ctx, smmu, cmds, ent);
}

/** The command built into the batch. */
function batchPush(ctx: DriverContext, smmu: SmmuNode, cmds: CmdqBatch, ent: CmdqEnt): void {
  const cmd = buildCmd(ent);
  if (!cmd) {
    ctx.log("arm_smmu_cmdq_batch_add", "warn", `${smmu.name}: ignoring unknown CMDQ opcode ${hex(ent.opcode)}`);
    return;
  }
  cmds.cmds.push(cmd);
}

/** arm_smmu_cmdq_batch_submit(): the batch, then CMD_SYNC, waited for. */
export function batchSubmit(ctx: DriverContext, smmu: SmmuNode, cmds: CmdqBatch): Steps<number> {
  return issueCmdlist(ctx, smmu, cmds.cmds, true);
}

/** arm_smmu_cmdq_issue_cmd() / arm_smmu_cmdq_issue_cmd_with_sync() */
export function* issueCmd(ctx: DriverContext, smmu: SmmuNode, ent: CmdqEnt, sync: boolean): Steps<number> {
  const cmd = buildCmd(ent);
  if (!cmd) {
    ctx.log("__arm_smmu_cmdq_issue_cmd", "warn", `${smmu.name}: ignoring unknown CMDQ opcode ${hex(ent.opcode)}`);
    return -EINVAL;
  }
  return yield* issueCmdlist(ctx, smmu, [cmd], sync);
}
