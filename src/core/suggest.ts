/** "Did you mean" suggestions for misspelt names, shared by the language front end and the schemas. */
import leven from "leven";

/**
 * " (did you mean "x"?)" for the candidate closest to `word`, if it is close:
 * an edit distance of at most a third of the longer word (and at least 1), or
 * the same word in another case. Ties go to the earlier candidate.
 */
export function didYouMean(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : leven(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return "";
  const limit = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  return bestDistance <= limit ? ` (did you mean "${best}"?)` : "";
}
