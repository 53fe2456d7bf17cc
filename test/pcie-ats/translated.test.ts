/**
 * ATS against the STE (IHI0070 3.9.1, STE.EATS; the driver always sets
 * SMMU_CR0.ATSCHK): an endpoint's ATC hit is a Translated transaction the
 * SMMU checks against the STE of its stream. EATS = 0b01 lets it through;
 * EATS = 0b00 or a bypass STE terminates it with F_TRANSL_FORBIDDEN; an
 * abort STE aborts it silently. The oracle reports every one refused: the
 * device had ATS enabled where the STE does not allow it. And an ATC_INV to
 * an endpoint whose ATS Enable is clear completes and empties its ATC, as
 * arm_smmu_enable_ats() and arm_smmu_attach_commit() rely on.
 */
import { describe, expect, test } from "vitest";
import { loadSmmu } from "../../src/engine/load.js";
import { runFile } from "../../src/engine/runner.js";
import { builtinRegistry, definePlugin, type Simulator } from "../../src/index.js";
import type { Topology } from "../../src/model/topology.js";
import { PcieEndpoint } from "../../plugins/pcie-ats/index.js";
import { atcInv, cfgiCd, nhAsid, steWrite, SYNC } from "../helpers/cmds.js";
import { during, sim } from "../helpers/sim.js";

const TOPO: Topology = {
  smmus: [{ name: "smmu0", features: ["ats"] }],
  devices: [
    { name: "gpu0", smmu: "smmu0", sids: [0x100], ats: true },
    { name: "nic0", smmu: "smmu0", sids: [0x200] },
  ],
  domains: [{ name: "d1", stage: "s1" }],
};

function translated(s: Simulator, sid: number): unknown {
  return s.bus.request("smmu:translated", "smmu0", { sid, ssid: null, addr: 0x10_0000_0000, access: "read" });
}

