/**
 * Lowering scenarios: statements and expectations into flat Stmt lists,
 * with every reference to a node checked against the topology.
 */
import type { CstNode, IToken } from "chevrotain";
import { errnoName, ERRNOS } from "../core/errno.js";
import { CMDQ_OP, cmdPrototype, makeCmd, type Cmd, type Opcode } from "../model/commands.js";
import type { DomainStage, Topology } from "../model/topology.js";
import type { Access, Via } from "../model/translation.js";
import { CONCURRENT_KINDS, type CmdPattern, type DmaExpectation, type DriverChoice, type ErrorExpectation, type InvPattern, type Stmt } from "./ast.js";
import { didYouMean } from "../core/suggest.js";
import { DRIVER_NODE, driverPlugin } from "../model/topology.js";
import { only, stringValue, sub, subs, tok, toks, type LowerBase } from "./lower-core.js";

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
const INV_TYPES = ["S1_ASID", "S2_VMID", "S2_VMID_S1_CLEAR", "ATS", "ATS_FULL"];
const VIAS: Via[] = ["atc", "iotlb", "walk", "bypass"];
/** "an s1", "a nested": the article as it is read aloud. */
function aStage(stage: DomainStage | undefined): string {
  return `${stage?.startsWith("s") ? "an" : "a"} ${stage ?? "unknown"}`;
}

const EMULATOR_ERRORS = ["livelock", "oops", "use_after_free"] as const;

export class ScenarioLowerer {
  private readonly devices: Set<string>;
  private readonly smmus: Set<string>;
  private readonly domains: Map<string, DomainStage>;
  private readonly vsmmus: Set<string>;
  /** Every node a plugin models: SMMUs, devices, vSMMUs (and the driver, DRIVER_NODE, which `expect state` also reads). */
  private readonly nodes: Set<string>;

  constructor(
    private readonly lo: LowerBase,
    topology: Topology,
  ) {
    this.devices = new Set(topology.devices.map((d) => d.name));
    this.smmus = new Set(topology.smmus.map((s) => s.name));
    this.domains = new Map(topology.domains.map((d) => [d.name, d.stage]));
    this.vsmmus = new Set((topology.vsmmus ?? []).map((v) => v.name));
    this.nodes = new Set([...this.smmus, ...this.devices, ...this.vsmmus]);
  }

  driver(decl: CstNode): DriverChoice {
    const variant = tok(decl, "variant")?.image;
    const choice: DriverChoice = { plugin: driverPlugin(tok(decl, "plugin")!.image), ...(variant ? { variant } : {}), span: this.lo.spanOf(decl) };
    for (const prop of subs(decl, "property")) {
      const key = tok(prop, "key")!;
      const options = (choice.options ??= {});
      const spans = (choice.optionSpans ??= {});
      if (key.image in spans) {
        this.lo.error(key, "duplicate", `option "${key.image}" is given twice`);
        continue;
      }
      spans[key.image] = this.lo.spanOf(key);
      const v = this.lo.looseValues(subs(prop, "value"));
      if (v !== undefined) options[key.image] = v;
    }
    return choice;
  }

  /** The statements of a block (a scenario, a loop, an expect error). */
  block(stmts: CstNode[], out: Stmt[] = []): Stmt[] {
    for (const s of stmts) {
      const inner = only(s);
      if (inner.name === "stmtFor") this.lo.loop(sub(inner, "forHead")!, () => this.block(subs(inner, "stmt"), out));
      else if (inner.name === "driverDecl") this.lo.error(inner, "misplaced", "a scenario's driver must be its first statement");
      else {
        const stmt = this.stmt(inner);
        if (stmt) out.push(stmt);
      }
    }
    return out;
  }

  private ref(node: CstNode | undefined, what: string, known: ReadonlySet<string> | ReadonlyMap<string, unknown>, extra: string[] = []): string | undefined {
    if (!node) return undefined;
    const name = this.lo.nameText(node);
    if (name === undefined) return undefined;
    if (known.has(name) || extra.includes(name)) return name;
    const near = didYouMean(name, [...known.keys(), ...extra]);
    return this.lo.error(node, "unknown-node", `unknown ${what} "${name}"${near}`);
  }

  private optInt(node: CstNode, label: string, what: string, max?: bigint): number | undefined | null {
    const e = sub(node, label);
    if (!e) return null;
    return this.lo.int(e, what, 0n, max);
  }

