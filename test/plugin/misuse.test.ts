/**
 * A user's plugin cannot forge a verdict (issue 13): what it is given is a
 * frozen copy, so a listener that empties a translation's backing or
 * rewrites a queued command changes nothing the oracle or the SMMU holds,
 * and the write is a failure naming it and the event; it emits only its own
 * model's notifications about its own node; a handler that re-enters the
 * bus without end is stopped and blamed on it, not on the model it called.
 * Each case through the command line, with its exact report.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { main, type Io } from "../../src/cli/main.js";

async function run(...argv: string[]): Promise<{ status: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => void out.push(...t.split("\n")), err: (t) => void err.push(...t.split("\n")), tty: false };
  return { status: await main(argv, io), out, err };
}

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), "smmu-misuse-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

/** A module exporting this plugin object literal, no imports. */
const plugin = (kind: string, name: string, setup: string, extra = ""): string => {
  const base = { smmu: "smmu-v3", device: "pcie-ats", driver: "driver-invs" }[kind]!;
  const variants = kind === "driver" ? `variants: ["mainline"], ` : "";
  return `export default { name: "${name}", kind: "${kind}", version: "1", apiVersions: [1], extends: "${base}", ${variants}description: "", schema: { type: "object" }, ${extra}setup: ${setup} };\n`;
};

const LOSSY = resolve("examples/plugins/lossy-atc.ts");

/* nic0 drops its second ATC_INV (the unmap's): the DMA at line 10 is served stale from its ATC */
const STALE = (uses: string, driver = ""): string => `use "${LOSSY}";
${uses}${driver}smmu smmu0 { features: ats; }
device nic0 { plugin: "lossy-atc"; smmu: smmu0; sids: 0x40; ats: true; drop: 2; }
domain d1 { stage: s1; }
scenario "s" {
  attach nic0 d1;
  map d1 0x10000 size 4K;
  dma nic0 read 0x10000;
  unmap d1 0x10000 size 4K;
  dma nic0 read 0x10000;
}
`;

/** Run STALE under `driver NAME;`, the driver plugin "driver-NAME" of `setup` in NAME.ts, nic0 dropping its `drop`-th ATC_INV. */
async function runDriver(name: string, setup: string, drop = 2): Promise<{ file: string; r: Awaited<ReturnType<typeof run>> }> {
  const d = dir({ [`${name}.ts`]: plugin("driver", `driver-${name}`, setup) });
  const file = join(d, "t.smmu");
  writeFileSync(file, STALE(`use "./${name}.ts";\n`, `driver ${name};\n`).replace("drop: 2", `drop: ${drop}`));
  return { file, r: await run("run", file) };
}

describe("what a plugin is given is read-only", () => {
  test("a listener that empties dma:served's backing: its write fails the scenario at the DMA, naming it and the event", async () => {
    const { file, r } = await runDriver("hide", `(ctx, base) => { ctx.on("dma:served", (e) => { e.t.backing = []; }); return base; }`);
    expect(r.out).toEqual([
      file,
      "FAIL s (driver-hide mainline)",
      `  ${file}:10:3: plugin "driver-hide" changed what it was given handling "dma:served", which is read-only: Cannot assign to read only property 'backing' of object '#<Object>'`,
      "1 scenario: 0 passed, 1 failed",
    ]);
    expect(r.status).toBe(1);
  });

  test("... and one that swallows the error has changed nothing: the stale translation is found", async () => {
    const { file, r } = await runDriver("hide", `(ctx, base) => { ctx.on("dma:served", (e) => { try { e.t.backing = []; } catch {} try { e.t.backing.length = 0; } catch {} }); return base; }`);
    expect(r.out[1]).toBe("FAIL s (driver-hide mainline)");
    expect(r.out[2]).toMatch(new RegExp(`^  ${file}:12:3: stale-translation: nic0 read 0x10000 was served from nic0.atc`));
    expect(r.status).toBe(1);
  });

  test("a listener that rewrites a queued command: its failure, at the statement; what the SMMU executes is the driver's", async () => {
    const { file, r } = await runDriver("rewrite", `(ctx, base) => { ctx.on("cmd:queued", (e) => { if (e.cmd.op === "ATC_INV") e.cmd.sid = 0x999; }); return base; }`, 9);
    expect(r.out).toEqual([
      file,
      "FAIL s (driver-rewrite mainline)",
      `  ${file}:8:3: plugin "driver-rewrite" changed what it was given handling "cmd:queued", which is read-only: Cannot assign to read only property 'sid' of object '#<Object>'`,
      "1 scenario: 0 passed, 1 failed",
    ]);
  });

  test("setup: the spec and the topology are read-only too", async () => {
    const d = dir({ "spec.ts": plugin("device", "spec-writer", `(ctx, base) => { ctx.topology.domains.length = 0; return base; }`) });
    writeFileSync(join(d, "t.smmu"), STALE(`use "./spec.ts";\n`).replace(`plugin: "lossy-atc"`, `plugin: "spec-writer"`).replace(" drop: 2;", ""));
    const r = await run("run", join(d, "t.smmu"));
    expect(r.err).toEqual([
      `${join(d, "t.smmu")}:6:10: error: plugin "spec-writer" changed what it was given handling "setup", which is read-only: Cannot assign to read only property 'length' of object '[object Array]'`,
    ]);
    expect(r.status).toBe(2);
  });
});

