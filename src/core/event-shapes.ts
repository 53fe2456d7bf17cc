/**
 * The shape of every event payload, request and reply on the bus, checked
 * where a plugin emits, serves or intercepts one, so that a plugin sending
 * something malformed is caught where it does it. Payloads hold 64-bit
 * addresses as bigints, which JSON Schema cannot describe; these checks are
 * small structural descriptions instead.
 */
import { CMDQ_OP, cmdPrototype, type Opcode } from "../model/commands.js";
import type { NotificationName, RequestName } from "../model/events.js";
import { ACCESSES, VIAS } from "../model/translation.js";

/** A check returns null when the value fits, else what is wrong at which path. */
type Check = (v: unknown, path: string) => string | null;

const typed =
  (what: string, ok: (v: unknown) => boolean): Check =>
  (v, path) =>
    ok(v) ? null : `${path || "the value"} must be ${what}, not ${describe(v)}`;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

const str = typed("a string", (v) => typeof v === "string");
const int = typed("an integer", (v) => Number.isSafeInteger(v));
const bool = typed("a boolean", (v) => typeof v === "boolean");
/** Simulated nanoseconds: finite and not negative. */
const time = typed("a time in ns (a finite number >= 0)", (v) => typeof v === "number" && Number.isFinite(v) && v >= 0);
const u64 = typed("a 64-bit unsigned bigint", (v) => typeof v === "bigint" && v >= 0n && v < 1n << 64n);

const nullable =
  (c: Check): Check =>
  (v, p) =>
    v === null ? null : c(v, p);

const oneOf =
  (...values: string[]): Check =>
  (v, p) =>
    typeof v === "string" && values.includes(v) ? null : `${p} must be one of ${values.join(", ")}, not ${describe(v)}`;

const arrayOf =
  (c: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return `${p} must be an array, not ${describe(v)}`;
    for (let i = 0; i < v.length; i++) {
      const e = c(v[i], `${p}[${i}]`);
      if (e) return e;
    }
    return null;
  };

/** An object with exactly these fields (optional ones end in "?"). */
function obj(fields: Record<string, Check>): Check {
  const required = Object.keys(fields).filter((k) => !k.endsWith("?"));
  const all = new Map(Object.entries(fields).map(([k, c]) => [k.replace(/\?$/, ""), c]));
  return (v, p) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return `${p || "the value"} must be an object, not ${describe(v)}`;
    const o = v as Record<string, unknown>;
    for (const k of required) if (!(k in o)) return `${p ? `${p}.` : ""}${k} is missing`;
    for (const [k, val] of Object.entries(o)) {
      const c = all.get(k);
      if (!c) return `${p ? `${p}.` : ""}${k} is not a field here`;
      if (val === undefined && !required.includes(k)) continue;
      const e = c(val, p ? `${p}.${k}` : k);
      if (e) return e;
    }
    return null;
  };
}

/** Per opcode: exactly the fields arm_smmu_cmdq_build_cmd() gives its command (cmdPrototype()). */
const CMD_SHAPES = new Map<string, Check>(
  (Object.keys(CMDQ_OP) as Opcode[]).flatMap((op) => {
    const proto = cmdPrototype(op);
    if (!proto) return [];
    const fields: Record<string, Check> = {};
    for (const [k, d] of Object.entries(proto)) fields[k] = k === "op" ? oneOf(op) : typeof d === "bigint" ? u64 : typeof d === "boolean" ? bool : int;
    return [[op, obj(fields)] as [string, Check]];
  }),
);

/** A command: a known opcode and exactly its fields. */
const cmd: Check = (v, p) => {
  const op = (v as { op?: unknown } | null)?.op;
  const shape = typeof op === "string" ? CMD_SHAPES.get(op) : undefined;
  return shape ? shape(v, p) : `${p}.op must be a command the queue takes, not ${describe(op)}`;
};

const translation = obj({
  base: int,
  size: int,
  pa: int,
  writable: bool,
  backing: arrayOf(obj({ table: u64, addr: int, pa: int })),
});

const via = oneOf(...VIAS);
const access = oneOf(...ACCESSES);

const stepped = typed("a stepped path (a generator)", (v) => typeof v === "object" && v !== null && typeof (v as { next?: unknown }).next === "function");

const translateResult: Check = (v, p) => {
  const kind = (v as { kind?: unknown } | null)?.kind;
  if (kind === "ok") return obj({ kind: str, t: translation, via })(v, p);
  if (kind === "fault") return obj({ kind: str, event: str, detail: str })(v, p);
  if (kind === "abort") return obj({ kind: str, detail: str })(v, p);
  return `${p || "the reply"}.kind must be ok, fault or abort, not ${describe(kind)}`;
};

