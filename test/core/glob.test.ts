/** --scenario's globs over scenario names (src/core/glob.ts): each wildcard, escapes, and names that are only names. */
import { describe, expect, test } from "vitest";
import { globMatcher, isGlob } from "../../src/core/glob.js";

const NAMES = ["v9: a full flush", "v9: one domain", "mainline: arm_smmu_v3_invs_test (11 steps)", "a/b", "a*", "[x", "ab", "a😀c", "A"];

function matched(pattern: string): string[] {
  const m = globMatcher(pattern);
  return NAMES.filter(m);
}

describe("globMatcher", () => {
  test("a name without wildcards matches only itself, case and all", () => {
    expect(isGlob("ab")).toBe(false);
    expect(matched("ab")).toEqual(["ab"]);
    expect(matched("a")).toEqual([]);
  });

  test("* any text, across / and spaces; ? one character, an astral one too", () => {
    expect(matched("v9: *")).toEqual(["v9: a full flush", "v9: one domain"]);
    expect(matched("*(11 steps)")).toEqual(["mainline: arm_smmu_v3_invs_test (11 steps)"]);
    expect(matched("a*")).toEqual(["a/b", "a*", "ab", "a😀c"]);
    expect(matched("a?c")).toEqual(["a😀c"]);
    expect(matched("??")).toEqual(["a*", "[x", "ab"]);
  });

  test("[set], [a-z] and [!set]", () => {
    expect(matched("[aA]")).toEqual(["A"]);
    expect(matched("a[*b]")).toEqual(["a*", "ab"]);
    expect(matched("a[!*]")).toEqual(["ab"]);
    expect(matched("[a-c]?")).toEqual(["a*", "ab"]);
  });

  test("\\ makes the next character literal; an unclosed [ is a literal; RegExp syntax is literal", () => {
    expect(matched("a\\*")).toEqual(["a*"]);
    expect(matched("[x")).toEqual(["[x"]);
    expect(matched("*(11 steps*")).toEqual(["mainline: arm_smmu_v3_invs_test (11 steps)"]);
    expect(matched("v9. *")).toEqual([]);
  });

  test("a name written exactly as given matches even when it has wildcard characters", () => {
    expect(globMatcher('quotes " and a back\\slash')('quotes " and a back\\slash')).toBe(true);
  });
});
