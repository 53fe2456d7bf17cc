/**
 * The SMMU's walk cache (plugins/smmu-v3/walk-cache.ts): which TLBIs remove
 * cached table entries (any but a leaf-only by-address one), and the
 * oracle's stale walk: a walk started from a cached entry pointing at a
 * table io-pgtable freed. Shown with a driver that skips the walk flush
 * (driver-invs whose tlbFlushWalk does nothing), against the real driver
 * and against an SMMU without a walk cache.
 */
import { describe, expect, test } from "vitest";
import { QUARANTINE } from "../../src/core/memory.js";
import { loadSmmu } from "../../src/engine/load.js";
import { PtTable } from "../../src/model/page-table.js";
import { runFile } from "../../src/engine/runner.js";
import { builtinRegistry, definePlugin, type IommuDriver, type Simulator, type Steps } from "../../src/index.js";
import type { Cmd } from "../../src/model/commands.js";
import type { Topology } from "../../src/model/topology.js";
import type { SmmuV3 } from "../../plugins/smmu-v3/index.js";
import type { TlbTag } from "../../plugins/smmu-v3/iotlb.js";
import { WalkCache } from "../../plugins/smmu-v3/walk-cache.js";
import { nhAsid, nhVa, s12Vmall, s2Ipa, SYNC } from "../helpers/cmds.js";
import { during, sim } from "../helpers/sim.js";

const S1: TlbTag = { stage: "s1", asid: 1, vmid: 0 };
const S2: TlbTag = { stage: "s2", asid: -1, vmid: 2 };
const G = 2 ** 30;

describe("the walk cache on its own", () => {
  /** A stage-1 walk to 0x200000 (4K granule: L0, L1, L2 entries) and a stage-2 one to 0x40000000 (L0, L1). */
  function filled(): WalkCache {
    const wc = new WalkCache();
    wc.fill(S1, 0, 0, 2 ** 39, 0x1000n);
    wc.fill(S1, 1, 0, G, 0x2000n);
    wc.fill(S1, 2, 0x20_0000, 0x20_0000, 0x3000n);
    wc.fill(S2, 0, 0, 2 ** 39, 0x4000n);
    wc.fill(S2, 1, G, G, 0x5000n);
    return wc;
  }

  const left = (wc: WalkCache): string[] => wc.entries().map((e) => `${e.stage} ${e.level} 0x${e.base.toString(16)}`);

  test("a walk starts from the deepest entry covering its address, under its own tag", () => {
    const wc = filled();
    expect(wc.lookup(S1, 0x20_1000)?.next).toBe(0x3000n);
    expect(wc.lookup(S1, 0x40_0000)?.next).toBe(0x2000n);
    expect(wc.lookup(S1, 2 ** 40)).toBeUndefined();
    expect(wc.lookup({ ...S1, asid: 2 }, 0x20_1000)).toBeUndefined();
    expect(wc.lookup(S2, G + 5)?.next).toBe(0x5000n);
  });

  test.each<[string, Cmd, string[]]>([
    ["a leaf-only TLBI_NH_VA keeps them all", nhVa(1, 0x20_0000n), ["s1 0 0x0", "s1 1 0x0", "s1 2 0x200000", "s2 0 0x0", "s2 1 0x40000000"]],
    ["a non-leaf TLBI_NH_VA removes the entries of its ASID whose regions hold its address, at every level", nhVa(1, 0x20_0000n, { leaf: false }), ["s2 0 0x0", "s2 1 0x40000000"]],
    ["a non-leaf one elsewhere keeps the level-2 entry", nhVa(1, 0x60_0000n, { leaf: false }), ["s1 2 0x200000", "s2 0 0x0", "s2 1 0x40000000"]],
    ["a non-leaf range (512 pages at 0x400000) meets the L0 and L1 regions, not the L2 one before it", nhVa(1, 0x40_0000n, { leaf: false, tg: 1, scale: 9 }), ["s1 2 0x200000", "s2 0 0x0", "s2 1 0x40000000"]],
    ["another ASID's keeps them", nhVa(2, 0x20_0000n, { leaf: false }), ["s1 0 0x0", "s1 1 0x0", "s1 2 0x200000", "s2 0 0x0", "s2 1 0x40000000"]],
    ["TLBI_NH_ASID: the ASID's", nhAsid(1), ["s2 0 0x0", "s2 1 0x40000000"]],
    ["a leaf-only TLBI_S2_IPA keeps them", s2Ipa(2, 0x4000_0000n), ["s1 0 0x0", "s1 1 0x0", "s1 2 0x200000", "s2 0 0x0", "s2 1 0x40000000"]],
    ["a non-leaf TLBI_S2_IPA: the VMID's stage-2 entries over it", s2Ipa(2, 0x4000_0000n, { leaf: false }), ["s1 0 0x0", "s1 1 0x0", "s1 2 0x200000"]],
    ["TLBI_S12_VMALL: everything of the VMID", s12Vmall(0), ["s2 0 0x0", "s2 1 0x40000000"]],
  ])("%s", (_, cmd, want) => {
    const wc = filled();
    wc.invalidate(cmd);
    expect(left(wc)).toEqual(want);
  });
});

