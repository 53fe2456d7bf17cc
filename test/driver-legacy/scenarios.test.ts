/**
 * Scenarios under driver-legacy: chosen with `driver legacy;` or `run
 * --driver legacy`; a domain on a second SMMU refused with -EINVAL at the
 * attach line; and statements about invalidation arrays skipping the
 * scenario (failing it if something else failed) with a message saying this
 * driver keeps none.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { main } from "../../src/cli/main.js";
import { formatDiagnostic, InputError } from "../../src/core/diagnostics.js";
import { compileSmmu } from "../../src/dsl/compile.js";
import { loadSmmu } from "../../src/engine/load.js";
import { runFile, type ScenarioResult } from "../../src/engine/runner.js";
import { builtinRegistry } from "../../src/index.js";

const TOPOLOGY = `smmu smmu0 { features: ats, range_inv; }
smmu smmu1 { features: ats; }
device gpu0 { smmu: smmu0; sids: 0x100, 0x101; ats: true; }
device nic0 { smmu: smmu1; sids: 0x200; }
domain d1 { stage: s1; }
`;

/** Each scenario's failures as "line: message", or "SKIP line: reason" if it was skipped. */
function run(text: string): Record<string, string[]> {
  const registry = builtinRegistry();
  const results: ScenarioResult[] = runFile(loadSmmu("legacy.smmu", registry, text), { registry });
  return Object.fromEntries(
    results.map((r) => [r.name, r.skipped ? [`SKIP ${r.skipped.span.line}: ${r.skipped.reason}`] : r.failures.map((f) => `${f.span.line}: ${f.message}`)]),
  );
}

describe("statements about invalidation arrays under driver-legacy", () => {
  test("expect invs as the first failure skips the scenario at its line; after a real failure it is one more failure, marked as a lack", () => {
    const registry = builtinRegistry();
    const results = runFile(
      loadSmmu(
        "legacy.smmu",
        registry,
        `driver legacy;
${TOPOLOGY}
scenario "lack first" {
  attach gpu0 d1;
  expect invs d1 { smmu0 S1_ASID 1; smmu0 ATS 0x100; smmu0 ATS 0x101; }
  expect count smmu1 commands 1;
}
scenario "failure first" {
  attach gpu0 d1;
  expect count smmu1 commands 1;
  expect invs d1 empty;
}`,
      ),
      { registry },
    );
    const noArray = "driver-legacy keeps no invalidation array: expect invs d1 needs a driver that has one (driver-invs)";
    expect(results.map((r) => [r.name, r.passed, r.skipped && [r.skipped.span.line, r.skipped.reason, r.skipped.lacks], r.failures.map((f) => [f.span.line, f.message, f.lacks])])).toEqual([
      /* what followed the lack is listed, not judged */
      [
        "lack first",
        false,
        [10, noArray, "no array"],
        [
          [10, noArray, "no array"],
          [11, "expected 1 commands on smmu1, got 0", undefined],
        ],
      ],
      [
        "failure first",
        false,
        undefined,
        [
          [15, "expected 1 commands on smmu1, got 0", undefined],
          [16, noArray, "no array"],
        ],
      ],
    ]);
    /* the run went on after the skip: the attach's commands, and the expectation after it ran (nic0 on smmu1 was never attached) */
    expect(results[0]!.commands.smmu0!.commands).toBeGreaterThan(0);
  });

  test("under driver-invs, a nested domain has no array of its own: the message names the domain", () => {
    expect(
      run(`smmu smmu0 { features: nesting; }
device gpu0 { smmu: smmu0; sids: 0x100; }
vsmmu vsmmu0 { smmu: smmu0; parent: s2; }
domain s2 { stage: s2; nest_parent: true; }
domain n0 { stage: nested; vsmmu: vsmmu0; }
scenario "s" {
  attach gpu0 n0;
  expect invs n0 empty;
  expect invs s2 { smmu0 S2_VMID 1; smmu0 S2_VMID_S1_CLEAR 1; }
}`),
    ).toEqual({ s: ["8: driver-invs keeps no invalidation array for n0"] });
  });

  test("an array statement is skipped at its line and stops the scenario", () => {
    expect(
      run(`driver legacy;
${TOPOLOGY}
scenario "s" {
  array a { S1_ASID 1; }
  expect array a { S1_ASID 1; }
  expect count smmu1 commands 1;
}`),
    ).toEqual({ s: ["SKIP 9: driver-legacy keeps no invalidation array: an array statement needs a driver that has one (driver-invs)"] });
  });

  test("fail alloc invs is skipped at its line and stops the scenario, also inside expect error; the sites legacy has work", () => {
    expect(
      run(`driver legacy;
${TOPOLOGY}
scenario "invs" {
  fail alloc invs;
  expect error -ENOMEM { attach gpu0 d1; }
}
scenario "inside" {
  expect error -ENOMEM {
    fail alloc invs;
    attach gpu0 d1;
  }
}
scenario "master_domain" {
  fail alloc master_domain;
  expect error -ENOMEM { attach gpu0 d1; }
  attach gpu0 d1;
  expect count smmu0 commands 19;
}`),
    ).toEqual({
      invs: ["SKIP 9: driver-legacy keeps no invalidation array: fail alloc invs needs a driver that has one (driver-invs)"],
      inside: ["SKIP 14: driver-legacy keeps no invalidation array: fail alloc invs needs a driver that has one (driver-invs)"],
      master_domain: [],
    });
  });

  test("an allocation site no driver has is still bad input: loading finds it, and so does the runner of a file compiled without", () => {
    const registry = builtinRegistry();
    const text = `driver legacy;\n${TOPOLOGY}\nscenario "s" {\n  fail alloc invz;\n}\n`;
    const rejected = (f: () => unknown): string[] => {
      try {
        f();
      } catch (e) {
        if (e instanceof InputError) return e.diagnostics.map(formatDiagnostic);
        throw e;
      }
      return [];
    };
    const want = ['legacy.smmu:9:3: error: driver-legacy has no allocation site "invz" (master_domain, cd_table)'];
    expect(rejected(() => loadSmmu("legacy.smmu", registry, text))).toEqual(want);
    expect(rejected(() => runFile(compileSmmu(text, "legacy.smmu"), { registry }))).toEqual(want);
  });
});