describe("the SMMU's check of a Translated transaction", () => {
  test("by STE: EATS 0b01 passes; EATS 0b00, bypass and abort do not", () => {
    const s = sim(TOPO);
    expect(s.attach("gpu0", "d1")).toBe(0);
    expect(s.attach("nic0", "d1")).toBe(0);
    expect(translated(s, 0x100)).toEqual({ kind: "ok" });
    expect(translated(s, 0x200)).toEqual({ kind: "fault", event: "F_TRANSL_FORBIDDEN", detail: "Translated transaction on sid 0x200 with STE.EATS=abt" });
    expect(s.attach("gpu0", "identity")).toBe(0);
    expect(translated(s, 0x100)).toEqual({ kind: "fault", event: "F_TRANSL_FORBIDDEN", detail: "Translated transaction on sid 0x100, whose STE bypasses (ATS denied)" });
    expect(s.attach("gpu0", "blocked")).toBe(0);
    expect(translated(s, 0x100)).toEqual({ kind: "abort", detail: "STE for sid 0x100 aborts, Translated transactions too" });
  });

  test("an ATC hit goes through the check: with ATS allowed it is served from the ATC, and nothing is reported", () => {
    const s = sim(TOPO);
    s.attach("gpu0", "d1");
    s.map("d1", 0x10000, 0x1000);
    expect(s.dma("gpu0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "walk" });
    expect(s.dma("gpu0", "read", 0x10000)).toMatchObject({ kind: "ok", via: "atc" });
    expect(s.violations).toEqual([]);
  });
});

describe("an ATC_INV to an endpoint whose ATS Enable is clear", () => {
  test("completes and empties the ATC: detaching turns ATS off first, then flushes, and the CMD_SYNC completes", () => {
    const s = sim(TOPO);
    const log: string[] = [];
    s.bus.on("driver:log", "test", (m) => log.push(m.msg));
    s.attach("gpu0", "d1");
    s.map("d1", 0x10000, 0x1000);
    s.dma("gpu0", "read", 0x10000);
    const gpu0 = s.platform.device("gpu0") as PcieEndpoint;
    expect(gpu0.atc.size).toBe(1);
    /*
     * arm_smmu_attach_prepare() ends with pci_disable_ats(); the bypass STE
     * goes in; arm_smmu_attach_commit() flushes the whole ATC (NO_PASID),
     * then d1's ASID and CD go
     */
    const { smmu0 } = during(s, () => s.attach("gpu0", "identity"));
    expect(smmu0).toEqual([...steWrite(0x100, 2), atcInv(0x100), SYNC, nhAsid(1), SYNC, cfgiCd(0x100), SYNC, cfgiCd(0x100), SYNC]);
    expect(gpu0.atsEnabled).toBe(false);
    expect(gpu0.atc.size).toBe(0);
    expect(log).toEqual([]);
  });
});

/** An endpoint that keeps ATS enabled when the driver clears ATS Enable (pci_disable_ats() does nothing to it). */
const stickyAts = definePlugin({
  kind: "device",
  name: "sticky-ats",
  version: "1.0.0",
  apiVersions: [1],
  extends: "pcie-ats",
  description: "pcie-ats whose ATS Enable stays set",
  schema: { type: "object" },
  setup(_ctx, base) {
    base!.disableAts = () => {};
    return base!;
  },
});

/** Scenario "s" on gpu0, a sticky-ats endpoint: its failures as "line:column: message", and the oracle's findings. */
function runSticky(body: string): { failures: string[]; violations: string[] } {
  const registry = builtinRegistry();
  registry.register(stickyAts);
  const text = `smmu smmu0 { features: ats; }
device gpu0 { plugin: "sticky-ats"; smmu: smmu0; sids: 0x100; ats: true; }
domain d1 { stage: s1; }
scenario "s" {
  attach gpu0 d1;
  map d1 0x10000 size 4K;
  expect dma gpu0 read 0x10000 via walk;
${body}
}
`;
  const [r] = runFile(loadSmmu("t.smmu", registry, text), { registry });
  return { failures: r!.failures.map((f) => `${f.span.line}:${f.span.column}: ${f.message}`), violations: r!.violations.map((v) => `${v.kind}: ${v.message}`) };
}

describe("a device whose ATS stays on where the STE forbids it", () => {
  /* the ATC keeps its entry only if the commit's flush is lost: the device stops answering ATC_INV first */
  const DETACH = `  fault gpu0 atc_no_response;\n`;

  test("to a bypass STE: its ATC hit ends in F_TRANSL_FORBIDDEN, and the oracle reports it at the dma", () => {
    const message =
      "translated-forbidden: gpu0 read 0x10000 used gpu0.atc's translation (to 0x1000000000) as a Translated transaction on sid 0x100, which its STE forbids: Translated transaction on sid 0x100, whose STE bypasses (ATS denied)";
    expect(runSticky(`${DETACH}  attach gpu0 identity;\n  expect dma gpu0 read 0x10000 fault F_TRANSL_FORBIDDEN;`)).toEqual({
      failures: [`10:3: ${message}`],
      violations: [message],
    });
  });

  test("to an abort STE: silently aborted, reported all the same; expect stale acknowledges it", () => {
    expect(runSticky(`${DETACH}  attach gpu0 blocked;\n  expect dma gpu0 read 0x10000 abort;\n  expect stale gpu0 0x10000;`)).toEqual({
      failures: [],
      violations: [
        "translated-forbidden: gpu0 read 0x10000 used gpu0.atc's translation (to 0x1000000000) as a Translated transaction on sid 0x100, which its STE forbids: STE for sid 0x100 aborts, Translated transactions too",
      ],
    });
  });

  test("its ATC flushed: an ATS Translation Request, which a bypass STE answers with F_BAD_ATS_TREQ and an abort STE silently", () => {
    expect(runSticky(`  attach gpu0 identity;\n  expect dma gpu0 read 0x10000 fault F_BAD_ATS_TREQ;\n  attach gpu0 blocked;\n  expect dma gpu0 read 0x10000 abort;\n  expect no stale;`)).toEqual({
      failures: [],
      violations: [],
    });
  });
});