  private stmt(n: CstNode): Stmt | undefined {
    const span = this.lo.spanOf(n);
    switch (n.name) {
      case "attach": {
        const device = this.ref(sub(n, "device"), "device", this.devices);
        const target = this.ref(sub(n, "target"), "domain", this.domains, ["blocked", "identity"]);
        const pasid = this.optInt(n, "pasid", "PASID", 0xfffffn);
        if (device === undefined || target === undefined || pasid === undefined) return undefined;
        if (pasid !== null && (target === "blocked" || target === "identity")) {
          return this.lo.error(sub(n, "target")!, "type", `a PASID takes a domain, not "${target}" (use detach ... pasid)`);
        }
        return { kind: "attach", device, target, ...(pasid !== null ? { pasid } : {}), span };
      }
      case "detach": {
        const device = this.ref(sub(n, "device"), "device", this.devices);
        const pasid = this.optInt(n, "pasid", "PASID", 0xfffffn);
        if (device === undefined || pasid === undefined) return undefined;
        return pasid === null ? { kind: "attach", device, target: "blocked", span } : { kind: "detach", device, pasid, span };
      }
      case "map":
      case "unmap": {
        const domain = this.ref(sub(n, "domain"), "domain", this.domains);
        const iova = this.lo.int(sub(n, "iova")!, "IOVA");
        const size = this.lo.int(sub(n, "size")!, "size", 1n);
        if (domain === undefined || iova === undefined || size === undefined) return undefined;
        if (n.name === "unmap") return { kind: "unmap", domain, iova, size, span };
        const pa = this.optInt(n, "pa", "physical address");
        if (pa === undefined) return undefined;
        return { kind: "map", domain, iova, size, readonly: tok(n, "Kw_readonly") !== undefined, ...(pa !== null ? { pa } : {}), span };
      }
      case "flush": {
        const node = sub(n, "domain");
        const domain = this.ref(node, "domain", this.domains);
        if (domain === undefined) return undefined;
        /* iommu_flush_iotlb_all() calls nothing: arm_smmu_nested_ops and arm_smmu_sva_domain_ops have no flush_iotlb_all */
        if (this.domains.get(domain) === "nested") {
          return this.lo.error(node!, "type", `"${domain}" is a nested domain, which the host cannot flush; its guest invalidates its stage 1 (unmap ${domain} ...)`);
        }
        if (this.domains.get(domain) === "sva") {
          return this.lo.error(node!, "type", `"${domain}" is an SVA domain, which iommu_flush_iotlb_all() cannot flush; its mm's notifier invalidates it (mm invalidate ${domain};)`);
        }
        return { kind: "flush", domain, span };
      }
      case "dma": {
        const d = this.dmaSpec(sub(n, "dmaSpec")!);
        return d && { kind: "dma", ...d, span };
      }
      case "sva":
        return this.sva(n, span);
      case "mm":
        return this.mm(n, span);
      case "vsmmuInvalidate": {
        const vsmmu = this.ref(sub(n, "vsmmu"), "vSMMU", this.vsmmus);
        const cmds = this.items(subs(n, "cmdItem"), "cmdFor", (p) => this.guestCmds(p));
        if (vsmmu === undefined || cmds.some((c) => !c)) return undefined;
        return { kind: "vsmmu-invalidate", vsmmu, cmds: (cmds as Cmd[][]).flat(), span };
      }
      case "fail": {
        const count = this.optInt(n, "count", "count", 1_000_000n);
        if (count === undefined) return undefined;
        return { kind: "fail-alloc", site: tok(n, "site")!.image, count: count ?? 1, span };
      }
      case "fault": {
        const device = this.ref(sub(n, "device"), "device", this.devices);
        if (device === undefined) return undefined;
        return { kind: "fault", device, fault: tok(n, "fault")!.image, on: tok(n, "Kw_off") === undefined, span };
      }
      case "expect":
        return this.expect(only(n), span);
      case "array":
        return this.array(n, span);
      case "concurrently": {
        const body = this.block(subs(n, "stmt"));
        const bad = body.find((b) => !CONCURRENT_KINDS.has(b.kind));
        if (bad) return this.lo.error(bad.span, "misplaced", "only operations (attach, detach, map, unmap, flush, dma, mm, vsmmu invalidate) run concurrently");
        return { kind: "concurrently", body, span };
      }
      case "unref": {
        const base = this.arrayRef(tok(n, "base")!);
        const other = this.arrayRef(tok(n, "other")!);
        return base !== undefined && other !== undefined ? { kind: "array-unref", base, other, span } : undefined;
      }
      default:
        return this.lo.error(n, "internal", `unhandled statement ${n.name}`);
    }
  }

