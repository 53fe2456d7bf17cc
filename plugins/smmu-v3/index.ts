/**
 * smmu-v3: one SMMUv3 instance. It takes command lists on its queue and
 * executes them in order: TLBI_* against its TLB, CFGI_* against its
 * configuration cache, ATC_INV forwarded to the endpoint that owns the
 * StreamID, and CMD_SYNC completing once everything before it has, which an
 * ATC_INV that is never answered prevents (CERROR_ATC_INV). It translates
 * transactions and ATS Translation Requests for its endpoints (through its
 * TLB and, unless `walk_cache: false`, its walk cache), checks their
 * Translated transactions against the STE (ATSCHK), and keeps simulated
 * time for its queue (SmmuTiming).
 */
import { type AtcInvRequest, type BusPort, type Cmd, type CmdqAgent, type CmdqPollReply, type CmdqPollRequest, type CmdqSubmit, type CmdqSubmitReply, exec, qwordLocation, definePlugin, formatCmd, isTlbi, type Memory, type Platform, type Qwords, type ShowReply, SMMU_FEATURES, SMMU_OPTIONS, type SmmuFeature, type SmmuNode, type SmmuOption, type SmmuShowRequest, type SmmuSpec, StreamTable, type TranslateRequest } from "../../src/index.js";
import { Iotlb, tlbiScope } from "./iotlb.js";
import { cdTableAt, translate, translateSteps, type TranslationUnit } from "./translate.js";
import { cacheLines, cdOf, steLines } from "./show.js";
import { checkTranslated } from "./translated.js";
import { WalkCache, type WalkEntry } from "./walk-cache.js";

/**
 * The timing model, which neither the seed nor the kernel shows: the queue
 * consumes commands in order, each taking `cmdNs`; an ATC_INV sends its
 * request to the endpoint and moves on, the completion arriving when the
 * endpoint says; a CMD_SYNC takes `syncNs` and completes once every earlier
 * command has (ATC_INV completions included), holding the queue until then.
 * Each SMMU has its own queue, so SMMUs work in parallel.
 */
export interface SmmuTiming {
  cmdNs: number;
  syncNs: number;
}

export const DEFAULT_TIMING: SmmuTiming = Object.freeze({ cmdNs: 20, syncNs: 100 });

/** ARM_SMMU_POLL_TIMEOUT_US: how long the driver polls a CMD_SYNC that never completes. */
export const POLL_TIMEOUT_NS = 1_000_000_000;

/** 4K, 16K and 64K granules with their block sizes (IDR5.GRAN4K/16K/64K all set). */
const PGSIZE_BITMAP = 0x1000 | 0x20_0000 | 0x4000_0000 | 0x4000 | 0x200_0000 | 0x1_0000 | 0x2000_0000;

/** An STE or CD read from memory: under an explorer, qwords a CPU has pending stores to read as they were. */
function fetchEntry(live: Qwords): Qwords {
  const e = exec();
  return e ? live.map((q, i) => e.load(qwordLocation(e, live, i), q)) : [...live];
}

export class SmmuV3 implements SmmuNode, TranslationUnit {
  readonly kind = "smmu";
  readonly features: ReadonlySet<SmmuFeature>;
  readonly options: ReadonlySet<SmmuOption>;
  readonly asidBits = 16;
  readonly vmidBits = 16;
  readonly ssidBits = 20;
  readonly pgsizeBitmap = PGSIZE_BITMAP;
  readonly strtab = new StreamTable();
  readonly iotlb: Iotlb;
  readonly walkCache: WalkCache | null;
  /** How many commands reached the queue, CMD_SYNC included (each goes out on the bus as `cmd:queued`, with its place). */
  private queued = 0;
  private readonly steCache = new Map<number, Qwords>();
  /** Cached CDs, by StreamID then SubstreamID. */
  private readonly cdCache = new Map<number, Map<number, Qwords>>();
  /** An ATC_INV since the last CMD_SYNC was never answered. */
  private atcPending = false;
  /** When the queue is free to take its next command. */
  private cursor = 0;
  /** When the last ATC_INV completion since the last CMD_SYNC arrives. */
  private atcDone = 0;
  readonly timing: SmmuTiming;
  /** Invalidations executed so far (TranslationUnit.generation). */
  generation = 0;
  /** The TLB and walk cache, and the STE/CD cache, as shared locations for a schedule explorer. */
  readonly tlbLocation: string;
  private readonly cfgLocation: string;
  private readonly generationLocation: string;
  /** The commands executed but not complete (`inflight`), as one shared location. */
  private readonly inflightLocation: string;
  /** The TLB as the cache events name it. */
  private readonly iotlbName: string;
  /** The walk cache as `walk:cached` and the cache events name it. */
  private readonly walkName: string;

