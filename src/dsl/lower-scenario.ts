/**
 * Lowering scenarios: statements and expectations into flat Stmt lists,
 * with every reference to a node checked against the topology.
 */
import type { IToken } from "chevrotain";
import { errnoName, ERRNOS } from "../core/errno.js";
import { CMDQ_OP, cmdPrototype, makeCmd, type Cmd, type Opcode } from "../model/commands.js";
import type { DomainStage, Topology } from "../model/topology.js";
import { VIAS, type Access, type Via } from "../model/translation.js";
import { INV_TYPE_NAMES, isInvTypeName } from "../model/driver.js";
import { EMULATOR_ERRORS, isOperation, type CmdPattern, type DmaExpectation, type DriverChoice, type ErrorExpectation, type InvPattern, type ShowWhat, type Stmt } from "./ast.js";
import { didYouMean } from "../core/suggest.js";
import { assertNever } from "../model/assert-never.js";
import { DRIVER_NODE, driverPlugin } from "../model/topology.js";
import { stringValue, type LowerBase } from "./lower-core.js";
import { LitmusLowerer } from "./lower-litmus.js";
import { setOwn } from "./lower-topology.js";
import { isString, isWord } from "./syntax.js";
import type * as S from "./syntax.js";
import { hex } from "../model/hex.js";

/** The commands a queue can hold, and the fields each carries (as arm_smmu_cmdq_build_cmd() fills them). */
const FIELDS = new Map<string, string[]>(
  (Object.keys(CMDQ_OP) as Opcode[]).flatMap((op) => {
    const cmd = cmdPrototype(op);
    return cmd ? [[op, Object.keys(cmd).filter((k) => k !== "op")] as [string, string[]]] : [];
  }),
);
const OPCODES = [...FIELDS.keys()];
/**
 * The width of each command field, as arm_smmu_cmdq_build_cmd() places it
 * (CMDQ_TLBI_0_ASID is bits 63:48, CMDQ_CFGI_0_SID 63:32, ...): a guest's
 * command must fit. Addresses are whole words whose bits 11:0 hold other
 * fields, so they are 4 KiB aligned.
 */
const FIELD_BITS: Record<string, bigint> = { asid: 16n, vmid: 16n, sid: 32n, ssid: 20n, ssv: 1n, global: 1n, num: 5n, scale: 5n, leaf: 1n, ttl: 2n, tg: 2n, size: 6n, addr: 64n };

/** What each `show` shows, and of which kind of node. */
const SHOWN: Record<ShowWhat, "domain" | "SMMU" | "device"> = { invs: "domain", ste: "device", cd: "device", iotlb: "SMMU", atc: "device" };

/** "an s1", "a nested": the article as it is read aloud. */
function aStage(stage: DomainStage | undefined): string {
  return `${stage?.startsWith("s") ? "an" : "a"} ${stage ?? "unknown"}`;
}

/** The last address an mmu notifier's range can end at (ULONG_MAX: the whole mm's end). */
const MM_END = (1n << 64n) - 1n;

export class ScenarioLowerer {
  private readonly devices: Set<string>;
  private readonly smmus: Set<string>;
  private readonly domains: Map<string, DomainStage>;
  private readonly vsmmus: Set<string>;
  /** Every node a plugin models: SMMUs, devices, vSMMUs (and the driver, DRIVER_NODE, which `expect state` also reads). */
  private readonly nodes: Set<string>;
  /** Threads and the conditions over their registers. */
  private readonly litmus: LitmusLowerer;
  /** Lowering a `concurrently` block's body: a thread may be there. */
  private inBlock = false;

  constructor(
    private readonly lo: LowerBase,
    topology: Topology,
  ) {
    this.litmus = new LitmusLowerer(lo);
    this.devices = new Set(topology.devices.map((d) => d.name));
    this.smmus = new Set(topology.smmus.map((s) => s.name));
    this.domains = new Map(topology.domains.map((d) => [d.name, d.stage]));
    this.vsmmus = new Set((topology.vsmmus ?? []).map((v) => v.name));
    this.nodes = new Set([...this.smmus, ...this.devices, ...this.vsmmus]);
  }