const TOPO = (features: Topology["smmus"][number]["features"], walkCache: boolean, driver?: string): Topology => ({
  smmus: [{ name: "smmu0", features, props: walkCache ? {} : { walk_cache: false } }],
  devices: [{ name: "dev0", smmu: "smmu0", sids: [0x10] }],
  domains: [{ name: "d1", stage: "s1" }],
  driver: driver ? { plugin: driver } : undefined,
});

/** driver-invs, except that io-pgtable's walk flush reaches nothing: a table is freed with its range still cached. */
const NO_WALK_FLUSH = definePlugin({
  kind: "driver",
  name: "no-walk-flush",
  version: "1",
  apiVersions: [1],
  extends: "driver-invs",
  variants: ["mainline"],
  description: "driver-invs without arm_smmu_tlb_inv_walk()",
  schema: { type: "object" },
  setup: (_ctx, base) => Object.assign(Object.create(base!) as IommuDriver, { *tlbFlushWalk(): Steps {} }),
});

function withDriver(driver: string | undefined, walkCache: boolean, features: Topology["smmus"][number]["features"] = []): Simulator {
  const registry = builtinRegistry();
  registry.register(NO_WALK_FLUSH);
  return sim(TOPO(features, walkCache, driver), { registry });
}

const smmu0 = (s: Simulator): SmmuV3 => s.platform.smmus()[0] as SmmuV3;
const cached = (s: Simulator): string[] => smmu0(s).walkCache!.entries().map((e) => `${e.level} 0x${e.base.toString(16)}`);

/** Four pages at 0x200000, one read through the SMMU; then the 2 MiB table entry over them unmapped at once. */
function tableUnmap(s: Simulator): Cmd[] {
  s.attach("dev0", "d1");
  s.map("d1", 0x20_0000, 0x4000);
  expect(s.dma("dev0", "read", 0x20_0000)).toMatchObject({ kind: "ok", via: "walk" });
  return during(s, () => s.unmap("d1", 0x20_0000, 0x20_0000)).smmu0!;
}

