/**
 * pcie-ats: a PCIe endpoint with StreamIDs, the ATS and PASID capabilities
 * and an ATC. With ATS enabled its DMA goes through the ATC, asking the SMMU
 * for translations on a miss (ATS Translation Requests) and issuing a hit as
 * a Translated transaction, which the SMMU checks against the STE; without,
 * its transactions are untranslated and the SMMU translates each one.
 *
 * Modelled beyond the kernel's view: the ATC keeps its entries while ATS is
 * disabled (it just does not use them), so enabling ATS again without the
 * whole-ATC invalidation arm_smmu_enable_ats() issues would expose them.
 * With `ats_disable_drops_inv: true` it is a device that drops the ATC
 * Invalidate Requests outstanding at it when its ATS is disabled (see
 * atcInv()).
 */
import { type AtcInvReply, type AtcInvRequest, type BusPort, definePlugin, type DeviceSpec, hex, type DmaReply, type DmaRequest, type EndpointNode, exec, runSteps, site, type Steps, type TranslateResult, type Translation, type Via } from "../../src/index.js";
import { Atc, atcLines } from "./atc.js";

const S_ATC_LOOKUP = site("endpoint", "ATC lookup");
const S_ATC_FILL = site("endpoint", "ATC fill");

/** A PCIe round trip plus the ATC's own work: a modelled figure, not one the kernel knows. */
export const DEFAULT_ATC_INV_NS = 1000;

export class PcieEndpoint implements EndpointNode {
  readonly kind = "device";
  readonly smmu: string;
  readonly sids: readonly number[];
  readonly pci: boolean;
  readonly atsCapable: boolean;
  readonly pasidBits: number;
  readonly atc: Atc;
  /** The ATC as a shared location, for a schedule explorer. */
  private readonly atcLocation: string;
  /** ATS Enable as a shared location, for a schedule explorer. */
  private readonly atsLocation: string;
  /** The SMMU's TLB as `dma:served` names it. */
  private readonly smmuIotlb: string;
  private ats = false;
  private stu = 12;
  /** Fault injection: the ATC never answers an ATC Invalidate Request. */
  private noResponse = false;
  /** pci_disable_ats() calls so far (EndpointNode.atsDisables). */
  private disables = 0;
  /** `ats_disable_drops_inv`: a request outstanding when ATS is disabled is dropped, never completed. */
  readonly dropsRacingInv: boolean;
  /** The requests dropped so far for that reason (state `dropped_inv`). */
  private droppedInv = 0;
  readonly faults = ["atc_no_response"] as const;
  /** From an ATC Invalidate Request's arrival to its completion reaching the SMMU. */
  readonly atcInvNs: number;

  constructor(
    readonly name: string,
    spec: DeviceSpec,
    private readonly bus: BusPort,
  ) {
    /* the ATC's name, and the location an explorer knows it by */
    const cache = `${name}.atc`;
    this.atc = new Atc(
      (tag, t) => bus.emit("cache:fill", { cache, tag, t }),
      (tag, addr, hit) => bus.emit("cache:lookup", { cache, tag, addr, hit }),
    );
    this.atcLocation = cache;
    this.atsLocation = `${name}.ats`;
    this.smmu = spec.smmu;
    this.smmuIotlb = `${spec.smmu}.iotlb`;
    this.sids = [...spec.sids];
    this.atsCapable = spec.ats ?? false;
    this.pasidBits = spec.pasidBits ?? 0;
    this.pci = spec.pci ?? (this.atsCapable || this.pasidBits > 0);
    this.atcInvNs = (spec.props?.atc_inv_ns as number | undefined) ?? DEFAULT_ATC_INV_NS;
    this.dropsRacingInv = (spec.props?.ats_disable_drops_inv as boolean | undefined) ?? false;
  }

  atsDisables(): number | undefined {
    if (!this.dropsRacingInv) return undefined;
    exec()?.touch(this.atsLocation, "read");
    return this.disables;
  }

  /** Requests dropped because ATS was disabled while they were outstanding. */
  get dropped(): number {
    return this.droppedInv;
  }

