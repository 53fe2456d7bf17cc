/**
 * plugins/smmu-v3/index.ts: the configuration cache. The SMMU reads an STE
 * or CD once and keeps its copy; a change the driver makes in memory is seen
 * only after the CFGI_* command that covers it (IHI0070 4.3): CFGI_STE for
 * one StreamID's STE (modelled as dropping the CDs fetched through it too),
 * CFGI_CD for one CD, CFGI_CD_ALL for every CD of a StreamID, CFGI_ALL for
 * everything; PREFETCH_CFG fetches the STE again.
 */
import { describe, expect, test } from "vitest";
import { CdTable, Simulator, type Cmd } from "../../src/index.js";
import { SmmuV3 } from "../../plugins/smmu-v3/index.js";

function setup() {
  const sim = new Simulator({ smmus: [{ name: "smmu0", features: [] }], devices: [], domains: [] });
  const smmu = sim.platform.smmu("smmu0") as SmmuV3;
  const issue = (...cmds: Cmd[]) => sim.bus.request("smmu:cmdq", "smmu0", { cmds, sync: true, source: "cpu0", at: 0 });
  const cds = new CdTable(4, false);
  const cdtab = smmu.memory.alloc(cds);
  /* one CD table, which StreamIDs 0x40 and 0x41 both read here */
  const setCd = (ssid: number, q0: bigint) => (cds.cd(ssid)[0] = q0);
  const seenCd = (sid: number, ssid: number) => smmu.fetchCd(sid, cdtab, ssid)?.[0];
  const setSte = (sid: number, q0: bigint) => (smmu.strtab.ste(sid)[0] = q0);
  const seenSte = (sid: number) => smmu.fetchSte(sid)[0];
  return { smmu, issue, setCd, seenCd, setSte, seenSte };
}

describe("STEs", () => {
  test("kept once read: a change in memory is seen after CFGI_STE of that StreamID only", () => {
    const { issue, setSte, seenSte } = setup();
    expect([seenSte(0x40), seenSte(0x41)]).toEqual([1n, 1n]);
    setSte(0x40, 0b1001n);
    setSte(0x41, 0b1001n);
    expect([seenSte(0x40), seenSte(0x41)]).toEqual([1n, 1n]);
    issue({ op: "CFGI_STE", sid: 0x40, leaf: true });
    expect([seenSte(0x40), seenSte(0x41)]).toEqual([0b1001n, 1n]);
  });

  test("the copy is the SMMU's: writing the table after a fetch does not reach it", () => {
    const { smmu, setSte } = setup();
    const copy = smmu.fetchSte(0x40);
    setSte(0x40, 0b1011n);
    expect(copy[0]).toBe(1n);
  });

  test("PREFETCH_CFG fetches the STE again", () => {
    const { issue, setSte, seenSte } = setup();
    seenSte(0x40);
    setSte(0x40, 0b1011n);
    issue({ op: "PREFETCH_CFG", sid: 0x40 });
    expect(seenSte(0x40)).toBe(0b1011n);
  });

  test("CFGI_ALL: every STE", () => {
    const { issue, setSte, seenSte } = setup();
    seenSte(0x40);
    seenSte(0x41);
    setSte(0x40, 0b1001n);
    setSte(0x41, 0b1011n);
    issue({ op: "CFGI_ALL" });
    expect([seenSte(0x40), seenSte(0x41)]).toEqual([0b1001n, 0b1011n]);
  });
});

describe("CDs", () => {
  /* both StreamIDs have read CDs 0 and 1, which then change in memory */
  function cached() {
    const s = setup();
    for (const sid of [0x40, 0x41]) for (const ssid of [0, 1]) s.seenCd(sid, ssid);
    s.setCd(0, 0x8000_0000n);
    s.setCd(1, 0x8000_0001n);
    const seen = () => [0x40, 0x41].flatMap((sid) => [0, 1].map((ssid) => s.seenCd(sid, ssid)));
    return { ...s, seen };
  }

  test("kept once read, by StreamID and SSID: nothing changes without a CFGI", () => {
    const { seen } = cached();
    expect(seen()).toEqual([0n, 0n, 0n, 0n]);
  });

  test("CFGI_CD: that SSID of that StreamID", () => {
    const { issue, seen } = cached();
    issue({ op: "CFGI_CD", sid: 0x40, ssid: 1, leaf: true });
    expect(seen()).toEqual([0n, 0x8000_0001n, 0n, 0n]);
  });

  test("CFGI_CD_ALL: every CD of that StreamID", () => {
    const { issue, seen } = cached();
    issue({ op: "CFGI_CD_ALL", sid: 0x41 });
    expect(seen()).toEqual([0n, 0n, 0x8000_0000n, 0x8000_0001n]);
  });

  test("CFGI_STE: the CDs fetched through that StreamID's STE too", () => {
    const { issue, seen } = cached();
    issue({ op: "CFGI_STE", sid: 0x40, leaf: true });
    expect(seen()).toEqual([0x8000_0000n, 0x8000_0001n, 0n, 0n]);
  });

  test("CFGI_ALL: every CD", () => {
    const { issue, seen } = cached();
    issue({ op: "CFGI_ALL" });
    expect(seen()).toEqual([0x8000_0000n, 0x8000_0001n, 0x8000_0000n, 0x8000_0001n]);
  });

  test("a TLBI or an ATC_INV leaves the configuration cache as it is", () => {
    const { issue, seen } = cached();
    issue({ op: "TLBI_NSNH_ALL" }, { op: "ATC_INV", sid: 0x40, ssid: 0, ssv: false, global: false, size: 52, addr: 0n });
    expect(seen()).toEqual([0n, 0n, 0n, 0n]);
  });

  test("a CD no table holds (an address that is not a CD table) is not cached", () => {
    const { smmu } = setup();
    expect(smmu.fetchCd(0x40, 0x1234_0000n, 0)).toBeUndefined();
  });
});