  /** Arrays a scenario has defined so far (statements in order). */
  private readonly arrays = new Set<string>();

  private arrayRef(t: IToken): string | undefined {
    if (this.arrays.has(t.image)) return t.image;
    const near = didYouMean(t.image, [...this.arrays]);
    return this.lo.error(t, "unknown-array", `unknown array "${t.image}"${near}`);
  }

  private array(n: CstNode, span: Stmt["span"]): Stmt | undefined {
    const target = tok(n, "target")!.image;
    let stmt: Stmt | undefined;
    if (tok(n, "Kw_alloc")) {
      const size = this.lo.int(sub(n, "size")!, "array size", 0n, 1_000_000n);
      stmt = size === undefined ? undefined : { kind: "array-alloc", target, size, span };
    } else if (tok(n, "Kw_merge")) {
      const base = this.arrayRef(tok(n, "base")!);
      const other = this.arrayRef(tok(n, "other")!);
      stmt = base !== undefined && other !== undefined ? { kind: "array-merge", target, base, other, span } : undefined;
    } else if (tok(n, "Kw_purge")) {
      const base = this.arrayRef(tok(n, "base")!);
      stmt = base !== undefined ? { kind: "array-purge", target, base, span } : undefined;
    } else {
      const entries = subs(n, "invPattern").map((p) => this.invPattern(p));
      stmt = entries.every((e) => e) ? { kind: "array-set", target, entries: entries as InvPattern[], span } : undefined;
    }
    this.arrays.add(target);
    return stmt;
  }

  private dmaSpec(n: CstNode): { device: string; access: Access; iova: number; pasid?: number; sid?: number } | undefined {
    const device = this.ref(sub(n, "device"), "device", this.devices);
    const iova = this.lo.int(sub(n, "iova")!, "IOVA");
    const pasid = this.optInt(n, "pasid", "PASID", 0xfffffn);
    const sid = this.optInt(n, "sid", "StreamID", 0x7fffffffn);
    if (device === undefined || iova === undefined || pasid === undefined || sid === undefined) return undefined;
    return {
      device,
      access: tok(n, "access")!.image as Access,
      iova,
      ...(pasid !== null ? { pasid } : {}),
      ...(sid !== null ? { sid } : {}),
    };
  }

  private sva(n: CstNode, span: Stmt["span"]): Stmt | undefined {
    const device = this.ref(sub(n, "device"), "device", this.devices);
    const pasid = this.lo.int(sub(n, "pasid")!, "PASID", 1n, 0xfffffn);
    if (device === undefined || pasid === undefined) return undefined;
    if (!tok(n, "Kw_bind")) return { kind: "detach", device, pasid, span };
    const domain = this.svaDomain(sub(n, "domain")!);
    return domain === undefined ? undefined : { kind: "attach", device, target: domain, pasid, span };
  }

  private svaDomain(node: CstNode): string | undefined {
    const domain = this.ref(node, "domain", this.domains);
    if (domain === undefined) return undefined;
    const stage = this.domains.get(domain);
    if (stage !== "sva") return this.lo.error(node, "type", `"${domain}" is ${aStage(stage)} domain; this needs an sva domain`);
    return domain;
  }

  private mm(n: CstNode, span: Stmt["span"]): Stmt | undefined {
    const domain = this.svaDomain(sub(n, "domain")!);
    if (domain === undefined) return undefined;
    if (tok(n, "Kw_release")) return { kind: "mm-release", domain, span };
    const start = sub(n, "start");
    if (!start) return { kind: "mm-invalidate", domain, span };
    const s = this.lo.expr(start);
    const size = this.lo.expr(sub(n, "size")!);
    if (s === undefined || size === undefined) return undefined;
    return { kind: "mm-invalidate", domain, start: s, size, span };
  }