describe("a plugin speaks for its own model and node", () => {
  test("a device plugin's driver:warn events are refused at the first, not printed as the driver's", async () => {
    const d = dir({
      "warner.ts": plugin("device", "warner", `(ctx, base) => { ctx.on("ep:ats", () => { for (let i = 0; i < 200000; i++) ctx.emit("driver:warn", { fn: "arm_smmu_attach_dev", cond: "forged" }); }); return base; }`),
    });
    writeFileSync(join(d, "t.smmu"), STALE(`use "./warner.ts";\n`).replace(`plugin: "lossy-atc"`, `plugin: "warner"`).replace(" drop: 2;", ""));
    const file = join(d, "t.smmu");
    const r = await run("run", file);
    expect(r.out).toEqual([
      file,
      "FAIL s (driver-invs mainline)",
      `  ${file}:7:3: plugin "warner" may not emit "driver:warn": that notification is a driver model's, and it models a device`,
      "1 scenario: 0 passed, 1 failed",
    ]);
  });

  test("a device plugin's notification about another device", async () => {
    const d = dir({
      "other.ts": plugin(
        "device",
        "other",
        `(ctx, base) => { ctx.on("ep:ats", () => ctx.emit("ep:atc-inv-done", { device: "gpu9", sid: 1, start: 0, end: 0, completed: true })); return base; }`,
      ),
    });
    writeFileSync(join(d, "t.smmu"), STALE(`use "./other.ts";\n`).replace(`plugin: "lossy-atc"`, `plugin: "other"`).replace(" drop: 2;", ""));
    const r = await run("run", join(d, "t.smmu"));
    expect(r.out[2]).toBe(`  ${join(d, "t.smmu")}:7:3: plugin "other" may not emit "ep:atc-inv-done" for gpu9: it models nic0`);
  });
});

describe("a plugin that re-enters the bus without end", () => {
  test("a cmd:queued listener resubmitting to the queue: stopped at 32 deep and blamed on it, not on smmu-v3", async () => {
    const { file, r } = await runDriver(
      "resubmit",
      `(ctx, base) => { ctx.on("cmd:queued", (e) => { ctx.request("smmu:cmdq", e.smmu, { cmds: [{ op: "CMD_SYNC", cs: 0, msiaddr: 0n, msidata: 0 }].slice(1), sync: true, source: "cpu0", at: e.end }); }); return base; }`,
      9,
    );
    expect(r.out).toEqual([
      file,
      "FAIL s (driver-resubmit mainline)",
      `  ${file}:8:3: plugin "driver-resubmit" re-entered the bus more than 32 deep sending "smmu:cmdq" (a handler that causes itself to run again)`,
      "1 scenario: 0 passed, 1 failed",
    ]);
  });
});