  driver(decl: S.DriverDecl): DriverChoice {
    const variant = decl.variant?.image;
    const choice: DriverChoice = { plugin: driverPlugin(decl.plugin.image), ...(variant ? { variant } : {}), span: this.lo.spanOf(decl) };
    for (const prop of decl.options) {
      const key = prop.key;
      const options = (choice.options ??= {});
      const spans = (choice.optionSpans ??= {});
      if (Object.hasOwn(spans, key.image)) {
        this.lo.error(key, "duplicate", `option "${key.image}" is given twice`);
        continue;
      }
      setOwn(spans, key.image, this.lo.spanOf(key));
      const v = this.lo.looseValues(prop.values);
      if (v !== undefined) setOwn(options, key.image, v);
    }
    return choice;
  }

  /** The statements of a block (a scenario, a loop, an expect error). */
  block(stmts: readonly S.Stmt[]): Stmt[] {
    const out: Stmt[] = [];
    for (const s of this.statements(stmts)) out.push(s);
    return out;
  }

  /** The statements of a block, lowered one at a time as they are taken (a long scenario need not hold them). */
  *statements(stmts: readonly S.Stmt[]): Generator<Stmt, void, undefined> {
    for (const s of stmts) {
      if (s.kind === "stmtFor") {
        for (const _ of this.lo.iterate(s.head)) yield* this.statements(s.body);
      } else if (!this.lo.statement(s)) return;
      else if (s.kind === "driverDecl") this.lo.error(s, "misplaced", "a scenario's driver must be its first statement");
      else {
        const stmt = this.stmt(s);
        if (stmt) yield stmt;
      }
    }
  }

  /** The node `node` names, which must be one of `known` (or `extra`). */
  private ref(node: S.Name | undefined, what: string, known: ReadonlySet<string> | ReadonlyMap<string, unknown>, extra: string[] = []): string | undefined {
    if (!node) return undefined;
    const name = this.lo.nameText(node);
    if (name === undefined) return undefined;
    if (known.has(name) || extra.includes(name)) return name;
    /* part of the topology is missing (an include that could not be read or parsed, reported): a name may be in it */
    if (this.lo.missing) return undefined;
    /* a message built once per place: the suggestion looks at every node */
    return this.lo.error(node, "unknown-node", () => `unknown ${what} "${name}"${didYouMean(name, [...known.keys(), ...extra])}`);
  }

  private optInt(e: S.Expr | undefined, what: string, max?: bigint): number | undefined | null {
    if (!e) return null;
    return this.lo.int(e, what, 0n, max);
  }

