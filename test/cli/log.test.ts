/**
 * run --log: each event a line as it happens, with its simulated ns and the
 * CPU whose operation caused it (a command: the CPU that queued it, at the
 * time its queue started it; an invalidation of a cache: when the command
 * took effect), on stderr or in --log-file; the report is what it is without.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cli } from "../helpers/cli.js";
import { readmeShown } from "../helpers/readme.js";

const ATS = "test/cli/log/unmap-ats.smmu";
const CONCURRENT = "test/cli/log/concurrent.smmu";

/** The log of every category of ATS's scenario. */
const ALL = [
  "# test/cli/log/unmap-ats.smmu: \"unmap under ATS\"",
  "         0 cpu0 invs d1 published: 2 entries",
  "         0 cpu0 cmd smmu0 CFGI_CD sid 0x100 ssid 0 leaf 1 (until 20)",
  "        20 cpu0 cmd smmu0 CMD_SYNC (until 120)",
  "       120 cpu0 cmd smmu0 CFGI_CD sid 0x100 ssid 0 leaf 1 (until 140)",
  "       140 cpu0 cmd smmu0 CMD_SYNC (until 240)",
  "       240 cpu0 cmd smmu0 CFGI_STE sid 0x100 leaf 1 (until 260)",
  "       260 cpu0 cmd smmu0 CMD_SYNC (until 360)",
  "       360 cpu0 cmd smmu0 CFGI_STE sid 0x100 leaf 1 (until 380)",
  "       380 cpu0 cmd smmu0 CMD_SYNC (until 480)",
  "       480 cpu0 cmd smmu0 PREFETCH_CFG sid 0x100 (until 500)",
  "       500 cpu0 cmd smmu0 ATC_INV sid 0x100 ssid 0 ssv 0 global 0 size 52 addr 0x0 (until 520)",
  "       520 cpu0 invalidate gpu0.atc by ATC_INV: 0 entries",
  "       520 cpu0 atc-inv gpu0 sid 0x100: completed at 1520",
  "       520 cpu0 cmd smmu0 CMD_SYNC (until 1520)",
  "      1520 cpu0 ats gpu0 enabled stu 12",
  "      1520 cpu0 lookup gpu0.atc sid 0x100 0x10000: miss",
  "      1520 cpu0 lookup smmu0.iotlb s1 asid 1 vmid 0 0x10000: miss",
  "      1520 cpu0 lookup smmu0.walk s1 asid 1 vmid 0 0x10000: miss",
  "      1520 cpu0 walk smmu0 sid 0x100 0x10000 stage 1: 4 reads, ok",
  "      1520 cpu0 fill smmu0.iotlb s1 asid 1 vmid 0: 0x10000 size 0x1000 to 0x1000000000",
  "      1520 cpu0 fill gpu0.atc sid 0x100: 0x10000 size 0x1000 to 0x1000000000",
  "      1520 cpu0 dma gpu0 sid 0x100 read 0x10000: ok via walk pa 0x1000000000",
  "      1520 cpu0 lookup gpu0.atc sid 0x100 0x10000: hit",
  "      1520 cpu0 dma gpu0 sid 0x100 read 0x10000: ok via atc pa 0x1000000000",
  "      1520 cpu0 cmd smmu0 TLBI_NH_VA asid 1 vmid 0 num 0 scale 1 leaf 1 ttl 3 tg 1 addr 0x10000 (until 1540)",
  "      1540 cpu0 invalidate smmu0.iotlb by TLBI_NH_VA: 1 entry",
  "      1540 cpu0 invalidate smmu0.walk by TLBI_NH_VA: 0 entries",
  "      1540 cpu0 cmd smmu0 CMD_SYNC (until 1640)",
  "      1640 cpu0 cmd smmu0 ATC_INV sid 0x100 ssid 0 ssv 0 global 0 size 1 addr 0x10000 (until 1660)",
  "      1660 cpu0 invalidate gpu0.atc by ATC_INV: 1 entry",
  "      1660 cpu0 atc-inv gpu0 sid 0x100: completed at 2660",
  "      1660 cpu0 cmd smmu0 CMD_SYNC (until 2660)",
  "      2660 cpu0 lookup gpu0.atc sid 0x100 0x10000: miss",
  "      2660 cpu0 lookup smmu0.iotlb s1 asid 1 vmid 0 0x10000: miss",
  "      2660 cpu0 lookup smmu0.walk s1 asid 1 vmid 0 0x10000: hit",
  "      2660 cpu0 walk smmu0 sid 0x100 0x10000: from smmu0.walk level 2 0x0 -> table 0x80004000",
  "      2660 cpu0 walk smmu0 sid 0x100 0x10000 stage 1: 1 read, fault",
  "      2660 cpu0 dma gpu0 sid 0x100 read 0x10000: fault F_TRANSLATION: stage 1 0x10000 is not mapped",
];

const lines = (text: string): string[] => text.split("\n").slice(0, -1);

