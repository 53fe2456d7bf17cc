/**
 * A user's plugin cannot hide a failure behind code that outlives its call
 * (issue 13): a run with user plugins runs its scenarios on a worker thread
 * (src/cli/commands/isolated.ts) whose timers, microtasks, rejections and
 * process.exit are watched (src/cli/sandbox.ts). What a plugin's timer or
 * promise would have done, and a process.exit(), fail the scenario at the
 * statement that was running, naming the plugin and the event; what it
 * prints goes to stderr, never into --json; the command returns when the
 * run ends. Each case through the command line, with its exact report.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { cli } from "../helpers/cli.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A directory holding `driver-bad`, a driver whose `cmd:queued` listener runs `body`, and t.smmu using it. */
function fixture(body: string, setup = ""): string {
  const d = mkdtempSync(join(tmpdir(), "smmu-hostile-"));
  writeFileSync(
    join(d, "bad.ts"),
    `export default { name: "driver-bad", kind: "driver", version: "1", apiVersions: [1], extends: "driver-invs", variants: ["mainline"], description: "", schema: { type: "object" }, ` +
      `setup: (ctx, base) => { ${setup} ctx.on("cmd:queued", (e) => { if (e.cmd.op !== "CMD_SYNC") return; ${body} }); return base; } };\n`,
  );
  /* line 7: the attach (its CFGI and CMD_SYNC); line 11: "quiet", which queues nothing */
  writeFileSync(
    join(d, "t.smmu"),
    `use "./bad.ts";
driver bad;
smmu smmu0 { features: ats; }
device nic0 { smmu: smmu0; sids: 0x40; ats: true; }
domain d1 { stage: s1; }
scenario "s" {
  attach nic0 d1;
}
scenario "quiet" {
  map d1 0x10000 size 4K;
  expect no stale;
}
`,
  );
  return join(d, "t.smmu");
}

/** The human report of t.smmu: "s" failing with `failures` (messages at 7:3), "quiet" passing. */
function report(file: string, ...failures: string[]): string {
  return [file, "FAIL s (driver-bad mainline)", ...failures.map((f) => `  ${file}:7:3: plugin "driver-bad" ${f}`), "PASS quiet (driver-bad mainline)", "2 scenarios: 1 passed, 1 failed", ""].join("\n");
}

describe("what a plugin leaves behind fails its scenario, never PASS", () => {
  test("a timer that would throw: never run, a failure at the statement naming the plugin and the event", async () => {
    const file = fixture(`setTimeout(() => { throw new Error("boom"); }, 0);`);
    const r = await cli("run", file);
    expect(r.stdout).toBe(report(file, `set a setTimeout handling "cmd:queued" and left it pending: a plugin's timer never runs within a scenario`));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(1);
  });

  test("a setInterval left running: a failure, and the command returns", async () => {
    const file = fixture(`setInterval(() => {}, 1);`);
    const r = await cli("run", file);
    expect(r.stdout).toBe(report(file, `set a setInterval handling "cmd:queued" and left it pending: a plugin's timer never runs within a scenario`));
    expect(r.status).toBe(1);
  });

  test("a timer the plugin clears is no failure", async () => {
    const file = fixture(`clearTimeout(setTimeout(() => {}, 5)); const i = setInterval(() => {}, 1); clearInterval(i);`);
    const r = await cli("run", file);
    expect(r.stdout).toBe(`${file}\nPASS s (driver-bad mainline)\nPASS quiet (driver-bad mainline)\n2 scenarios: 2 passed, 0 failed\n`);
    expect(r.status).toBe(0);
  });

  test("a rejected promise nothing catches, and one made in a .then of its promise", async () => {
    const file = fixture(`Promise.reject(new Error("rejected")); Promise.resolve(1).then(() => { throw new Error("in then"); });`);
    const r = await cli("run", file);
    expect(r.stdout).toBe(
      report(
        file,
        `let a promise it made handling "cmd:queued" be rejected with nothing to catch it: rejected`,
        `let a promise it made handling "cmd:queued" be rejected with nothing to catch it: in then`,
      ),
    );
    expect(r.status).toBe(1);
  });

  test("an exception from a queueMicrotask or process.nextTick callback", async () => {
    const file = fixture(`queueMicrotask(() => { throw new Error("micro"); }); process.nextTick(() => { throw new Error("tick"); });`);
    const r = await cli("run", file);
    expect(r.stdout).toBe(
      report(
        file,
        `threw from a queueMicrotask callback it queued handling "cmd:queued": micro`,
        `threw from a process.nextTick callback it queued handling "cmd:queued": tick`,
      ),
    );
    expect(r.status).toBe(1);
  });

  test("process.exit(0) in a handler is a failure naming it, even when it catches what exit throws; the run goes on", async () => {
    const file = fixture(`try { process.exit(0); } catch {}`);
    const r = await cli("run", file);
    expect(r.stdout).toBe(report(file, `called process.exit(0) handling "cmd:queued"`));
    expect(r.status).toBe(1);
  });

  test("--json: \"passed\": false and the plugin's failure; what it prints goes to stderr, the JSON stays whole", async () => {
    const file = fixture(`if (!once) return; once = false; console.log("from the plugin"); console.error("to stderr"); Promise.reject(new Error("late"));`, "let once = true;");
    const r = await cli("--json", "run", file);
    const json = JSON.parse(r.stdout) as { files: { scenarios: { name: string; passed: boolean; failures: { line: number; column: number; message: string }[] }[] }[] };
    const [s, quiet] = json.files[0]!.scenarios;
    expect(s!.passed).toBe(false);
    expect(s!.failures.map((f) => [f.line, f.column, f.message])).toEqual([
      [7, 3, `plugin "driver-bad" let a promise it made handling "cmd:queued" be rejected with nothing to catch it: late`],
    ]);
    expect(quiet!.passed).toBe(true);
    /* its stdout and stderr, each in order; one after the other as the two streams come */
    expect(r.stderr.split("\n").sort()).toEqual(["", "from the plugin", "to stderr"]);
    expect(r.status).toBe(1);
  });
});

describe("the process", () => {
  test("a plugin that leaves a setInterval and a pending promise: the CLI prints its verdict and exits", () => {
    const file = fixture(`setInterval(() => {}, 1); new Promise(() => {});`, `setInterval(() => {}, 1000);`);
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/bin.ts", "run", file], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });
    expect(r.stdout).toBe(
      [
        file,
        `FAIL s (driver-bad mainline)`,
        `  ${file}:6:10: plugin "driver-bad" set a setInterval handling "setup" and left it pending: a plugin's timer never runs within a scenario`,
        `  ${file}:7:3: plugin "driver-bad" set a setInterval handling "cmd:queued" and left it pending: a plugin's timer never runs within a scenario`,
        `FAIL quiet (driver-bad mainline)`,
        `  ${file}:9:10: plugin "driver-bad" set a setInterval handling "setup" and left it pending: a plugin's timer never runs within a scenario`,
        "2 scenarios: 0 passed, 2 failed",
        "",
      ].join("\n"),
    );
    expect(r.status).toBe(1);
  });
});
