/**
 * The diff a failed expectation shows: alignment by longest common
 * subsequence (not by position), removals before additions, three lines of
 * context around each change and longer matching runs folded, exactly.
 */
import { describe, expect, test } from "vitest";
import { diffItems, foldDiff, lineDiff, type DiffSides } from "../../src/core/line-diff.js";
import { checkInvs } from "../../src/engine/expectations.js";
import type { InvPattern } from "../../src/dsl/ast.js";

const TEXT: DiffSides<string, string> = { same: (a, b) => a === b, want: (w) => w, got: (g) => g };
const letters = (s: string): string[] => [...s];

describe("diffItems", () => {
  test("everything matches: every line the same, and lineDiff says null", () => {
    expect(diffItems(letters("abc"), letters("abc"), TEXT)).toEqual(letters("abc").map((text) => ({ mark: " ", text })));
    expect(lineDiff(letters("abc"), letters("abc"), TEXT)).toBeNull();
    expect(lineDiff([], [], TEXT)).toBeNull();
  });

  test("one item missing in the middle is one line, not a -/+ pair for every line after it", () => {
    expect(lineDiff(letters("abdef"), letters("abcdef"), TEXT)).toEqual(["    a", "    b", "  + c", "    d", "    e", "    f"]);
    expect(lineDiff(letters("abcdef"), letters("abdef"), TEXT)).toEqual(["    a", "    b", "  - c", "    d", "    e", "    f"]);
  });

  test("a replaced run: its removals, then its additions", () => {
    expect(lineDiff(letters("axyb"), letters("aXYb"), TEXT)).toEqual(["    a", "  - x", "  - y", "  + X", "  + Y", "    b"]);
  });

  test("the comparator is asked expected first, actual second, and a matching pair reads as the actual item", () => {
    const sides: DiffSides<{ pattern: string }, { op: string; extra: number }> = {
      same: (w, g) => w.pattern === g.op,
      want: (w) => `want ${w.pattern}`,
      got: (g) => `got ${g.op} ${g.extra}`,
    };
    expect(lineDiff([{ pattern: "A" }, { pattern: "B" }], [{ op: "A", extra: 1 }, { op: "C", extra: 2 }], sides)).toEqual(["    got A 1", "  - want B", "  + got C 2"]);
  });

  test("20,000 lines with one change: the one change and its context", () => {
    const want = Array.from({ length: 20_000 }, (_, i) => `line ${i}`);
    const got = [...want.slice(0, 10_000), "inserted", ...want.slice(10_000)];
    expect(lineDiff(want, got, TEXT)).toEqual([
      "  ... 9997 as expected",
      "    line 9997",
      "    line 9998",
      "    line 9999",
      "  + inserted",
      "    line 10000",
      "    line 10001",
      "    line 10002",
      "  ... 9997 as expected",
    ]);
  });
});

describe("foldDiff", () => {
  const same = (n: number, from = 0): Array<{ mark: " "; text: string }> => Array.from({ length: n }, (_, i) => ({ mark: " ", text: `s${from + i}` }));

  test("a run of one beyond the context is shown, a run of two is folded", () => {
    expect(foldDiff([...same(4), { mark: "+", text: "x" }])).toEqual(["    s0", "    s1", "    s2", "    s3", "  + x"]);
    expect(foldDiff([...same(5), { mark: "+", text: "x" }])).toEqual(["  ... 2 as expected", "    s2", "    s3", "    s4", "  + x"]);
  });

  test("changes up to 7 lines apart share their context; further apart, the middle folds", () => {
    const two = (gap: number) => [{ mark: "-" as const, text: "a" }, ...same(gap), { mark: "-" as const, text: "b" }];
    expect(foldDiff(two(7))).toEqual(["  - a", ...same(7).map((l) => `    ${l.text}`), "  - b"]);
    expect(foldDiff(two(8))).toEqual(["  - a", "    s0", "    s1", "    s2", "  ... 2 as expected", "    s5", "    s6", "    s7", "  - b"]);
  });

  test("the context is a parameter", () => {
    expect(foldDiff([...same(3), { mark: "+", text: "x" }, ...same(3, 3)], 1)).toEqual(["  ... 2 as expected", "    s2", "  + x", "    s3", "  ... 2 as expected"]);
  });
});

describe("checkInvs uses the same diff", () => {
  const span = { file: "a.smmu", line: 1, column: 1 };
  const entry = (type: InvPattern["type"], id: number, smmu?: string): InvPattern => ({ ...(smmu ? { smmu } : {}), type, id, ssid: 0, users: 1, span });

  test("an entry the array has but the expectation leaves out is one + line", () => {
    const want = [entry("S1_ASID", 1, "smmu0"), entry("ATS", 0x41, "smmu0")];
    const got = { entries: [entry("S1_ASID", 1, "smmu0"), entry("ATS", 0x40, "smmu0"), entry("ATS", 0x41, "smmu0")] as Array<InvPattern & { smmu: string }>, trashes: 0, hasAts: true };
    expect(checkInvs(want, 0, got)).toEqual(["    smmu0 S1_ASID 1 ssid 0 users 1", "  + smmu0 ATS 0x40 ssid 0 users 1", "    smmu0 ATS 0x41 ssid 0 users 1"]);
    expect(checkInvs(want, 1, got)).toEqual([
      "    smmu0 S1_ASID 1 ssid 0 users 1",
      "  + smmu0 ATS 0x40 ssid 0 users 1",
      "    smmu0 ATS 0x41 ssid 0 users 1",
      "  - trash 1",
      "  + trash 0",
    ]);
  });

  test("patterns that name no SMMU (the kunit arrays') match any, and the entries are shown without one", () => {
    const want = [entry("S2_VMID", 1), entry("ATS", 3)];
    const got = { entries: [entry("S2_VMID", 1, "0"), entry("S2_VMID_S1_CLEAR", 1, "0"), entry("ATS", 3, "0")] as Array<InvPattern & { smmu: string }>, trashes: 0, hasAts: true };
    expect(checkInvs(want, undefined, got)).toEqual(["    S2_VMID 1 ssid 0 users 1", "  + S2_VMID_S1_CLEAR 1 ssid 0 users 1", "    ATS 3 ssid 0 users 1"]);
    expect(checkInvs([...want.slice(0, 1), entry("S2_VMID_S1_CLEAR", 1), want[1]!], undefined, got)).toBeNull();
  });
});
