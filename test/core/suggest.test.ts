/** src/core/suggest.ts: "did you mean" for the closest name within a third of its length, or the same name in another case. */
import { expect, test } from "vitest";
import { didYouMean } from "../../src/core/suggest.js";

test("the closest candidate, if close enough", () => {
  expect(didYouMean("smmu2", ["gpu0", "smmu0", "nic0"])).toBe(' (did you mean "smmu0"?)');
  expect(didYouMean("range_inv", ["ats", "rnage_inv", "sva"])).toBe(' (did you mean "rnage_inv"?)');
  expect(didYouMean("frob", ["ats", "sva"])).toBe("");
  expect(didYouMean("x", [])).toBe("");
});

test("the same word in another case is the closest of all", () => {
  expect(didYouMean("s1_asid", ["S1_ASIDX", "S1_ASID"])).toBe(' (did you mean "S1_ASID"?)');
});

test("the word itself is not a suggestion", () => {
  expect(didYouMean("ats", ["ats"])).toBe("");
  expect(didYouMean("ats", ["ats", "atc"])).toBe(' (did you mean "atc"?)');
});

test("within a third of the longer word, at least one edit; ties go to the earlier candidate", () => {
  expect(didYouMean("ab", ["xb"])).toBe(' (did you mean "xb"?)');
  expect(didYouMean("ab", ["xy"])).toBe("");
  expect(didYouMean("abcdef", ["abcxyf"])).toBe(' (did you mean "abcxyf"?)');
  expect(didYouMean("abcdef", ["axcxyf"])).toBe("");
  expect(didYouMean("cat", ["bat", "hat"])).toBe(' (did you mean "bat"?)');
});