  /** A statement; block() unrolls the loops and refuses a driver declaration. */
  private stmt(n: Exclude<S.Stmt, { kind: "stmtFor" | "driverDecl" }>): Stmt | undefined {
    const span = this.lo.spanOf(n);
    switch (n.kind) {
      case "attach": {
        const device = this.ref(n.device, "device", this.devices);
        const target = this.ref(n.target, "domain", this.domains, ["blocked", "identity"]);
        const pasid = this.optInt(n.pasid, "PASID", 0xfffffn);
        if (device === undefined || target === undefined || pasid === undefined) return undefined;
        if (pasid !== null && (target === "blocked" || target === "identity")) {
          return this.lo.error(n.target, "type", `a PASID takes a domain, not "${target}" (use detach ... pasid)`);
        }
        return { kind: "attach", device, target, ...(pasid !== null ? { pasid } : {}), span };
      }
      case "detach": {
        const device = this.ref(n.device, "device", this.devices);
        const pasid = this.optInt(n.pasid, "PASID", 0xfffffn);
        if (device === undefined || pasid === undefined) return undefined;
        return pasid === null ? { kind: "attach", device, target: "blocked", span } : { kind: "detach", device, pasid, span };
      }
      case "map":
      case "unmap": {
        const domain = this.ref(n.domain, "domain", this.domains);
        const iova = this.lo.int(n.iova, "IOVA");
        const size = this.lo.int(n.size, "size", 1n);
        if (domain === undefined || iova === undefined || size === undefined) return undefined;
        if (n.kind === "unmap") return { kind: "unmap", domain, iova, size, span };
        const pa = this.optInt(n.pa, "physical address");
        if (pa === undefined) return undefined;
        return { kind: "map", domain, iova, size, readonly: n.readonly, ...(pa !== null ? { pa } : {}), span };
      }
      case "flush": {
        const domain = this.ref(n.domain, "domain", this.domains);
        if (domain === undefined) return undefined;
        /* iommu_flush_iotlb_all() calls nothing: arm_smmu_nested_ops and arm_smmu_sva_domain_ops have no flush_iotlb_all */
        if (this.domains.get(domain) === "nested") {
          return this.lo.error(n.domain, "type", `"${domain}" is a nested domain, which the host cannot flush; its guest invalidates its stage 1 (unmap ${domain} ...)`);
        }
        if (this.domains.get(domain) === "sva") {
          return this.lo.error(n.domain, "type", `"${domain}" is an SVA domain, which iommu_flush_iotlb_all() cannot flush; its mm's notifier invalidates it (mm invalidate ${domain};)`);
        }
        return { kind: "flush", domain, span };
      }
      case "dma": {
        const d = this.dmaSpec(n.spec);
        return d && { kind: "dma", ...d, span };
      }
      case "sva":
        return this.sva(n, span);
      case "mm":
        return this.mm(n, span);
      case "vsmmuInvalidate": {
        const vsmmu = this.ref(n.vsmmu, "vSMMU", this.vsmmus);
        const cmds = this.items(n.items, (p) => this.guestCmds(p));
        if (vsmmu === undefined || cmds.some((c) => !c)) return undefined;
        return { kind: "vsmmu-invalidate", vsmmu, cmds: (cmds as Cmd[][]).flat(), span };
      }
      case "fail": {
        const count = this.optInt(n.count, "count", 1_000_000n);
        if (count === undefined) return undefined;
        return { kind: "fail-alloc", site: n.site.image, count: count ?? 1, span };
      }
      case "fault": {
        const device = this.ref(n.device, "device", this.devices);
        if (device === undefined) return undefined;
        return { kind: "fault", device, fault: n.fault.image, on: !n.off, span };
      }
      case "expect":
        return this.expect(n.expectation, span);
      case "array":
        return this.array(n.target, n.def, span);
      case "concurrently": {
        const outer = this.inBlock;
        this.inBlock = true;
        const body = this.block(n.body);
        this.inBlock = outer;
        const bad = body.find((b) => !isOperation(b));
        if (bad) return this.lo.error(bad.span, "misplaced", "only operations (attach, detach, map, unmap, flush, dma, mm, vsmmu invalidate, thread) run concurrently");
        return { kind: "concurrently", body: body.filter(isOperation), span };
      }
      case "thread": {
        if (!this.inBlock) return this.lo.error(n.first, "misplaced", "a thread runs only inside a concurrently block, beside the other threads");
        const ops = this.litmus.thread(n.body, span);
        return ops && { kind: "thread", ops, span };
      }
      case "show":
        return this.show(n, span);
      case "unref": {
        const base = this.arrayRef(n.base);
        const other = this.arrayRef(n.other);
        return base !== undefined && other !== undefined ? { kind: "array-unref", base, other, span } : undefined;
      }
      default:
        return assertNever(n);
    }
  }

  /** `show WHAT NAME [pasid N];`: the name is a domain (invs), an SMMU (iotlb) or a device; only a CD is at a PASID. */
  private show(n: Extract<S.Stmt, { kind: "show" }>, span: Stmt["span"]): Stmt | undefined {
    const what = n.what.image;
    if (!Object.hasOwn(SHOWN, what)) {
      return this.lo.error(n.what, "unknown-value", `expected one of ${Object.keys(SHOWN).join(", ")} to show, not "${what}"${didYouMean(what, Object.keys(SHOWN))}`);
    }
    const of = SHOWN[what as ShowWhat];
    const kinds = { domain: this.domains, SMMU: this.smmus, device: this.devices };
    /* a node of another kind: say which kind this one takes, and what the name is */
    const name = this.lo.nameText(n.target);
    const is = (Object.keys(kinds) as (keyof typeof kinds)[]).find((k) => k !== of && name !== undefined && kinds[k].has(name));
    if (is && !kinds[of].has(name!)) return this.lo.error(n.target, "unknown-node", `show ${what} takes ${of === "SMMU" ? "an" : "a"} ${of}, and ${name} is ${is === "SMMU" ? "an" : "a"} ${is}`);
    const target = this.ref(n.target, of, kinds[of]);
    if (n.pasid && what !== "cd") return this.lo.error(n.pasid, "misplaced", `only a CD is shown at a PASID (show cd ${target ?? "DEV"} pasid N), not ${what}`);
    const pasid = this.optInt(n.pasid, "PASID", 0xfffffn);
    if (target === undefined || pasid === undefined) return undefined;
    return { kind: "show", what: what as ShowWhat, target, ...(pasid !== null ? { pasid } : {}), span };
  }

  /** Arrays a scenario has defined so far (statements in order). */
  private readonly arrays = new Set<string>();