describe("a table freed by an unmap, and the walk cache", () => {
  test("the real driver: the walk flush (the whole ASID) empties the walk cache before the free; the next DMA faults", () => {
    const s = withDriver(undefined, true);
    s.attach("dev0", "d1");
    s.map("d1", 0x20_0000, 0x4000);
    s.dma("dev0", "read", 0x20_0000);
    /* the walk read L0 entry 0, L1 entry 0 and L2 entry 1 (the L3 table) */
    expect(cached(s)).toEqual(["0 0x0", "1 0x0", "2 0x200000"]);
    expect(during(s, () => s.unmap("d1", 0x20_0000, 0x20_0000)).smmu0).toEqual([nhAsid(1), SYNC, nhVa(1, 0x20_0000n), SYNC]);
    expect(cached(s)).toEqual([]);
    expect(s.dma("dev0", "read", 0x20_1000)).toEqual({ kind: "fault", event: "F_TRANSLATION", detail: "stage 1 0x201000 is not mapped" });
    expect(s.violations).toEqual([]);
  });

  test("the real driver with RANGE_INV: the non-leaf range removes what covers the freed table's range, not the next table's entry", () => {
    const s = withDriver(undefined, true, ["range_inv"]);
    s.attach("dev0", "d1");
    s.map("d1", 0x20_0000, 0x4000);
    s.map("d1", 0x40_0000, 0x4000);
    s.dma("dev0", "read", 0x20_0000);
    s.dma("dev0", "read", 0x40_0000);
    expect(cached(s)).toEqual(["0 0x0", "1 0x0", "2 0x200000", "2 0x400000"]);
    s.unmap("d1", 0x20_0000, 0x20_0000);
    expect(cached(s)).toEqual(["2 0x400000"]);
    /* the walk for 0x401000 starts from that entry: its table is live */
    expect(s.dma("dev0", "read", 0x40_1000)).toMatchObject({ kind: "ok", via: "walk" });
    expect(s.violations).toEqual([]);
  });

  test("a driver skipping the walk flush: only the leaf TLBI goes out, and the next walk starts from the freed table: a stale walk", () => {
    const s = withDriver("no-walk-flush", true);
    expect(tableUnmap(s)).toEqual([nhVa(1, 0x20_0000n), SYNC]);
    const [, , l2] = smmu0(s).walkCache!.entries();
    expect(s.memory.isFreed(l2!.next)).toBe(true);
    /* the freed table still holds its PTEs: the DMA reaches the page the unmap took away */
    expect(s.dma("dev0", "read", 0x20_1000)).toMatchObject({ kind: "ok", via: "walk", t: { base: 0x20_1000, pa: 0x10_0000_1000 } });
    const table = `0x${l2!.next.toString(16)}`;
    expect(s.violations).toEqual([
      {
        kind: "stale-walk",
        device: "dev0",
        iova: 0x20_1000,
        cache: "smmu0.walk",
        op: { seq: 3, label: "unmap d1 0x200000 size 0x200000", at: undefined, cpu: "cpu0" },
        during: undefined,
        message: `dev0 read 0x201000 walked from smmu0.walk: its level 2 entry for 0x200000 points at the table at ${table}, which "unmap d1 0x200000 size 0x200000" freed`,
      },
    ]);
  });

  test("a table freed longer ago than memory's quarantine: the walk from the stale entry reads nothing there, and is still a stale walk", () => {
    const s = withDriver("no-walk-flush", true);
    tableUnmap(s);
    const [, , l2] = smmu0(s).walkCache!.entries();
    /* QUARANTINE tables freed after it, at 0x400000: the first leaves quarantine */
    for (let i = 0; i < QUARANTINE; i++) {
      s.map("d1", 0x40_0000, 0x1000);
      s.unmap("d1", 0x40_0000, 0x20_0000);
    }
    expect([s.memory.isFreed(l2!.next), s.memory.read(l2!.next, PtTable)]).toEqual([true, undefined]);
    const table = `0x${l2!.next.toString(16)}`;
    expect(s.dma("dev0", "read", 0x20_1000)).toMatchObject({ kind: "fault", event: "F_WALK_EABT", detail: `stage 1 walk-cache entry points at ${table}, which holds no table` });
    expect(s.violations.map((v) => [v.kind, v.op, v.message])).toEqual([
      ["stale-walk", undefined, `dev0 read 0x201000 walked from smmu0.walk: its level 2 entry for 0x200000 points at the table at ${table}, which was freed`],
    ]);
  });

  test("the same driver on an SMMU without a walk cache: every walk starts from the table base, finds the entry clear, and faults", () => {
    const s = withDriver("no-walk-flush", false);
    expect(smmu0(s).walkCache).toBeNull();
    expect(tableUnmap(s)).toEqual([nhVa(1, 0x20_0000n), SYNC]);
    expect(s.dma("dev0", "read", 0x20_1000)).toMatchObject({ kind: "fault", event: "F_TRANSLATION" });
    expect(s.violations).toEqual([]);
  });
});

describe("in a scenario", () => {
  const text = (expectStale: boolean, walkCache = "") => `smmu smmu0 { features: ats;${walkCache} }
device dev0 { smmu: smmu0; sids: 0x10; }
domain d1 { stage: s1; }
scenario "s" {
  attach dev0 d1;
  map d1 0x200000 size 16K;
  dma dev0 read 0x200000;
  unmap d1 0x200000 size 2M;
  dma dev0 read 0x201000;${expectStale ? "\n  expect stale dev0 0x201000;" : ""}
}
`;
  function run(t: string): string[] {
    const registry = builtinRegistry();
    registry.register(NO_WALK_FLUSH);
    return runFile(loadSmmu("w.smmu", registry, t), { registry, driver: { plugin: "no-walk-flush" } }).flatMap((r) => r.failures.map((f) => `${f.span.line}: ${f.message}`));
  }

  test("the stale walk fails the scenario at the DMA, unless `expect stale` names it; `walk_cache: false` has none", () => {
    const [failure, ...rest] = run(text(false));
    expect(rest).toEqual([]);
    expect(failure).toMatch(/^9: stale-walk: dev0 read 0x201000 walked from smmu0\.walk: its level 2 entry for 0x200000 points at the table at 0x[0-9a-f]+, which "unmap d1 0x200000 size 0x200000" at w\.smmu:8:3 freed$/);
    expect(run(text(true))).toEqual([]);
    expect(run(text(false, " walk_cache: false;"))).toEqual([]);
  });
});