  constructor(
    readonly name: string,
    readonly index: number,
    spec: SmmuSpec,
    readonly memory: Memory,
    private readonly bus: BusPort,
    private readonly platform: Platform,
  ) {
    const cache = (this.iotlbName = `${name}.iotlb`);
    this.iotlb = new Iotlb(
      (tag, t) => bus.emit("cache:fill", { cache, tag, t }),
      (tag, addr, hit) => bus.emit("cache:lookup", { cache, tag, addr, hit }),
    );
    this.tlbLocation = `${name}.tlb`;
    this.cfgLocation = `${name}.cfg`;
    this.generationLocation = `${name}.tlb.generation`;
    this.inflightLocation = `${name}.inflight`;
    this.walkName = `${name}.walk`;
    this.features = new Set(spec.features);
    this.options = new Set(spec.options ?? []);
    const props = spec.props as { cmd_ns?: number; sync_ns?: number; walk_cache?: boolean } | undefined;
    this.walkCache = props?.walk_cache === false ? null : new WalkCache((tag, addr, hit) => bus.emit("cache:lookup", { cache: this.walkName, tag, addr, hit }));
    this.timing = { cmdNs: props?.cmd_ns ?? DEFAULT_TIMING.cmdNs, syncNs: props?.sync_ns ?? DEFAULT_TIMING.syncNs };
  }

  fetchSte(sid: number): Qwords {
    let ste = this.steCache.get(sid);
    exec()?.touch(this.cfgLocation, ste ? "read" : "write");
    if (!ste) {
      ste = fetchEntry(this.strtab.ste(sid));
      this.steCache.set(sid, ste);
    }
    return ste;
  }

  fetchCd(sid: number, cdtab: bigint, ssid: number): Qwords | undefined {
    let cds = this.cdCache.get(sid);
    let cd = cds?.get(ssid);
    exec()?.touch(this.cfgLocation, cd ? "read" : "write");
    if (!cd) {
      const live = cdTableAt(this.memory, cdtab)?.fetch(ssid);
      if (!live) return undefined;
      cd = fetchEntry(live);
      if (!cds) this.cdCache.set(sid, (cds = new Map()));
      cds.set(ssid, cd);
    }
    return cd;
  }

  /** The `show` statement: an STE or CD as the SMMU would read it from memory now, or what the TLB and walk cache hold. */
  show(req: SmmuShowRequest): ShowReply {
    if (req.what === "iotlb") return { lines: cacheLines(this.iotlb, this.walkCache) };
    const sid = req.sid ?? 0;
    const ste = this.strtab.ste(sid);
    if (req.what === "ste") return { lines: steLines(ste, this.steCache.get(sid)) };
    const ssid = req.ssid ?? 0;
    return { lines: cdOf(ste, ssid, (cdtab) => cdTableAt(this.memory, cdtab)?.fetch(ssid)) };
  }

  walked(req: TranslateRequest, stage: 1 | 2, reads: number, ok: boolean): void {
    this.bus.emit("walk:done", { smmu: this.name, sid: req.sid, ssid: req.ssid, iova: req.iova, stage, reads, ok });
  }

  walkCached(e: WalkEntry, req: TranslateRequest): void {
    const { sid, ssid, iova, access } = req;
    this.bus.emit("walk:cached", { smmu: this.name, cache: this.walkName, sid, ssid, iova, access, level: e.level, base: e.base, next: e.next });
  }