  inject(fault: string, on: boolean): void {
    if (fault !== "atc_no_response") throw new Error(`${this.name} has no fault "${fault}" (atc_no_response)`);
    this.noResponse = on;
  }

  get atsEnabled(): boolean {
    return this.ats;
  }

  enableAts(stu: number): void {
    if (!this.atsCapable) throw new Error(`${this.name} has no ATS capability`);
    this.ats = true;
    this.stu = stu;
    this.bus.emit("ep:ats", { device: this.name, enabled: true, stu });
  }

  disableAts(): void {
    this.ats = false;
    this.disables++;
    /* ATS Enable as a shared location, for a device whose ATC invalidations depend on it */
    if (this.dropsRacingInv) exec()?.touch(this.atsLocation, "write");
    this.bus.emit("ep:ats", { device: this.name, enabled: false, stu: this.stu });
  }

  dma(req: DmaRequest): DmaReply {
    return runSteps(this.dmaSteps(req));
  }

  /**
   * A transaction as steps: the ATC lookup (with ATS on), then the SMMU's
   * translation (its own steps), then the ATC fill. Each touches the ATC
   * as a shared location under a schedule explorer, as the SMMU's
   * ATC_INV does.
   */
  *dmaSteps(req: DmaRequest): Steps<DmaReply> {
    const sid = req.sid ?? this.sids[0]!;
    if (!this.sids.includes(sid)) throw new Error(`${this.name} has no StreamID ${hex(sid)}`);
    if (this.ats) {
      yield S_ATC_LOOKUP;
      exec()?.touch(this.atcLocation, "read");
      const hit = this.atc.lookup(sid, req.pasid, req.iova);
      if (hit && (req.access === "read" || hit.t.writable)) return { result: this.translated(req, sid, hit.t) };
    }
    const tr = { sid, ssid: req.pasid, iova: req.iova, access: req.access, ats: this.ats };
    const generation = this.atc.generation;
    /* under a schedule explorer the translation's own steps; otherwise the SMMU answers at once */
    const result = exec() ? yield* this.bus.request("smmu:translate-steps", this.smmu, tr) : this.bus.request("smmu:translate", this.smmu, tr);
    if (result.kind === "ok") {
      if (this.ats && result.via !== "bypass") {
        yield S_ATC_FILL;
        exec()?.touch(this.atcLocation, "write");
        /* an Invalidate Request overtook the Translation Request: its answer is used, not kept */
        if (this.atc.generation === generation) this.atc.fill(sid, req.pasid, result.t);
      }
      this.served(req, sid, result.via, result.via === "iotlb" ? this.smmuIotlb : "", result.t);
    }
    return { result };
  }

  /**
   * A Translated transaction with the address the ATC holds: the SMMU does
   * not translate it, but checks that the STE allows ATS for the stream; one
   * it refuses fails, and the oracle hears of it.
   */
  private translated(req: DmaRequest, sid: number, t: Translation): TranslateResult {
    const cache = this.atcLocation;
    const addr = t.pa + (req.iova - t.base);
    const check = this.bus.request("smmu:translated", this.smmu, { sid, ssid: req.pasid, addr, access: req.access });
    if (check.kind !== "ok") {
      this.bus.emit("dma:forbidden", { device: this.name, sid, pasid: req.pasid, iova: req.iova, access: req.access, cache, t, detail: check.detail });
      return check;
    }
    this.served(req, sid, "atc", cache, t);
    return { kind: "ok", t, via: "atc" };
  }