const translatedReply: Check = (v, p) => {
  const kind = (v as { kind?: unknown } | null)?.kind;
  if (kind === "ok") return obj({ kind: str })(v, p);
  if (kind === "fault" || kind === "abort") return translateResult(v, p);
  return `${p || "the reply"}.kind must be ok, fault or abort, not ${describe(kind)}`;
};

const NOTIFICATION_SHAPES: Readonly<Record<NotificationName, Check>> = {
  "cmd:queued": obj({ smmu: str, cmd, seq: int, source: str, start: time, end: time }),
  "ep:atc-inv-done": obj({ device: str, sid: int, start: time, end: time, completed: bool, "source?": str }),
  "cpu:sync-wait": obj({ cpu: str, smmu: str, start: time, end: time }),
  "dma:served": obj({ device: str, sid: int, pasid: nullable(int), iova: int, access, via, cache: str, t: translation }),
  "dma:forbidden": obj({ device: str, sid: int, pasid: nullable(int), iova: int, access, cache: str, t: translation, detail: str }),
  "cache:fill": obj({ cache: str, tag: str, t: translation }),
  "ep:ats": obj({ device: str, enabled: bool, stu: int }),
  "driver:warn": obj({ fn: str, cond: str }),
  "driver:log": obj({ fn: str, level: oneOf("err", "warn", "info"), msg: str }),
  "driver:errno": obj({ fn: str, errno: typed("a positive errno", (v) => Number.isSafeInteger(v) && (v as number) > 0), cond: str, "lacks?": bool }),
  "invs:publish": obj({ domain: str, entries: int }),
  "invs:trim": obj({ domain: str, walkers: int, ats: bool }),
  "pgtable:unmap": obj({ table: u64, leaves: arrayOf(obj({ iova: int, size: int, pa: int, writable: bool })) }),
  "pgtable:free": obj({ table: u64, freed: arrayOf(u64) }),
  "walk:cached": obj({ smmu: str, cache: str, sid: int, ssid: nullable(int), iova: int, access, level: int, base: int, next: u64 }),
  "cache:lookup": obj({ cache: str, tag: str, addr: int, hit: bool }),
  "cache:invalidate": obj({ cache: str, by: str, entries: int, at: time, "source?": str }),
  "walk:done": obj({ smmu: str, sid: int, ssid: nullable(int), iova: int, stage: typed("1 or 2", (v) => v === 1 || v === 2), reads: int, ok: bool }),
  "dma:done": obj({ device: str, sid: int, pasid: nullable(int), iova: int, access, result: oneOf("ok", "fault", "abort"), "via?": via, "pa?": int, "event?": str, "detail?": str }),
};

const REQUEST_SHAPES: Readonly<Record<RequestName, [request: Check, reply: Check]>> = {
  "smmu:cmdq": [obj({ cmds: arrayOf(cmd), sync: bool, source: str, at: time }), obj({ synced: bool, "done?": time, "ticket?": time })],
  "smmu:cmdq-poll": [obj({ ticket: time }), obj({ completed: bool, synced: bool })],
  "smmu:tlb-tags": [obj({}), obj({ tags: arrayOf(str) })],
  "smmu:translate": [obj({ sid: int, ssid: nullable(int), iova: int, access, ats: bool }), translateResult],
  "smmu:translate-steps": [obj({ sid: int, ssid: nullable(int), iova: int, access, ats: bool }), stepped],
  "smmu:translated": [obj({ sid: int, ssid: nullable(int), addr: int, access }), translatedReply],
  "ep:dma": [obj({ iova: int, pasid: nullable(int), access, "sid?": int }), obj({ result: translateResult })],
  "ep:dma-steps": [obj({ iova: int, pasid: nullable(int), access, "sid?": int }), stepped],
  "ep:atc-inv": [obj({ sid: int, ssid: int, ssv: bool, addr: int, size: int, at: time, "sentAtsDisables?": int, "source?": str }), obj({ completed: bool, "done?": time })],
  "smmu:show": [obj({ what: oneOf("ste", "cd", "iotlb"), "sid?": int, "ssid?": int }), obj({ lines: arrayOf(str) })],
  "ep:show": [obj({ what: oneOf("atc") }), obj({ lines: arrayOf(str) })],
};

/** Why a notification payload is malformed, or null. */
export function checkNotification(event: NotificationName, payload: unknown): string | null {
  return NOTIFICATION_SHAPES[event](payload, "");
}

/** Why a request (or its reply) is malformed, or null. */
export function checkRequest(event: RequestName, req: unknown): string | null {
  return REQUEST_SHAPES[event][0](req, "");
}

export function checkReply(event: RequestName, reply: unknown): string | null {
  return REQUEST_SHAPES[event][1](reply, "");
}