  private expect(n: CstNode, span: Stmt["span"]): Stmt | undefined {
    switch (n.name) {
      case "expectCommands": {
        const smmu = this.ref(sub(n, "smmu"), "SMMU", this.smmus);
        const patterns = this.items(subs(n, "cmdItem"), "cmdFor", (p) => this.cmdPattern(p));
        if (smmu === undefined || patterns.some((p) => !p)) return undefined;
        return { kind: "expect-commands", smmu, contains: tok(n, "Kw_contains") !== undefined, patterns: patterns as CmdPattern[], span };
      }
      case "expectCount": {
        const smmu = this.ref(sub(n, "smmu"), "SMMU", this.smmus);
        const what = tok(n, "what")!;
        const count = this.lo.int(sub(n, "count")!, "count");
        if (what.image !== "commands" && !FIELDS.has(what.image)) {
          const near = didYouMean(what.image, ["commands", ...OPCODES]);
          return this.lo.error(what, "unknown-opcode", `expected "commands" or an opcode, not "${what.image}"${near}`);
        }
        if (smmu === undefined || count === undefined) return undefined;
        return { kind: "expect-count", smmu, what: what.image, count, span };
      }
      case "expectInvs": {
        const domain = this.ref(sub(n, "domain"), "domain", this.domains);
        const trash = sub(n, "trash") ? this.lo.int(sub(n, "trash")!, "trash count") : null;
        const entries = this.items(subs(n, "invItem"), "invFor", (p) => {
          const e = this.invPattern(p);
          return e && e.smmu === undefined ? this.lo.error(p, "missing", "an entry of a domain's array names its SMMU") : e;
        });
        if (domain === undefined || trash === undefined || entries.some((e) => !e)) return undefined;
        return { kind: "expect-invs", domain, entries: entries as InvPattern[], ...(trash !== null ? { trash } : {}), span };
      }
      case "expectDma": {
        const d = this.dmaSpec(sub(n, "dmaSpec")!);
        const expect = this.dmaResult(n);
        return d && expect && { kind: "dma", ...d, expect, span };
      }
      case "expectError": {
        const error = this.errorSpec(n);
        const body = this.block(subs(n, "stmt"));
        return error && { kind: "expect-error", error, body, span };
      }
      case "expectWarn": {
        const text = stringValue(tok(n, "text")!);
        const body = this.block(subs(n, "stmt"));
        if (text === "") return this.lo.error(tok(n, "text")!, "range", "expect warn needs the WARN's function or part of its condition, not an empty string");
        return { kind: "expect-warn", text, body, span };
      }
      case "expectArray": {
        const target = this.arrayRef(tok(n, "target")!);
        const trash = sub(n, "trash") ? this.lo.int(sub(n, "trash")!, "trash count") : null;
        const entries = subs(n, "invPattern").map((p) => this.invPattern(p));
        if (target === undefined || trash === undefined || entries.some((e) => !e)) return undefined;
        return { kind: "expect-array", target, entries: entries as InvPattern[], ...(trash !== null ? { trash } : {}), span };
      }
      case "expectState": {
        const node = this.ref(sub(n, "node"), "node", this.nodes, [DRIVER_NODE]);
        const v = sub(n, "value")!;
        const str = tok(v, "StringLit");
        const e = sub(v, "expr");
        const name = e && this.lo.asName(e);
        const bare = name && subs(name, "nameAtom").length === 0 ? tok(name, "base")!.image : undefined;
        const value =
          str !== undefined
            ? stringValue(str)
            : bare === "true" || bare === "false"
              ? bare === "true"
              : bare !== undefined && this.lo.lookup(bare) === undefined
                ? bare
                : this.lo.int(e!, "value", BigInt(Number.MIN_SAFE_INTEGER));
        if (node === undefined || value === undefined) return undefined;
        return { kind: "expect-state", node, key: tok(n, "key")!.image, value, span };
      }
      case "expectNoStale":
        return { kind: "expect-stale", none: true, span };
      case "expectStale": {
        const devNode = sub(n, "device");
        const device = devNode ? this.ref(devNode, "device", this.devices) : undefined;
        const iova = sub(n, "iova") ? this.lo.int(sub(n, "iova")!, "IOVA") : undefined;
        if ((devNode && device === undefined) || (sub(n, "iova") && iova === undefined)) return undefined;
        return { kind: "expect-stale", none: false, ...(device ? { device } : {}), ...(iova !== undefined ? { iova } : {}), span };
      }
      default:
        return this.lo.error(n, "internal", `unhandled expectation ${n.name}`);
    }
  }

  /** The items of an expect block, loops unrolled. */
  private items<T>(items: CstNode[], loop: string, one: (n: CstNode) => T | undefined, out: (T | undefined)[] = []): (T | undefined)[] {
    for (const item of items) {
      const n = only(item);
      if (n.name === loop) this.lo.loop(sub(n, "forHead")!, () => this.items(subs(n, item.name), loop, one, out));
      else out.push(one(n));
    }
    return out;
  }

