/**
 * `run --trace FILE`: Chrome trace-event JSON, checked against a schema of
 * the format (schemas/trace-event.schema.json), with a track per CPU, SMMU
 * queue and endpoint, spans that nest, and exact events for a small run.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";
import traceSchema from "../../schemas/trace-event.schema.json" with { type: "json" };
import { main, type Io } from "../../src/cli/main.js";
import type { TraceDocument, TraceEvent } from "../../src/report/trace.js";

/* strictRequired off: the schema requires fields by phase in if/then, declaring them once at the top (plain JSON Schema) */
const validate = new Ajv2020({ strict: true, strictRequired: false, allErrors: true }).compile(traceSchema);

async function traced(...argv: string[]): Promise<{ status: number; doc: TraceDocument; err: string }> {
  const out = join(mkdtempSync(join(tmpdir(), "smmu-trace-")), "trace.json");
  const err: string[] = [];
  const io: Io = { out: () => undefined, err: (t) => err.push(t), tty: false };
  const status = await main(["run", "--trace", out, ...argv], io);
  return { status, doc: JSON.parse(readFileSync(out, "utf8")) as TraceDocument, err: err.join("\n") };
}

/** Track names of process `pid`, in their sort order. */
function tracks(doc: TraceDocument, pid: number): string[] {
  return doc.traceEvents
    .filter((e) => e.ph === "M" && e.name === "thread_name" && e.pid === pid)
    .sort((a, b) => a.tid - b.tid)
    .map((e) => String(e.args!.name));
}

describe("a trace of an example", () => {
  test("examples/s1-shared.smmu: valid trace-event JSON, a track per CPU, SMMU queue and endpoint", async () => {
    const { status, doc } = await traced("examples/s1-shared.smmu");
    expect(status).toBe(0);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.displayTimeUnit).toBe("ns");
    expect(doc.traceEvents.find((e) => e.name === "process_name")!.args).toEqual({ name: "one S1 domain on two SMMUs (driver-invs share)" });
    /* gpu0 has two StreamIDs: their ATC_INVs are in flight together, on two lanes */
    expect(tracks(doc, 1)).toEqual(["cpu0", "smmu0 cmdq", "smmu1 cmdq", "gpu0 ATC", "gpu0 ATC (2)", "gpu0 DMA"]);
    /* each DMA on its device's track, when its CPU issued it, with how it ended */
    const dmas = doc.traceEvents.filter((e) => e.cat === "dma").map((e) => [e.name, e.ts, e.dur, e.args]);
    expect(dmas).toEqual([
      ["read 0x10000: ok via walk pa 0x1000000000", 2.32, 0, { cpu: "cpu0" }],
      ["read 0x10000: ok via atc pa 0x1000000000", 2.32, 0, { cpu: "cpu0" }],
      ["read 0x10000: fault F_TRANSLATION", 3.66, 0, { cpu: "cpu0" }],
    ]);
  });

  test("examples/race-attach-unmap.smmu: a DMA of a concurrently block names the CPU it ran on", async () => {
    const { doc } = await traced("examples/race-attach-unmap.smmu");
    const track = new Map(tracks(doc, 1).map((name, i) => [i + 1, name]));
    const dmas = doc.traceEvents.filter((e) => e.cat === "dma" && e.pid === 1).map((e) => [track.get(e.tid), e.name, e.args!.cpu]);
    expect(dmas).toEqual([
      ["gpu0 DMA", "read 0x10000: ok via walk pa 0x1000000000", "cpu0"],
      ["gpu0 DMA", "read 0x10000: ok via atc pa 0x1000000000", "cpu2"],
      ["gpu0 DMA", "read 0x10000: fault F_TRANSLATION", "cpu0"],
      ["gpu1 DMA", "read 0x10000: fault F_TRANSLATION", "cpu0"],
    ]);
  });

  test("spans on one track nest: each starts after the one before ends, or inside it", async () => {
    const { doc } = await traced("examples/s1-shared.smmu", "examples/sva-4-smmus.smmu", "examples/race-attach-unmap.smmu");
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    const byTrack = new Map<string, TraceEvent[]>();
    for (const e of doc.traceEvents) {
      if (e.ph !== "X") continue;
      const k = `${e.pid}/${e.tid}`;
      byTrack.set(k, [...(byTrack.get(k) ?? []), e]);
    }
    expect(byTrack.size).toBeGreaterThan(10);
    const eps = 1e-9;
    for (const events of byTrack.values()) {
      const sorted = [...events].sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!);
      const open: TraceEvent[] = [];
      for (const e of sorted) {
        while (open.length && open.at(-1)!.ts! + open.at(-1)!.dur! <= e.ts! + eps && !(e.dur === 0 && open.at(-1)!.ts === e.ts)) open.pop();
        const parent = open.at(-1);
        if (parent) expect(e.ts! + e.dur!, `${e.name} inside ${parent.name}`).toBeLessThanOrEqual(parent.ts! + parent.dur! + eps);
        open.push(e);
      }
    }
  });
});

