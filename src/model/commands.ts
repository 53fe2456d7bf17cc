/**
 * SMMUv3 commands: opcodes as arm-smmu-v3.h names them (CMDQ_OP_*), the
 * driver-side `struct arm_smmu_cmdq_ent`, and the command as it lands in a
 * queue with only the fields its opcode encodes (arm_smmu_cmdq_build_cmd()).
 */
import { hex } from "./hex.js";

export const CMDQ_OP = {
  PREFETCH_CFG: 0x1,
  CFGI_STE: 0x3,
  CFGI_ALL: 0x4,
  CFGI_CD: 0x5,
  CFGI_CD_ALL: 0x6,
  TLBI_NH_ALL: 0x10,
  TLBI_NH_ASID: 0x11,
  TLBI_NH_VA: 0x12,
  TLBI_NH_VAA: 0x13,
  TLBI_EL2_ALL: 0x20,
  TLBI_EL2_ASID: 0x21,
  TLBI_EL2_VA: 0x22,
  TLBI_S12_VMALL: 0x28,
  TLBI_S2_IPA: 0x2a,
  TLBI_NSNH_ALL: 0x30,
  ATC_INV: 0x40,
  PRI_RESP: 0x41,
  RESUME: 0x44,
  CMD_SYNC: 0x46,
} as const;

export type Opcode = keyof typeof CMDQ_OP;

/** ATC_INV size field meaning "the whole address space" (ATC_INV_SIZE_ALL). */
export const ATC_INV_SIZE_ALL = 52;

/** CMDQ_TLBI_1_VA_MASK: address bits 63:12 of TLBI_NH_VA / TLBI_EL2_VA */
const TLBI_VA_MASK = 0xffff_ffff_ffff_f000n;
/** CMDQ_TLBI_1_IPA_MASK: address bits 51:12 of TLBI_S2_IPA */
const TLBI_IPA_MASK = 0x000f_ffff_ffff_f000n;
/** CMDQ_ATC_1_ADDR_MASK: address bits 63:12 of ATC_INV */
const ATC_ADDR_MASK = 0xffff_ffff_ffff_f000n;

/** struct arm_smmu_cmdq_ent: what the driver fills before building a command. */
export interface CmdqEnt {
  opcode: number;
  /** ATC_INV: SSV */
  substreamValid?: boolean;
  tlbi?: { asid?: number; vmid?: number; leaf?: boolean; ttl?: number; tg?: number; num?: number; scale?: number; addr?: bigint };
  atc?: { sid?: number; ssid?: number; size?: number; addr?: bigint; global?: boolean };
  cfgi?: { sid?: number; ssid?: number; leaf?: boolean };
  prefetch?: { sid?: number };
}

interface TlbiRange {
  num: number;
  scale: number;
  leaf: boolean;
  ttl: number;
  tg: number;
  addr: bigint;
}

/** A command in a queue, with exactly the fields its opcode carries. */
export type Cmd =
  | ({ op: "TLBI_NH_VA"; asid: number; vmid: number } & TlbiRange)
  /** by VA for every ASID of the VMID: only a guest's queue carries it (the driver never builds one) */
  | ({ op: "TLBI_NH_VAA"; vmid: number } & TlbiRange)
  | ({ op: "TLBI_EL2_VA"; asid: number } & TlbiRange)
  | ({ op: "TLBI_S2_IPA"; vmid: number } & TlbiRange)
  | { op: "TLBI_NH_ASID"; asid: number; vmid: number }
  | { op: "TLBI_EL2_ASID"; asid: number }
  | { op: "TLBI_NH_ALL"; vmid: number }
  | { op: "TLBI_S12_VMALL"; vmid: number }
  | { op: "TLBI_EL2_ALL" }
  | { op: "TLBI_NSNH_ALL" }
  | { op: "ATC_INV"; sid: number; ssid: number; ssv: boolean; global: boolean; size: number; addr: bigint }
  | { op: "CFGI_STE"; sid: number; leaf: boolean }
  | { op: "CFGI_CD"; sid: number; ssid: number; leaf: boolean }
  | { op: "CFGI_CD_ALL"; sid: number }
  | { op: "CFGI_ALL" }
  | { op: "PREFETCH_CFG"; sid: number }
  | { op: "CMD_SYNC" };

export type CmdOf<O extends Cmd["op"]> = Extract<Cmd, { op: O }>;

function range(ent: CmdqEnt, mask: bigint): TlbiRange {
  const t = ent.tlbi ?? {};
  return {
    num: t.num ?? 0,
    scale: t.scale ?? 0,
    leaf: t.leaf ?? false,
    ttl: t.ttl ?? 0,
    tg: t.tg ?? 0,
    addr: (t.addr ?? 0n) & mask,
  };
}