describe("run --log", () => {
  test("all: commands, DMAs with their result, ATC, TLB, walks and the array, in the order they happen", async () => {
    const plain = await cli("run", ATS);
    const r = await cli("run", "--log", "all", ATS);
    expect(r.status).toBe(0);
    expect(lines(r.stderr)).toEqual(ALL);
    expect(r.stdout).toBe(plain.stdout);
  });

  test("the categories asked for, and no others", async () => {
    const r = await cli("run", "--log", "dma,atc", ATS);
    const mine = (l: string): boolean => /^ +\d+ cpu0 (dma|ats|atc-inv|(lookup|fill|invalidate) gpu0\.atc) /.test(l);
    expect(lines(r.stderr)).toEqual([ALL[0], ...ALL.filter(mine)]);
    expect(lines(r.stderr).length).toBe(13);
  });

  test("a concurrently block's operations on their own CPUs", async () => {
    const r = await cli("run", "--log", "dma,tlb,walk", CONCURRENT);
    expect(lines(r.stderr)).toEqual([
      "# test/cli/log/concurrent.smmu: \"a DMA beside an unmap\"",
      "       480 cpu1 lookup smmu0.iotlb s1 asid 1 vmid 0 0x10000: miss",
      "       480 cpu1 lookup smmu0.walk s1 asid 1 vmid 0 0x10000: miss",
      "       480 cpu1 walk smmu0 sid 0x200 0x10000 stage 1: 4 reads, fault",
      "       480 cpu1 dma nic0 sid 0x200 read 0x10000: fault F_TRANSLATION: stage 1 0x10000 is not mapped",
      "       520 cpu0 invalidate smmu0.iotlb by TLBI_NH_VA: 0 entries",
      "       520 cpu0 invalidate smmu0.walk by TLBI_NH_VA: 0 entries",
    ]);
  });

  test("a replayed schedule: a command's invalidations on the CPU that queued it, though another CPU ran last", async () => {
    /* cpu1 (the attach) takes step 15 and smmu0 then executes cpu0's TLBI (steps 16 and 17): the log said cpu1 */
    const schedule = "0*8.1*7.2*5.1*3.2*2.1*3.2*2.1*4.2*4.1*6.0*4.2*3.0";
    const r = await cli("run", "--log", "cmds,tlb,walk", "--variant", "v9", "--scenario", "unmap races a device leaving a purged array", "--schedule", schedule, "examples/race-attach-unmap.smmu");
    expect(r.status).toBe(1);
    expect(lines(r.stdout).slice(15, 18)).toEqual([
      "15  cpu1: arm_smmu_cmdq_issue_cmdlist: insert commands, dma_wmb(), advance prod",
      "16  smmu0: execute #44 TLBI_NH_VA asid 1 vmid 0 num 0 scale 0 leaf 1 ttl 3 tg 1 addr 0x10000",
      "17  smmu0: complete #44 TLBI_NH_VA asid 1 vmid 0 num 0 scale 0 leaf 1 ttl 3 tg 1 addr 0x10000",
    ]);
    expect(lines(r.stderr).filter((l) => l.includes("TLBI_NH_VA"))).toEqual([
      "      6080 cpu0 cmd smmu0 TLBI_NH_VA asid 1 vmid 0 num 0 scale 0 leaf 1 ttl 3 tg 1 addr 0x10000 (until 6100)",
      "      6100 cpu0 invalidate smmu0.iotlb by TLBI_NH_VA: 0 entries",
      "      6100 cpu0 invalidate smmu0.walk by TLBI_NH_VA: 0 entries",
    ]);
  });

  test("the README's log of examples/inside.smmu", async () => {
    const r = await cli("run", "--log", "dma,tlb,atc", "examples/inside.smmu");
    expect(r.stderr).toBe(readmeShown("npx smmu-emu run --log dma,tlb,atc examples/inside.smmu 2>&1 >/dev/null"));
  });

  test("--log-file: the same lines in the file, nothing on stderr", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "smmu-log-")), "run.log");
    const r = await cli("run", "--log", "all", "--log-file", file, ATS);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(lines(readFileSync(file, "utf8"))).toEqual(ALL);
  });

  test("on the worker thread (--timeout): the same lines, on stderr and in --log-file", async () => {
    const r = await cli("run", "--timeout", "60", "--log", "all", ATS);
    expect(r.status).toBe(0);
    expect(lines(r.stderr)).toEqual(ALL);
    const file = join(mkdtempSync(join(tmpdir(), "smmu-log-")), "run.log");
    const f = await cli("run", "--timeout", "60", "--log", "all", "--log-file", file, ATS);
    expect([f.status, f.stderr]).toEqual([0, ""]);
    expect(lines(readFileSync(file, "utf8"))).toEqual(ALL);
  });

  test("usage errors: a category that is none, --log-file alone, a file that cannot be written", async () => {
    const bad = await cli("run", "--log", "cmd", ATS);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      `error: option '--log <categories>' argument 'cmd' is invalid. no log category "cmd" (categories: cmds, dma, atc, tlb, walk, invs, or all)\n(run with --help for usage)\n`,
    );
    const alone = await cli("run", "--log-file", "x.log", ATS);
    expect([alone.status, alone.stderr]).toEqual([2, "smmu-emu: --log-file: goes with --log (the categories to log)\n"]);
    const nowhere = await cli("run", "--log", "all", "--log-file", "/nonexistent-dir/x.log", ATS);
    expect([nowhere.status, nowhere.stdout, nowhere.stderr]).toEqual([2, "", "smmu-emu: --log-file: cannot write /nonexistent-dir/x.log: ENOENT\n"]);
  });
});