  private arrayRef(t: IToken): string | undefined {
    if (this.arrays.has(t.image)) return t.image;
    const near = didYouMean(t.image, [...this.arrays]);
    return this.lo.error(t, "unknown-array", `unknown array "${t.image}"${near}`);
  }

  private array(targetTok: IToken, def: S.ArrayDef, span: Stmt["span"]): Stmt | undefined {
    const target = targetTok.image;
    const stmt = this.arrayDef(target, def, span);
    this.arrays.add(target);
    return stmt;
  }

  private arrayDef(target: string, def: S.ArrayDef, span: Stmt["span"]): Stmt | undefined {
    switch (def.kind) {
      case "alloc": {
        const size = this.lo.int(def.size, "array size", 0n, 1_000_000n);
        return size === undefined ? undefined : { kind: "array-alloc", target, size, span };
      }
      case "merge": {
        const base = this.arrayRef(def.base);
        const other = this.arrayRef(def.other);
        return base !== undefined && other !== undefined ? { kind: "array-merge", target, base, other, span } : undefined;
      }
      case "purge": {
        const base = this.arrayRef(def.base);
        return base !== undefined ? { kind: "array-purge", target, base, span } : undefined;
      }
      case "set": {
        const entries = def.entries.map((p) => this.invPattern(p));
        return entries.every((e) => e) ? { kind: "array-set", target, entries: entries as InvPattern[], span } : undefined;
      }
      default:
        return assertNever(def);
    }
  }

  private dmaSpec(n: S.DmaSpec): { device: string; access: Access; iova: number; pasid?: number; sid?: number } | undefined {
    const device = this.ref(n.device, "device", this.devices);
    const iova = this.lo.int(n.iova, "IOVA");
    const pasid = this.optInt(n.pasid, "PASID", 0xfffffn);
    const sid = this.optInt(n.sid, "StreamID", 0x7fffffffn);
    if (device === undefined || iova === undefined || pasid === undefined || sid === undefined) return undefined;
    return {
      device,
      access: n.access.image as Access,
      iova,
      ...(pasid !== null ? { pasid } : {}),
      ...(sid !== null ? { sid } : {}),
    };
  }

  private sva(n: Extract<S.Stmt, { kind: "sva" }>, span: Stmt["span"]): Stmt | undefined {
    const device = this.ref(n.device, "device", this.devices);
    const pasid = this.lo.int(n.pasid, "PASID", 1n, 0xfffffn);
    if (device === undefined || pasid === undefined) return undefined;
    if (!n.bind) return { kind: "detach", device, pasid, span };
    const domain = this.svaDomain(n.domain!);
    return domain === undefined ? undefined : { kind: "attach", device, target: domain, pasid, sva: true, span };
  }

  private svaDomain(node: S.Name): string | undefined {
    const domain = this.ref(node, "domain", this.domains);
    if (domain === undefined) return undefined;
    const stage = this.domains.get(domain);
    if (stage !== "sva") return this.lo.error(node, "type", `"${domain}" is ${aStage(stage)} domain; this needs an sva domain`);
    return domain;
  }

  private mm(n: Extract<S.Stmt, { kind: "mm" }>, span: Stmt["span"]): Stmt | undefined {
    const domain = this.svaDomain(n.domain);
    if (domain === undefined) return undefined;
    if (n.release) return { kind: "mm-release", domain, span };
    if (!n.start) return { kind: "mm-invalidate", domain, span };
    const s = this.lo.expr(n.start);
    const size = this.lo.expr(n.size!);
    if (s === undefined || size === undefined) return undefined;
    /* the notifier's [start, end) is of unsigned longs; the whole mm ends at ULONG_MAX */
    if (s < 0n) return this.lo.error(n.start, "range", `start ${s} is negative`);
    if (size < 0n) return this.lo.error(n.size!, "range", `size ${size} is negative`);
    if (s + size > MM_END) return this.lo.error(n.size!, "range", `the range ends at 0x${(s + size).toString(16)}, beyond the 64-bit address space (0x${MM_END.toString(16)} at most)`);
    return { kind: "mm-invalidate", domain, start: s, size, span };
  }

