/** The progress line of a long run: drawn on a terminal's stderr, cleared before the results, never with --json. */
import { describe, expect, test } from "vitest";
import { main, type Io } from "../../src/cli/main.js";

function terminal(): Io & { lines: Array<string | null>; out: (t: string) => void } {
  const lines: Array<string | null> = [];
  return { lines, out: () => undefined, err: () => undefined, tty: false, progress: (line) => lines.push(line) };
}

describe("progress", () => {
  test("a run draws where it is, then clears the line", async () => {
    const io = terminal();
    expect(await main(["run", "examples/s1-shared.smmu"], io)).toBe(0);
    /* the first statement is always drawn; later ones at most every 100 ms */
    expect(io.lines[0]).toMatch(/^examples\/s1-shared\.smmu: "one S1 domain on two SMMUs" statement 1\/\d+$/);
    expect(io.lines.at(-1)).toBeNull();
  });

  test("none with --json: stdout holds one document and stderr nothing", async () => {
    const io = terminal();
    await main(["run", "--json", "examples/s1-shared.smmu"], io);
    expect(io.lines).toEqual([]);
  });

  test("none where stderr is not a terminal (an Io without progress)", async () => {
    const err: string[] = [];
    await main(["run", "examples/s1-shared.smmu"], { out: () => undefined, err: (t) => err.push(t), tty: false });
    expect(err).toEqual([]);
  });
});
