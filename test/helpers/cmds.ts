/** Exact command records for expectations, with the kernel's defaults spelled out once. */
import type { Cmd } from "../../src/model/commands.js";

export const SYNC: Cmd = { op: "CMD_SYNC" };

interface Range {
  num?: number;
  scale?: number;
  leaf?: boolean;
  ttl?: number;
  tg?: number;
}

function range(r: Range): { num: number; scale: number; leaf: boolean; ttl: number; tg: number } {
  return { num: r.num ?? 0, scale: r.scale ?? 0, leaf: r.leaf ?? true, ttl: r.ttl ?? 0, tg: r.tg ?? 0 };
}

export const nhVa = (asid: number, addr: bigint, r: Range = {}): Cmd => ({ op: "TLBI_NH_VA", asid, vmid: 0, addr, ...range(r) });
export const el2Va = (asid: number, addr: bigint, r: Range = {}): Cmd => ({ op: "TLBI_EL2_VA", asid, addr, ...range(r) });
export const s2Ipa = (vmid: number, addr: bigint, r: Range = {}): Cmd => ({ op: "TLBI_S2_IPA", vmid, addr, ...range(r) });
export const nhAsid = (asid: number): Cmd => ({ op: "TLBI_NH_ASID", asid, vmid: 0 });
export const el2Asid = (asid: number): Cmd => ({ op: "TLBI_EL2_ASID", asid });
export const nhAll = (vmid: number): Cmd => ({ op: "TLBI_NH_ALL", vmid });
export const s12Vmall = (vmid: number): Cmd => ({ op: "TLBI_S12_VMALL", vmid });
const cfgiSte = (sid: number): Cmd => ({ op: "CFGI_STE", sid, leaf: true });
export const cfgiCd = (sid: number, ssid = 0, leaf = true): Cmd => ({ op: "CFGI_CD", sid, ssid, leaf });
const prefetch = (sid: number): Cmd => ({ op: "PREFETCH_CFG", sid });

/** An ATC_INV; the whole ATC without PASID by default. */
export const atcInv = (sid: number, o: { ssid?: number; size?: number; addr?: bigint } = {}): Cmd => ({
  op: "ATC_INV",
  sid,
  ssid: o.ssid ?? 0,
  ssv: (o.ssid ?? 0) !== 0,
  global: false,
  size: o.size ?? 52,
  addr: o.addr ?? 0n,
});

/** arm_smmu_write_ste() taking `steps` synced steps, then its PREFETCH_CFG. */
export function steWrite(sid: number, steps: number): Cmd[] {
  const out: Cmd[] = [];
  for (let i = 0; i < steps; i++) out.push(cfgiSte(sid), SYNC);
  out.push(prefetch(sid));
  return out;
}

/** arm_smmu_write_cd_entry() taking `steps` synced steps: a CFGI_CD batch for every stream each. */
export function cdWrite(sids: number[], ssid: number, steps: number): Cmd[] {
  const out: Cmd[] = [];
  for (let i = 0; i < steps; i++) out.push(...sids.map((sid) => cfgiCd(sid, ssid)), SYNC);
  return out;
}