  /** arm_smmu_cmdq_issue_cmdlist() as the hardware sees it: queue, execute, then CMD_SYNC. */
  submit(req: CmdqSubmit): CmdqSubmitReply {
    if (this.backlog) return this.enqueue(req);
    for (const cmd of req.cmds) this.consume(cmd, req.source, req.at);
    if (!req.sync) return { synced: true, done: this.cursor };
    const synced = this.consumeSync(req.source, req.at);
    return { synced, done: this.cursor };
  }

  /** Execute a CMD_SYNC: it completes once everything before it has, or times out behind an unanswered ATC_INV. */
  private consumeSync(source: string, at: number): boolean {
    const synced = !this.atcPending;
    if (this.backlog) this.syncs.set(this.queued, synced);
    this.consume({ op: "CMD_SYNC" }, source, at);
    this.atcPending = false;
    return synced;
  }

  /**
   * Under a schedule explorer the queue runs beside the CPUs: submitted
   * commands wait in `backlog` (prod has moved, cons has not) until the
   * explorer's agent for this SMMU executes them one step at a time.
   */
  private backlog: { cmd: Cmd; source: string; at: number }[] | null = null;
  /** Whether each executed CMD_SYNC (by its place in the queue) completed rather than timed out. */
  private readonly syncs = new Map<number, boolean>();

  /**
   * The queue's slots as shared locations: the CPU that inserts a command
   * writes its slot, the SMMU that executes it reads it, and a CMD_SYNC's
   * completion is its slot's ".done", which the CPU polling it reads. So an
   * insertion and the execution of an earlier command commute, and so do
   * a poll and every execution but its CMD_SYNC's.
   */
  private slot(k: number): string {
    return (this.slots[k] ??= `${this.name}.cmdq[${k}]`);
  }
  /** slot()'s names, each made once: an explored execution asks for them at every insertion, execution and poll. */
  private readonly slots: string[] = [];

  private enqueue(req: CmdqSubmit): CmdqSubmitReply {
    for (const cmd of req.cmds) this.push(cmd, req);
    if (!req.sync) return { synced: true, done: req.at };
    const ticket = this.queued + this.backlog!.length;
    this.push({ op: "CMD_SYNC" }, req);
    return { synced: true, done: req.at, ticket };
  }

  /** One command of `req` into the backlog: its slot written. */
  private push(cmd: Cmd, req: CmdqSubmit): void {
    const backlog = this.backlog!;
    exec()?.touch(this.slot(this.queued + backlog.length), "write");
    backlog.push({ cmd, source: req.source, at: req.at });
  }

  /** arm_smmu_cmdq_poll_until_sync()'s question: has cons passed the CMD_SYNC at `ticket`? */
  poll(req: CmdqPollRequest): CmdqPollReply {
    exec()?.touch(`${this.slot(req.ticket)}.done`, "read");
    const synced = this.syncs.get(req.ticket);
    return { completed: synced !== undefined, synced: synced ?? false };
  }

  /**
   * Under a schedule explorer, TLBIs and ATC_INVs executed but not complete
   * yet: the queue consumes commands in order, but their effects (an
   * invalidation of the TLB, an ATC Invalidate Request reaching its
   * endpoint) complete in any order, each a step of its own, and a CMD_SYNC
   * is consumed only once every command before it has completed.
   */
  private readonly inflight: { seq: number; cmd: Cmd; source: string; end: number; sentAtsDisables: number | undefined }[] = [];

  readonly queueAgent: CmdqAgent = {
    setDeferred: (on) => {
      if (!on && !this.queueAgent.idle()) throw new Error(`${this.name}: commands still queued or in flight`);
      this.backlog = on ? [] : null;
      this.syncs.clear();
    },
    idle: () => !this.backlog?.length && this.inflight.length === 0,
    options: () => {
      const next = this.backlog?.[0];
      const head = next !== undefined && !(next.cmd.op === "CMD_SYNC" && this.inflight.length > 0);
      /* the explorer asks at every step: an idle queue's answer is one shared empty list */
      if (!head && this.inflight.length === 0) return NO_OPTIONS;
      const out: number[] = head ? [0] : [];
      for (const f of this.inflight) out.push(f.seq + 1);
      return out;
    },
    step: (option) => {
      const e = exec();
      if (option > 0) {
        const i = this.inflight.findIndex((f) => f.seq + 1 === option);
        if (i < 0) throw new Error(`${this.name}: no command ${option - 1} in flight`);
        const [done] = this.inflight.splice(i, 1);
        e?.touch(this.inflightLocation, "write");
        this.effect(done!.cmd, done!.source, done!.end, done!.sentAtsDisables);
        return `complete #${done!.seq} ${formatCmd(done!.cmd)}`;
      }
      const next = this.backlog?.shift();
      if (!next) throw new Error(`${this.name}: the command queue is empty`);
      const seq = this.queued;
      e?.touch(this.slot(seq), "read");
      if (next.cmd.op === "CMD_SYNC") {
        e?.touch(this.inflightLocation, "read");
        e?.touch(`${this.slot(seq)}.done`, "write");
        this.consumeSync(next.source, next.at);
      } else {
        this.consume(next.cmd, next.source, next.at);
      }
      return `execute #${seq} ${formatCmd(next.cmd)}`;
    },
  };

