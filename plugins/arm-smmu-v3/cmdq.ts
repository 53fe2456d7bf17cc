/**
 * The driver's side of the command queue: arm_smmu_cmdq_issue_cmdlist() and
 * the batch helpers (arm_smmu_cmdq_batch_init/add/submit) with mainline's
 * behaviour, which the seed calls without showing: a batch holds
 * CMDQ_BATCH_ENTRIES commands; adding one more issues the full batch without
 * CMD_SYNC; with ARM_SMMU_OPT_CMDQ_FORCE_SYNC the 64th command first issues
 * the 63 queued ones with CMD_SYNC. Only the main queue is modelled (no
 * secondary queue such as tegra241-cmdqv), so every command is supported.
 */
import { buildCmd, type Cmd, hex, type CmdqEnt, EINVAL, ETIMEDOUT, exec, site, type SmmuNode, type Steps, waitStep } from "../../src/index.js";
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
  return `${smmu.name}.cmdq.prod`;
}

/**
 * The first half of arm_smmu_cmdq_issue_cmdlist(): write the commands (and
 * CMD_SYNC) and move prod. Under a schedule explorer the insertion is a
 * release on the queue: the dma_wmb() before prod moves makes every earlier
 * store of the CPU (a cleared PTE, a written STE) visible to the SMMU first.
 */
export function* insertCmdlist(ctx: DriverContext, smmu: SmmuNode, cmds: readonly Cmd[], sync: boolean): Steps<PendingSync> {
  const e = exec();
  if (e) {
    yield e.rmwStep(S_INSERT, prodLocation(smmu), "release");
    e.rmw(prodLocation(smmu), "release");
  } else {
    yield S_INSERT;
  }
  const at = ctx.clock.cpuNow;
  const reply = ctx.bus.request("smmu:cmdq", smmu.name, { cmds: [...cmds], sync, source: ctx.cpu, at });
  return { smmu, synced: reply.synced, done: reply.done ?? at, ...(reply.ticket === undefined ? {} : { ticket: reply.ticket }) };
}

/**
 * The second half: arm_smmu_cmdq_poll_until_sync(), spinning until the
 * CMD_SYNC completes; 0 or -ETIMEDOUT. When the SMMU runs beside the CPUs,
 * one step that waits until its agent has executed the CMD_SYNC.
 */
export function* pollSync(ctx: DriverContext, pending: PendingSync): Steps<number> {
  const { ticket } = pending;
  if (ticket === undefined) {
    yield S_POLL_SYNC;
  } else {
    const poll = (): { completed: boolean; synced: boolean } => ctx.bus.request("smmu:cmdq-poll", pending.smmu.name, { ticket });
    yield waitStep(S_POLL_SYNC, () => poll().completed, [{ location: `${pending.smmu.name}.cmdq[${ticket}].done`, kind: "read" }]);
    pending.synced = poll().synced;
  }
  const start = ctx.clock.cpuNow;
  ctx.clock.waitUntil(pending.done);
  ctx.bus.emit("cpu:sync-wait", { cpu: ctx.cpu, smmu: pending.smmu.name, start, end: ctx.clock.cpuNow });
  if (pending.synced) return 0;
  ctx.log("arm_smmu_cmdq_issue_cmdlist", "err", `${pending.smmu.name}: CMD_SYNC timeout`);
  return -ETIMEDOUT;
}

/** arm_smmu_cmdq_issue_cmdlist(): 0, or -ETIMEDOUT if the CMD_SYNC timed out. */
export function* issueCmdlist(ctx: DriverContext, smmu: SmmuNode, cmds: readonly Cmd[], sync: boolean): Steps<number> {
  const pending = yield* insertCmdlist(ctx, smmu, cmds, sync);
  return sync ? yield* pollSync(ctx, pending) : 0;
}

/** arm_smmu_cmdq_batch_init(): the queue is chosen from `ent` (always the main queue here). */
export function batchInit(cmds: CmdqBatch): void {
  cmds.cmds = [];
}

/** arm_smmu_cmdq_batch_add() */
export function* batchAdd(ctx: DriverContext, smmu: SmmuNode, cmds: CmdqBatch, ent: CmdqEnt): Steps {
  const forceSync = cmds.num === CMDQ_BATCH_ENTRIES - 1 && smmu.options.has("force_sync");
  if (forceSync) {
    yield* issueCmdlist(ctx, smmu, cmds.cmds, true);
    batchInit(cmds);
  }
  if (cmds.num === CMDQ_BATCH_ENTRIES) {
    yield* issueCmdlist(ctx, smmu, cmds.cmds, false);
    batchInit(cmds);
  }
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
