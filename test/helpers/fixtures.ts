/**
 * Expected-output files: a test compares what a run printed with a file in
 * the repository; with UPDATE_FIXTURES=1 it rewrites the file instead, for
 * a change that is meant (then review the diff before committing it).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { expect } from "vitest";

const UPDATE_FIXTURES = process.env.UPDATE_FIXTURES === "1";

/** `actual` must be the text of `path` (rewritten under UPDATE_FIXTURES=1); `testFile` is the test to rerun. */
export function expectFixture(path: string, actual: string, testFile: string): void {
  const shown = relative(process.cwd(), path);
  const expected = existsSync(path) ? readFileSync(path, "utf8") : undefined;
  if (UPDATE_FIXTURES) {
    if (expected !== actual) writeFileSync(path, actual);
    return;
  }
  const rerun = `UPDATE_FIXTURES=1 npx vitest run ${relative(process.cwd(), testFile)}`;
  if (expected === undefined) expect.fail(`${shown} does not exist: \`${rerun}\` writes it (then review it)`);
  expect(actual, `${shown} differs from this run; if the change is meant, \`${rerun}\` rewrites it (then review the diff)`).toBe(expected);
}