  /** When `cmd`, seen at `at`, finishes executing (the queue's cursor moves there); it started at the cursor before, or at `at`. */
  private execute(cmd: Cmd, start: number): number {
    if (cmd.op !== "CMD_SYNC") return (this.cursor = start + this.timing.cmdNs);
    /* a CMD_SYNC waiting on an ATC_INV that never completes holds the queue until the driver gives up */
    const end = this.atcPending ? start + POLL_TIMEOUT_NS : Math.max(start + this.timing.syncNs, this.atcDone);
    this.atcDone = 0;
    return (this.cursor = end);
  }

  private consume(cmd: Cmd, source: string, at: number): void {
    const seq = this.queued++;
    const start = Math.max(this.cursor, at);
    const end = this.execute(cmd, start);
    this.bus.emit("cmd:queued", { smmu: this.name, cmd, seq, source, start, end });
    if (this.backlog && (isTlbi(cmd.op) || cmd.op === "ATC_INV")) {
      exec()?.touch(this.inflightLocation, "write");
      /* an ATC Invalidate Request is out from here to its completion: what the endpoint's ATS did meanwhile matters to it */
      const sentAtsDisables = cmd.op === "ATC_INV" ? this.platform.endpointFor(this.name, cmd.sid)?.atsDisables?.() : undefined;
      this.inflight.push({ seq, cmd, source, end, sentAtsDisables });
      return;
    }
    this.effect(cmd, source, end);
  }

  /** What an executed command `source` queued does, once it completes: `end` is when it executed; an ATC_INV's request went out with `sentAtsDisables` (explorer only). */
  private effect(cmd: Cmd, source: string, end: number, sentAtsDisables?: number): void {
    const e = exec();
    const tlbi = isTlbi(cmd.op);
    if (tlbi || cmd.op.startsWith("CFGI_")) {
      this.generation++;
      e?.touch(this.generationLocation, "write");
    }
    if (tlbi) {
      e?.touch(this.tlbLocation, "write");
      const scope = tlbiScope(cmd);
      this.bus.emit("cache:invalidate", { cache: this.iotlbName, by: cmd.op, entries: this.iotlb.invalidate(cmd, scope), at: end, source });
      if (this.walkCache) this.bus.emit("cache:invalidate", { cache: this.walkName, by: cmd.op, entries: this.walkCache.invalidate(cmd, scope), at: end, source });
      return;
    }
    if (cmd.op.startsWith("CFGI_")) e?.touch(this.cfgLocation, "write");
    switch (cmd.op) {
      case "CFGI_STE":
        /* modelled as also dropping the CDs fetched through the old STE */
        this.steCache.delete(cmd.sid);
        this.cdCache.delete(cmd.sid);
        break;
      case "CFGI_CD":
        this.cdCache.get(cmd.sid)?.delete(cmd.ssid);
        break;
      case "CFGI_CD_ALL":
        this.cdCache.delete(cmd.sid);
        break;
      case "CFGI_ALL":
        this.steCache.clear();
        this.cdCache.clear();
        break;
      case "PREFETCH_CFG":
        this.steCache.delete(cmd.sid);
        this.fetchSte(cmd.sid);
        break;
      case "ATC_INV":
        this.forwardAtcInv(cmd, source, end, sentAtsDisables);
        break;
      default:
        break;
    }
  }