  private expect(n: S.Expectation, span: Stmt["span"]): Stmt | undefined {
    switch (n.kind) {
      case "expectCommands": {
        const smmu = this.ref(n.smmu, "SMMU", this.smmus);
        const patterns = this.items(n.items, (p) => this.cmdPattern(p));
        if (smmu === undefined || patterns.some((p) => !p)) return undefined;
        return { kind: "expect-commands", smmu, contains: n.contains, patterns: patterns as CmdPattern[], span };
      }
      case "expectCount": {
        const smmu = this.ref(n.smmu, "SMMU", this.smmus);
        const what = n.what;
        const count = this.lo.int(n.count, "count");
        if (what.image !== "commands" && !FIELDS.has(what.image)) {
          const near = didYouMean(what.image, ["commands", ...OPCODES]);
          return this.lo.error(what, "unknown-opcode", `expected "commands" or an opcode, not "${what.image}"${near}`);
        }
        if (smmu === undefined || count === undefined) return undefined;
        return { kind: "expect-count", smmu, what: what.image, count, span };
      }
      case "expectInvs": {
        const domain = this.ref(n.domain, "domain", this.domains);
        const trash = n.trash ? this.lo.int(n.trash, "trash count") : null;
        const entries = this.items(n.items, (p) => {
          const e = this.invPattern(p);
          return e && e.smmu === undefined ? this.lo.error(p, "missing", "an entry of a domain's array names its SMMU") : e;
        });
        if (domain === undefined || trash === undefined || entries.some((e) => !e)) return undefined;
        return { kind: "expect-invs", domain, entries: entries as InvPattern[], ...(trash !== null ? { trash } : {}), span };
      }
      case "expectDma": {
        const d = this.dmaSpec(n.spec);
        const expect = this.dmaResult(n.result);
        return d && expect && { kind: "dma", ...d, expect, span };
      }
      case "expectError": {
        const error = this.errorSpec(n.minus, n.error);
        const body = this.block(n.body);
        return error && { kind: "expect-error", error, body, span };
      }
      case "expectWarn": {
        const text = stringValue(n.text);
        const body = this.block(n.body);
        if (text === "") return this.lo.error(n.text, "range", "expect warn needs the WARN's function or part of its condition, not an empty string");
        return { kind: "expect-warn", text, body, span };
      }
      case "expectArray": {
        const target = this.arrayRef(n.target);
        const trash = n.trash ? this.lo.int(n.trash, "trash count") : null;
        const entries = n.entries.map((p) => this.invPattern(p));
        if (target === undefined || trash === undefined || entries.some((e) => !e)) return undefined;
        return { kind: "expect-array", target, entries: entries as InvPattern[], ...(trash !== null ? { trash } : {}), span };
      }
      case "expectState": {
        const node = this.ref(n.node, "node", this.nodes, [DRIVER_NODE]);
        const v = n.value;
        const bare = isWord(v) ? v.image : undefined;
        const value = isString(v)
          ? stringValue(v)
          : bare === "true" || bare === "false"
            ? bare === "true"
            : bare !== undefined && this.lo.lookup(bare) === undefined
              ? bare
              : this.lo.int(v, "value", BigInt(Number.MIN_SAFE_INTEGER));
        if (node === undefined || value === undefined) return undefined;
        return { kind: "expect-state", node, key: n.key.image, value, span };
      }
      case "expectNoStale":
        return { kind: "expect-stale", none: true, span };
      case "expectCond": {
        const cond = this.litmus.cond(n.cond);
        return cond && { kind: "expect-cond", cond, span };
      }
      case "expectStale": {
        const device = n.device ? this.ref(n.device, "device", this.devices) : undefined;
        const iova = n.iova ? this.lo.int(n.iova, "IOVA") : undefined;
        if ((n.device && device === undefined) || (n.iova && iova === undefined)) return undefined;
        return { kind: "expect-stale", none: false, ...(device ? { device } : {}), ...(iova !== undefined ? { iova } : {}), span };
      }
      default:
        return assertNever(n);
    }
  }

  /** The items of an expect block, loops unrolled. */
  private items<I extends S.CmdItem | S.InvItem, T>(items: readonly I[], one: (p: Exclude<I, { head: S.ForHead }>) => T | undefined, out: (T | undefined)[] = []): (T | undefined)[] {
    for (const item of items) {
      if ("head" in item) this.lo.loop(item.head, () => this.items(item.items as I[], one, out));
      else if (!this.lo.statement(item)) break;
      else out.push(one(item as Exclude<I, { head: S.ForHead }>));
    }
    return out;
  }