  /**
   * An ATC Invalidate Request: its completion goes back `atcInvNs` after it
   * arrived (a modelled round trip). It is completed, and the ATC
   * invalidated, whether ATS is enabled or not: arm_smmu_enable_ats() sends
   * one while the device's ATS Enable is still clear and relies on it to
   * empty the ATC before pci_enable_ats(), and after pci_disable_ats()
   * arm_smmu_attach_commit() flushes what the ATC still holds. No PCIe text
   * found says what a Function with ATS Enable clear does with one; the
   * kernel's authors hold that it may ignore it (then the CMD_SYNC waits for
   * nothing, or times out). A device that drops one is a plugin away
   * (examples/plugins/lossy-atc.ts).
   *
   * With `ats_disable_drops_inv`, the device the kernel's authors allow for
   * ("ATC invalidations must be completed before the driver disables ATS.
   * Or the device is permitted to ignore any racing invalidation that would
   * cause an SMMU timeout", the commit message of "iommu/arm-smmu-v3: Add
   * arm_smmu_invs based arm_smmu_domain_inv_range()"): a request that was
   * outstanding at it (sent, not completed) when ATS Enable was cleared is
   * dropped, so the CMD_SYNC behind it times out. One sent after the
   * disable, or before an enable, is answered as above, as the kernel's own
   * flushes then need. Only a schedule explorer separates a request's
   * sending from its handling (`sentAtsDisables`); a straight run never
   * drops one. Modelled, not from PCIe text: none found says what a
   * Function does with an Invalidate Request when ATS Enable is cleared.
   */
  atcInv(req: AtcInvRequest): AtcInvReply {
    const racing = this.dropsRacingInv && req.sentAtsDisables !== undefined && req.sentAtsDisables !== this.atsDisables();
    if (racing) this.droppedInv++;
    if (this.noResponse || racing) {
      this.bus.emit("ep:atc-inv-done", { device: this.name, sid: req.sid, start: req.at, end: req.at, completed: false, source: req.source });
      return { completed: false };
    }
    exec()?.touch(this.atcLocation, "write");
    const entries = this.atc.invalidate(req.sid, req.ssv, req.ssid, req.addr, req.size);
    this.bus.emit("cache:invalidate", { cache: this.atcLocation, by: "ATC_INV", entries, at: req.at, source: req.source });
    const done = req.at + this.atcInvNs;
    this.bus.emit("ep:atc-inv-done", { device: this.name, sid: req.sid, start: req.at, end: done, completed: true, source: req.source });
    return { completed: true, done };
  }

  private served(req: DmaRequest, sid: number, via: Via, cache: string, t: Translation): void {
    this.bus.emit("dma:served", { device: this.name, sid, pasid: req.pasid, iova: req.iova, access: req.access, via, cache, t });
  }
}

export default definePlugin({
  kind: "device",
  name: "pcie-ats",
  version: "0.1.0",
  apiVersions: [1],
  description: "A PCIe endpoint: StreamIDs, ATS and PASID capabilities, an ATC answering ATC_INV",
  schema: {
    type: "object",
    properties: {
      ats: { type: "boolean" },
      pasidBits: { type: "integer", minimum: 0, maximum: 20 },
      pci: { type: "boolean" },
      props: {
        description: "The timing model's costs (simulated ns).",
        type: "object",
        properties: {
          atc_inv_ns: {
            description: `ns from an ATC Invalidate Request reaching the endpoint to its completion reaching the SMMU (${DEFAULT_ATC_INV_NS} by default).`,
            type: "integer",
            minimum: 0,
          },
          ats_disable_drops_inv: {
            description:
              "Whether the device drops an ATC Invalidate Request that is outstanding at it when its ATS is disabled (pci_disable_ats()), never completing it, as the kernel's authors hold a device may: false by default. Only a schedule explorer (smmu-emu explore) separates a request's sending from its handling.",
            type: "boolean",
          },
        },
      },
    },
  },
  setup(ctx) {
    const ep = new PcieEndpoint(ctx.node, ctx.spec, ctx);
    ctx.serve("ep:dma", ctx.node, (req) => ep.dma(req));
    ctx.serve("ep:dma-steps", ctx.node, (req) => ep.dmaSteps(req));
    /* what `expect state DEV dropped_inv N;` reads, for a device that drops */
    const drops = ep.dropsRacingInv;
    if (drops) ctx.state.set("dropped_inv", 0);
    ctx.serve("ep:atc-inv", ctx.node, (req) => {
      const reply = ep.atcInv(req);
      if (drops) ctx.state.set("dropped_inv", ep.dropped);
      return reply;
    });
    ctx.serve("ep:show", ctx.node, () => ({ lines: atcLines(ep.atc) }));
    return ep;
  },
});