  /**
   * The ATC Invalidate Request goes out when the command has executed (`at`);
   * its completion comes back later. CMD_ATC_INV sends it to the StreamID
   * whatever the STE says of ATS (IHI0070 4.5.1): the driver flushes an ATC
   * before its STE allows ATS (arm_smmu_enable_ats()) and after it stops.
   */
  private forwardAtcInv(cmd: Extract<Cmd, { op: "ATC_INV" }>, source: string, at: number, sentAtsDisables: number | undefined): void {
    const ep = this.platform.endpointFor(this.name, cmd.sid);
    if (!ep) return;
    const req: AtcInvRequest = { sid: cmd.sid, ssid: cmd.ssid, ssv: cmd.ssv, addr: Number(cmd.addr), size: cmd.size, at, source };
    if (sentAtsDisables !== undefined) req.sentAtsDisables = sentAtsDisables;
    const reply = this.bus.request("ep:atc-inv", ep.name, req);
    if (!reply.completed) this.atcPending = true;
    else this.atcDone = Math.max(this.atcDone, reply.done ?? at);
  }
}

/** What an idle queue can do: nothing (never changed: each non-empty answer is a new array). */
const NO_OPTIONS: number[] = [];

const FEATURES = Object.keys(SMMU_FEATURES) as SmmuFeature[];
const OPTIONS = Object.keys(SMMU_OPTIONS) as SmmuOption[];

export default definePlugin({
  kind: "smmu",
  name: "smmu-v3",
  version: "0.1.0",
  apiVersions: [1],
  description: "An SMMUv3 instance: command queue with CMD_SYNC, TLB and walk cache tagged by ASID/VMID, STE/CD configuration cache",
  schema: {
    description: "An SMMUv3 node: the topology schema's SMMU properties, with the features and options smmu-v3 models.",
    type: "object",
    properties: {
      features: {
        description: "ARM_SMMU_FEAT_* bits the SMMU implements, each at most once.",
        type: "array",
        items: { enum: FEATURES },
        uniqueItems: true,
      },
      options: {
        description: "ARM_SMMU_OPT_* workarounds the driver applies to this SMMU, each at most once.",
        type: "array",
        items: { enum: OPTIONS },
        uniqueItems: true,
      },
      props: {
        description: "The timing model's costs (simulated ns), and whether the SMMU keeps a walk cache.",
        type: "object",
        properties: {
          cmd_ns: { description: `ns the queue takes to execute one command (${DEFAULT_TIMING.cmdNs} by default).`, type: "integer", minimum: 0 },
          sync_ns: { description: `ns a CMD_SYNC takes once everything before it is done (${DEFAULT_TIMING.syncNs} by default).`, type: "integer", minimum: 0 },
          walk_cache: {
            description: "Whether table walks cache the table entries they read (true by default): a TLBI that is not leaf-only removes them; false walks every time from the table base.",
            type: "boolean",
          },
        },
      },
    },
  },
  setup(ctx) {
    const index = ctx.topology.smmus.findIndex((s) => s.name === ctx.node);
    const smmu = new SmmuV3(ctx.node, index, ctx.spec, ctx.memory, ctx, ctx.platform);
    ctx.serve("smmu:cmdq", ctx.node, (req) => smmu.submit(req));
    ctx.serve("smmu:cmdq-poll", ctx.node, (req) => smmu.poll(req));
    ctx.serve("smmu:translate", ctx.node, (req) => translate(smmu, req));
    ctx.serve("smmu:translate-steps", ctx.node, (req) => translateSteps(smmu, req));
    ctx.serve("smmu:translated", ctx.node, (req) => checkTranslated(smmu, req));
    /* each tag's text made once: the oracle asks after most operations */
    const named = new Map<string, string>();
    const withNode = (t: string): string => {
      let text = named.get(t);
      if (text === undefined) named.set(t, (text = `${ctx.node} ${t}`));
      return text;
    };
    ctx.serve("smmu:tlb-tags", ctx.node, () => ({ tags: smmu.iotlb.coverTags().map(withNode) }));
    ctx.serve("smmu:show", ctx.node, (req) => smmu.show(req));
    return smmu;
  },
});