  private cmdPattern(p: S.CmdPattern): CmdPattern | undefined {
    const opTok = p.op;
    const fields = FIELDS.get(opTok.image);
    if (!fields) {
      const near = didYouMean(opTok.image, OPCODES);
      return this.lo.error(opTok, "unknown-opcode", `unknown command "${opTok.image}"${near}`);
    }
    const out: Record<string, bigint> = {};
    let ok = true;
    p.fields.forEach((f, i) => {
      if (!fields.includes(f.image)) {
        const near = didYouMean(f.image, fields);
        this.lo.error(f, "unknown-field", `${opTok.image} has no field "${f.image}"${near || ` (it has: ${fields.join(", ") || "none"})`}`);
        ok = false;
        return;
      }
      const v = this.lo.expr(p.values[i]!);
      if (v === undefined) ok = false;
      else out[f.image] = v;
    });
    const repeat = p.repeat ? this.lo.int(p.repeat, "repeat count", 1n, 1_000_000n) : 1;
    if (!ok || repeat === undefined) return undefined;
    return { op: opTok.image as Cmd["op"], fields: out, rest: p.rest !== undefined, repeat, span: this.lo.spanOf(p) };
  }

  /** A command a guest queues on its vSMMU, written as a pattern: every field it does not give is 0; `x N` queues N of it. */
  private guestCmds(p: S.CmdPattern): Cmd[] | undefined {
    const pattern = this.cmdPattern(p);
    if (!pattern) return undefined;
    if (p.rest) return this.lo.error(p.rest, "misplaced", "a guest's command is written out: it has no '...' (a field it does not give is 0)");
    let ok = true;
    p.fields.forEach((f, i) => {
      const v = pattern.fields[f.image]!;
      const bits = FIELD_BITS[f.image]!;
      if (v < 0n || v >= 1n << bits) {
        this.lo.error(p.values[i]!, "range", `${f.image} ${v} does not fit its ${bits} bits (0..${(1n << bits) - 1n})`);
        ok = false;
      } else if (f.image === "addr" && v % 0x1000n !== 0n) {
        this.lo.error(p.values[i]!, "range", `addr ${hex(v)} is not 4 KiB aligned: the command holds address bits 63:12`);
        ok = false;
      }
    });
    if (!ok) return undefined;
    const cmd = makeCmd(pattern.op, pattern.fields)!;
    return Array.from({ length: pattern.repeat }, () => cmd);
  }

  private invPattern(p: S.InvPattern): InvPattern | undefined {
    const smmu = p.smmu ? this.ref(p.smmu, "SMMU", this.smmus) : undefined;
    const type = p.type;
    if (!isInvTypeName(type.image)) {
      const near = didYouMean(type.image, INV_TYPE_NAMES);
      return this.lo.error(type, "unknown-type", `unknown invalidation type "${type.image}"${near}`);
    }
    const id = this.lo.int(p.id, "id", 0n, 0x7fffffffn);
    const ssid = p.ssid ? this.lo.int(p.ssid, "ssid", 0n, 0xfffffn) : 0;
    const users = p.users ? this.lo.int(p.users, "users", 0n) : 1;
    if ((p.smmu && smmu === undefined) || id === undefined || ssid === undefined || users === undefined) return undefined;
    return { ...(smmu !== undefined ? { smmu } : {}), type: type.image, id, ssid, users, span: this.lo.spanOf(p) };
  }

  private dmaResult(r: S.DmaResult): DmaExpectation | undefined {
    if (r.ok) return { kind: "ok" };
    if (r.abort) return { kind: "abort" };
    if (r.fault) return r.event ? { kind: "fault", event: r.event.image } : { kind: "fault" };
    const via = r.via!;
    if (!VIAS.includes(via.image as Via)) {
      const near = didYouMean(via.image, VIAS);
      return this.lo.error(via, "unknown-value", `expected one of ${VIAS.join(", ")}, not "${via.image}"${near}`);
    }
    return { kind: "via", via: via.image as Via };
  }

  private errorSpec(minus: boolean, t: IToken): ErrorExpectation | undefined {
    if (minus) {
      const v = ERRNOS.get(t.image);
      if (v === undefined) {
        const near = didYouMean(`-${t.image}`, [...ERRNOS.keys()].map((k) => `-${k}`));
        return this.lo.error(t, "unknown-errno", `unknown errno "-${t.image}"${near}`);
      }
      return { kind: "errno", errno: v, name: errnoName(v) };
    }
    const kind = EMULATOR_ERRORS.find((e) => e === t.image);
    if (!kind) {
      const near = didYouMean(t.image, [...EMULATOR_ERRORS, ...[...ERRNOS.keys()].map((k) => `-${k}`)]);
      return this.lo.error(t, "unknown-error", `expected -ERRNO, livelock, oops or use_after_free, not "${t.image}"${near}`);
    }
    return { kind };
  }
}