// ---------------------------------------------------------------------------
// Through the command line

/** main() on a terminal-less Io: the exit status and the lines written to each stream. */
async function cli(...argv: string[]): Promise<{ status: number; stdout: string[]; stderr: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), tty: false });
  const lines = (writes: string[]): string[] => writes.flatMap((w) => w.split("\n"));
  return { status, stdout: lines(out), stderr: lines(err) };
}

const V9_AS_POSTED = fileURLToPath(new URL("../../examples/v9-as-posted.smmu", import.meta.url));
let dir = "";
let twoSmmus = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "smmu-emu-legacy-"));
  twoSmmus = join(dir, "two-smmus.smmu");
  writeFileSync(
    twoSmmus,
    `// one S1 domain on masters behind two SMMUs, before the series
driver legacy;
${TOPOLOGY}
scenario "a domain on a second SMMU" {
  attach gpu0 d1;
  attach nic0 d1;
  expect count smmu0 commands 19;
  expect count smmu1 commands 0;
  map d1 0x10000 size 0x4000;
  expect dma gpu0 read 0x10000 via walk;
  unmap d1 0x10000 size 0x4000;
  expect commands smmu0 {
    TLBI_NH_VA asid 1 scale 2 leaf 1 ttl 3 tg 1 addr 0x10000;
    CMD_SYNC;
    ATC_INV sid 0x100 size 2 addr 0x10000;
    ATC_INV sid 0x101 size 2 addr 0x10000;
    CMD_SYNC;
  }
  expect count smmu1 commands 0;
  expect no stale;
}

scenario "refused as the kernel refuses it" {
  attach gpu0 d1;
  expect error -EINVAL { attach nic0 d1; }
}
`,
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("the command line", () => {
  test("`driver legacy;`: the attach to a second SMMU is refused with -EINVAL at its line, a lack: skipped, exit 0; expected, it passes", async () => {
    expect(await cli("run", twoSmmus)).toEqual({
      status: 0,
      stdout: [
        twoSmmus,
        "SKIP a domain on a second SMMU (driver-legacy v7.0)",
        `  ${twoSmmus}:11:3: attach nic0 d1 failed: -EINVAL (arm_smmu_attach_dev: smmu_domain->smmu != master->smmu)`,
        "PASS refused as the kernel refuses it (driver-legacy v7.0)",
        "2 scenarios: 1 passed, 0 failed, 1 skipped",
      ],
      stderr: [],
    });
  });

  test("--driver legacy runs a file whose scenarios choose `driver invs v9;` under legacy v7.0", async () => {
    expect(await cli("run", "--driver", "legacy", V9_AS_POSTED)).toEqual({
      status: 1,
      stdout: [
        V9_AS_POSTED,
        "FAIL v9: a full flush of a nest parent never ends (driver-legacy v7.0)",
        `  ${V9_AS_POSTED}:17:3: expected livelock, but nothing failed`,
        "SKIP v9: one domain at two PASIDs shares one ATS entry (driver-legacy v7.0)",
        `  ${V9_AS_POSTED}:26:3: driver-legacy keeps no invalidation array: expect invs d1 needs a driver that has one (driver-invs)`,
        "  (1 more failure after it, not judged)",
        "SKIP v9: a failed purge publishes ERR_PTR(-ENOMEM) (driver-legacy v7.0)",
        `  ${V9_AS_POSTED}:38:3: driver-legacy keeps no invalidation array: fail alloc invs needs a driver that has one (driver-invs)`,
        "3 scenarios: 0 passed, 1 failed, 2 skipped",
      ],
      stderr: [],
    });
  });

  test("--driver legacy with a variant it does not have is a usage error", async () => {
    expect(await cli("run", "--driver", "legacy", "--variant", "v9", twoSmmus)).toEqual({
      status: 2,
      stdout: [],
      stderr: ['smmu-emu: --variant: driver-legacy has no variant "v9"; it has v7.0'],
    });
  });
});
