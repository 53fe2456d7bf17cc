/**
 * run's watchdogs (issue 13): with --timeout or --max-memory the scenarios
 * run on a worker thread (src/cli/commands/isolated.ts); one that runs too
 * long or grows the heap past the bound is stopped and fails at the
 * statement that was running, naming the user plugin and the event whose
 * code ran, and the scenarios after it run on a new worker. These are the
 * only tests bounded by wall time: each plugin here loops or allocates for
 * ever, and a small --timeout stops it. Kept few.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cli } from "../helpers/cli.js";

/** t.smmu using `driver-bad`, a driver whose `setup` (before its handlers are set) and whose `dma:served` listener run the given code. */
function fixture(handler: string, setup = "", top = ""): string {
  const d = mkdtempSync(join(tmpdir(), "smmu-watchdog-"));
  writeFileSync(
    join(d, "bad.ts"),
    `${top}export default { name: "driver-bad", kind: "driver", version: "1", apiVersions: [1], extends: "driver-invs", variants: ["mainline"], description: "", schema: { type: "object" }, ` +
      `setup: (ctx, base) => { ${setup} ctx.on("dma:served", () => { ${handler} }); return base; } };\n`,
  );
  /* line 9: the DMA of "s"; "after" (line 11) makes none */
  writeFileSync(
    join(d, "t.smmu"),
    `use "./bad.ts";
driver bad;
smmu smmu0 { features: ats; }
device nic0 { smmu: smmu0; sids: 0x40; }
domain d1 { stage: s1; }
scenario "s" {
  attach nic0 d1;
  map d1 0x10000 size 4K;
  dma nic0 read 0x10000;
}
scenario "after" {
  attach nic0 d1;
  expect no stale;
}
`,
  );
  return join(d, "t.smmu");
}

describe("--timeout", () => {
  test("a handler that loops for ever: stopped at its statement, naming the plugin and the event; the next scenario runs", async () => {
    const file = fixture("for (;;) {}");
    const r = await cli("run", "--timeout", "0.5", file);
    expect(r.stdout).toBe(
      [
        file,
        "FAIL s (driver-bad mainline)",
        `  ${file}:9:3: timed out after 0.5 s (--timeout) in plugin "driver-bad" handling "dma:served"`,
        "PASS after (driver-bad mainline)",
        "2 scenarios: 1 passed, 1 failed",
        "",
      ].join("\n"),
    );
    expect(r.status).toBe(1);
  });

  test("a setup that never returns: stopped at the scenario, naming the plugin; --json says so", async () => {
    const file = fixture("", "for (;;) {}");
    const r = await cli("--json", "run", "--timeout", "0.5", "--scenario", "after", file);
    const json = JSON.parse(r.stdout) as { files: { scenarios: { name: string; passed: boolean; failures: { line: number; column: number; message: string }[] }[] }[] };
    const [after] = json.files[0]!.scenarios;
    expect(after!.passed).toBe(false);
    expect(after!.failures.map((f) => [f.line, f.column, f.message])).toEqual([[11, 10, `timed out after 0.5 s (--timeout) in plugin "driver-bad" handling "setup"`]]);
    expect(r.status).toBe(1);
  });

  /* the module loops only on run's worker thread (its workerData has the watch), not where the file is checked */
  test("a plugin whose module never finishes loading: stopped, the scenario failing while the plugins load", async () => {
    const file = fixture("", "", `const { workerData } = await import("node:worker_threads");\nif (workerData && typeof workerData === "object" && "watch" in workerData) for (;;) {}\n`);
    const r = await cli("run", "--timeout", "0.5", "--scenario", "after", file);
    expect(r.stdout).toBe([file, "FAIL after (driver-bad mainline)", `  ${file}:11:10: timed out after 0.5 s (--timeout) loading the plugins`, "1 scenario: 0 passed, 1 failed", ""].join("\n"));
    expect(r.status).toBe(1);
  });
});

describe("--max-memory", () => {
  test("a handler that allocates without end: stopped at its statement, out of memory, naming the bound", async () => {
    const file = fixture("const keep = []; for (;;) keep.push(new Array(1e5).fill(keep.length));");
    const r = await cli("run", "--max-memory", "64", "--scenario", "s", file);
    expect(r.stdout).toBe(
      [file, "FAIL s (driver-bad mainline)", `  ${file}:9:3: ran out of memory: over 64 MB (--max-memory) in plugin "driver-bad" handling "dma:served"`, "1 scenario: 0 passed, 1 failed", ""].join(
        "\n",
      ),
    );
    expect(r.status).toBe(1);
  });
});

test("--timeout is a number of seconds > 0", async () => {
  const r = await cli("run", "--timeout", "0", "examples/s1-shared.smmu");
  expect(r.stderr).toBe("error: option '--timeout <seconds>' argument '0' is invalid. not a number of seconds > 0: 0\n(run with --help for usage)\n");
  expect(r.status).toBe(2);
});