/** arm_smmu_cmdq_build_cmd(): the queued command, or null for an opcode the driver does not know. */
export function buildCmd(ent: CmdqEnt): Cmd | null {
  const t = ent.tlbi ?? {};
  switch (ent.opcode) {
    case CMDQ_OP.TLBI_NH_VA:
      return { op: "TLBI_NH_VA", asid: t.asid ?? 0, vmid: t.vmid ?? 0, ...range(ent, TLBI_VA_MASK) };
    case CMDQ_OP.TLBI_EL2_VA:
      return { op: "TLBI_EL2_VA", asid: t.asid ?? 0, ...range(ent, TLBI_VA_MASK) };
    case CMDQ_OP.TLBI_S2_IPA:
      return { op: "TLBI_S2_IPA", vmid: t.vmid ?? 0, ...range(ent, TLBI_IPA_MASK) };
    case CMDQ_OP.TLBI_NH_ASID:
      return { op: "TLBI_NH_ASID", asid: t.asid ?? 0, vmid: t.vmid ?? 0 };
    case CMDQ_OP.TLBI_EL2_ASID:
      return { op: "TLBI_EL2_ASID", asid: t.asid ?? 0 };
    case CMDQ_OP.TLBI_NH_ALL:
      return { op: "TLBI_NH_ALL", vmid: t.vmid ?? 0 };
    case CMDQ_OP.TLBI_S12_VMALL:
      return { op: "TLBI_S12_VMALL", vmid: t.vmid ?? 0 };
    case CMDQ_OP.TLBI_EL2_ALL:
      return { op: "TLBI_EL2_ALL" };
    case CMDQ_OP.TLBI_NSNH_ALL:
      return { op: "TLBI_NSNH_ALL" };
    case CMDQ_OP.ATC_INV: {
      const a = ent.atc ?? {};
      return {
        op: "ATC_INV",
        sid: a.sid ?? 0,
        ssid: a.ssid ?? 0,
        ssv: ent.substreamValid ?? false,
        global: a.global ?? false,
        size: a.size ?? 0,
        addr: (a.addr ?? 0n) & ATC_ADDR_MASK,
      };
    }
    case CMDQ_OP.CFGI_STE:
      return { op: "CFGI_STE", sid: ent.cfgi?.sid ?? 0, leaf: ent.cfgi?.leaf ?? false };
    case CMDQ_OP.CFGI_CD:
      return { op: "CFGI_CD", sid: ent.cfgi?.sid ?? 0, ssid: ent.cfgi?.ssid ?? 0, leaf: ent.cfgi?.leaf ?? false };
    case CMDQ_OP.CFGI_CD_ALL:
      return { op: "CFGI_CD_ALL", sid: ent.cfgi?.sid ?? 0 };
    case CMDQ_OP.CFGI_ALL:
      return { op: "CFGI_ALL" };
    case CMDQ_OP.PREFETCH_CFG:
      return { op: "PREFETCH_CFG", sid: ent.prefetch?.sid ?? 0 };
    case CMDQ_OP.CMD_SYNC:
      return { op: "CMD_SYNC" };
    default:
      return null;
  }
}

/**
 * The queued command of opcode `op` with every field zero: what
 * arm_smmu_cmdq_build_cmd() builds, and TLBI_NH_VAA, which the driver never
 * builds but arm_vsmmu_convert_user_cmd() forwards from a guest's queue.
 * null for an opcode neither has.
 */
export function cmdPrototype(op: Opcode): Cmd | null {
  if (op === "TLBI_NH_VAA") return { op, vmid: 0, num: 0, scale: 0, leaf: false, ttl: 0, tg: 0, addr: 0n };
  return buildCmd({ opcode: CMDQ_OP[op] });
}

/**
 * The command of opcode `op` with `fields` (64-bit values, booleans as 0 or
 * 1) and every other field zero, as a guest writes one; null for an opcode
 * without a prototype. `fields` must be fields of the opcode.
 */
export function makeCmd(op: Opcode, fields: Readonly<Record<string, bigint>>): Cmd | null {
  const proto = cmdPrototype(op) as Record<string, unknown> | null;
  if (!proto) return null;
  const cmd: Record<string, unknown> = { ...proto };
  for (const [k, v] of Object.entries(fields)) {
    const zero = proto[k];
    if (zero === undefined || k === "op") throw new RangeError(`${op} has no field "${k}"`);
    cmd[k] = typeof zero === "bigint" ? v : typeof zero === "boolean" ? v !== 0n : Number(v);
  }
  return cmd as unknown as Cmd;
}

/** The order fields are printed in, whatever order a command's object has them in. */
const FIELD_ORDER = ["asid", "vmid", "sid", "ssid", "ssv", "global", "num", "scale", "leaf", "ttl", "tg", "size", "addr"] as const;

/** One line per command, kernel-style: "TLBI_NH_VA asid 1 vmid 0 ... addr 0x10000". */
export function formatCmd(cmd: Cmd): string {
  /* built by concatenation: the explorer labels each queue step with one */
  let text: string = cmd.op;
  const fields = cmd as unknown as Record<string, number | bigint | boolean | undefined>;
  for (const k of FIELD_ORDER) {
    const v = fields[k];
    if (v === undefined) continue;
    if (typeof v === "bigint") text += ` ${k} ${hex(v)}`;
    else if (typeof v === "boolean") text += ` ${k} ${v ? 1 : 0}`;
    else if (k === "sid") text += ` ${k} ${hex(v)}`;
    else text += ` ${k} ${String(v)}`;
  }
  return text;
}

/** TLBI commands the SMMU executes against its TLB. */
export function isTlbi(op: Cmd["op"]): boolean {
  return op.startsWith("TLBI_");
}