describe("the events of a small run", () => {
  test("an unmap with configured costs: the op, its invalidation and waits on the CPU, the commands on the queue, the ATC round trip", async () => {
    const dir = mkdtempSync(join(tmpdir(), "smmu-trace-"));
    const file = join(dir, "t.smmu");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(
      file,
      `smmu smmu0 { features: ats; cmd_ns: 10; sync_ns: 100; }
device dev0 { smmu: smmu0; sids: 0x10; ats: true; atc_inv_ns: 1000; }
domain d1 { stage: s1; }
scenario "s" {
  attach dev0 d1;
  map d1 0x10000 size 4K;
  unmap d1 0x10000 size 4K;
}
`,
    );
    const { status, doc } = await traced(file);
    expect(status).toBe(0);
    const attach = doc.traceEvents.find((e) => e.name === "attach dev0 d1")!;
    const t0 = attach.ts! + attach.dur!;
    const at = (e: TraceEvent): [string, number, number] => [e.name, Math.round((e.ts! - t0) * 1000), Math.round(e.dur! * 1000)];
    const after = doc.traceEvents.filter((e) => e.ph === "X" && e.ts! >= t0 && e.name !== "attach dev0 d1");
    expect(after.filter((e) => e.tid === 1).map(at)).toEqual([
      ["map d1 0x10000 size 0x1000", 0, 0],
      /* TLBI 10 + CMD_SYNC 100, then ATC_INV 10 + the endpoint's 1000 */
      ["unmap d1 0x10000 size 0x1000", 0, 1120],
      ["iotlb_sync d1", 0, 1120],
      ["wait CMD_SYNC smmu0", 0, 110],
      ["wait CMD_SYNC smmu0", 110, 1010],
    ]);
    expect(after.filter((e) => e.tid === 2).map(at)).toEqual([
      ["TLBI_NH_VA", 0, 10],
      ["CMD_SYNC", 10, 100],
      ["ATC_INV", 110, 10],
      ["CMD_SYNC", 120, 1000],
    ]);
    expect(after.filter((e) => e.tid === 3).map((e) => [...at(e), e.args])).toEqual([["ATC invalidation sid 0x10", 120, 1000, { completed: true }]]);
    expect(after.find((e) => e.name === "iotlb_sync d1")!.args).toEqual({ queued: "smmu0: 4 commands, 2 CMD_SYNC", array_entries: 2 });
  });

  test("an unwritable trace file: exit 2, saying why", async () => {
    const err: string[] = [];
    const status = await main(["run", "--trace", "/nonexistent/dir/t.json", "examples/s1-shared.smmu"], { out: () => undefined, err: (t) => err.push(t), tty: false });
    expect(status).toBe(2);
    expect(err).toEqual(["smmu-emu: --trace: cannot write /nonexistent/dir/t.json: ENOENT"]);
  });
});