  private cmdPattern(p: CstNode): CmdPattern | undefined {
    const opTok = tok(p, "op")!;
    const fields = FIELDS.get(opTok.image);
    if (!fields) {
      const near = didYouMean(opTok.image, OPCODES);
      return this.lo.error(opTok, "unknown-opcode", `unknown command "${opTok.image}"${near}`);
    }
    const out: Record<string, bigint> = {};
    const values = subs(p, "fieldValue");
    let ok = true;
    toks(p, "field").forEach((f, i) => {
      if (!fields.includes(f.image)) {
        const near = didYouMean(f.image, fields);
        this.lo.error(f, "unknown-field", `${opTok.image} has no field "${f.image}"${near || ` (it has: ${fields.join(", ") || "none"})`}`);
        ok = false;
        return;
      }
      const v = this.lo.expr(values[i]!);
      if (v === undefined) ok = false;
      else out[f.image] = v;
    });
    const repeat = sub(p, "repeat") ? this.lo.int(sub(p, "repeat")!, "repeat count", 1n, 1_000_000n) : 1;
    if (!ok || repeat === undefined) return undefined;
    return { op: opTok.image as Cmd["op"], fields: out, rest: tok(p, "Ellipsis") !== undefined, repeat, span: this.lo.spanOf(p) };
  }

  /** A command a guest queues on its vSMMU, written as a pattern: every field it does not give is 0; `x N` queues N of it. */
  private guestCmds(p: CstNode): Cmd[] | undefined {
    const pattern = this.cmdPattern(p);
    if (!pattern) return undefined;
    const rest = tok(p, "Ellipsis");
    if (rest) return this.lo.error(rest, "misplaced", "a guest's command is written out: it has no '...' (a field it does not give is 0)");
    const values = subs(p, "fieldValue");
    let ok = true;
    toks(p, "field").forEach((f, i) => {
      const v = pattern.fields[f.image]!;
      const bits = FIELD_BITS[f.image]!;
      if (v < 0n || v >= 1n << bits) {
        this.lo.error(values[i]!, "range", `${f.image} ${v} does not fit its ${bits} bits (0..${(1n << bits) - 1n})`);
        ok = false;
      } else if (f.image === "addr" && v % 0x1000n !== 0n) {
        this.lo.error(values[i]!, "range", `addr 0x${v.toString(16)} is not 4 KiB aligned: the command holds address bits 63:12`);
        ok = false;
      }
    });
    if (!ok) return undefined;
    const cmd = makeCmd(pattern.op, pattern.fields)!;
    return Array.from({ length: pattern.repeat }, () => cmd);
  }

  private invPattern(p: CstNode): InvPattern | undefined {
    const smmuNode = sub(p, "smmu");
    const smmu = smmuNode ? this.ref(smmuNode, "SMMU", this.smmus) : undefined;
    const type = tok(p, "type")!;
    if (!INV_TYPES.includes(type.image)) {
      const near = didYouMean(type.image, INV_TYPES);
      return this.lo.error(type, "unknown-type", `unknown invalidation type "${type.image}"${near}`);
    }
    const id = this.lo.int(sub(p, "id")!, "id", 0n, 0x7fffffffn);
    const ssid = sub(p, "ssid") ? this.lo.int(sub(p, "ssid")!, "ssid", 0n, 0xfffffn) : 0;
    const users = sub(p, "users") ? this.lo.int(sub(p, "users")!, "users", 0n) : 1;
    if ((smmuNode && smmu === undefined) || id === undefined || ssid === undefined || users === undefined) return undefined;
    return { ...(smmu !== undefined ? { smmu } : {}), type: type.image, id, ssid, users, span: this.lo.spanOf(p) };
  }

  private dmaResult(n: CstNode): DmaExpectation | undefined {
    if (tok(n, "Kw_ok")) return { kind: "ok" };
    if (tok(n, "Kw_abort")) return { kind: "abort" };
    if (tok(n, "Kw_fault")) {
      const ev = tok(n, "event");
      return ev ? { kind: "fault", event: ev.image } : { kind: "fault" };
    }
    const via = tok(n, "via")!;
    if (!VIAS.includes(via.image as Via)) {
      const near = didYouMean(via.image, VIAS);
      return this.lo.error(via, "unknown-value", `expected one of ${VIAS.join(", ")}, not "${via.image}"${near}`);
    }
    return { kind: "via", via: via.image as Via };
  }

  private errorSpec(n: CstNode): ErrorExpectation | undefined {
    const t: IToken = tok(n, "error")!;
    if (tok(n, "Minus")) {
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
