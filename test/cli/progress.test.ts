/**
 * The progress line of a long run: drawn on a terminal's stderr, naming the
 * statement running (also redrawn while one statement runs long), cleared
 * before the results, never with --json. A fake terminal Io with a fake
 * clock: every draw is recorded, and the clock says when one is due.
 */
import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { main, type Io } from "../../src/cli/main.js";
import { TICK_STEPS } from "../../src/core/steps.js";
import { compileSmmu } from "../../src/dsl/compile.js";

/** A terminal whose clock moves `stepMs` at each look. */
function terminal(stepMs: number): Io & { lines: Array<string | null> } {
  const lines: Array<string | null> = [];
  let t = 0;
  return { lines, out: () => undefined, err: () => undefined, tty: false, progress: (line) => lines.push(line), now: () => (t += stepMs) };
}

const S1 = "examples/s1-shared.smmu";
const V9 = "examples/v9-as-posted.smmu";

describe("progress", () => {
  test("each statement as it starts, by number, line and kind, then the line cleared", async () => {
    const io = terminal(1000);
    expect(await main(["run", S1], io)).toBe(0);
    /* the example's 13 statements, as the parser sees them: attach, attach, expect invs, ... */
    const body = compileSmmu(readFileSync(S1, "utf8"), S1).scenarios[0]!.body;
    expect(body.map((s) => s.kind).slice(0, 3)).toEqual(["attach", "attach", "expect-invs"]);
    const at = (n: number): string => `${S1}: "one S1 domain on two SMMUs" statement ${n}/${body.length} (line ${body[n - 1]!.span.line}: ${body[n - 1]!.kind})`;
    expect(io.lines).toEqual([...body.map((_, i) => at(i + 1)), null]);
  });

  test("at most one draw per 100 ms: a clock that does not move draws the first statement only", async () => {
    const io = terminal(0);
    expect(await main(["run", S1], io)).toBe(0);
    expect(io.lines).toHaveLength(2);
    expect(io.lines[0]).toMatch(/^examples\/s1-shared\.smmu: "one S1 domain on two SMMUs" statement 1\/13 \(line \d+: attach\)$/);
    expect(io.lines[1]).toBeNull();
  });

  test("a statement that runs long is redrawn while it runs, every TICK_STEPS steps", async () => {
    const io = terminal(1000);
    const limit = 1_000_000;
    expect(await main(["run", V9, "--scenario", "v9: a full flush*", "--step-limit", String(limit)], io)).toBe(0);
    const scenario = `${V9}: "v9: a full flush of a nest parent never ends"`;
    /* the flush livelocks: a tick at steps TICK_STEPS + 1, 2 * TICK_STEPS + 1, ... up to the limit */
    const ticks = Math.floor((limit - 1) / TICK_STEPS);
    expect(ticks).toBeGreaterThan(1);
    expect(io.lines).toEqual([
      `${scenario} statement 1/2 (line 14: attach)`,
      ...Array<string>(1 + ticks).fill(`${scenario} statement 2/2 (line 17: expect-error)`),
      null,
    ]);
  });

  test("none with --json: stdout holds one document and stderr nothing", async () => {
    const io = terminal(1000);
    await main(["run", "--json", S1], io);
    expect(io.lines).toEqual([]);
  });

  test("none where stderr is not a terminal (an Io without progress)", async () => {
    const err: string[] = [];
    await main(["run", S1], { out: () => undefined, err: (t) => err.push(t), tty: false });
    expect(err).toEqual([]);
  });
});
