/**
 * Expected against actual as a diff of lines, for the detail of a failed
 * expectation: the longest run of items that match in order is kept (Myers'
 * O(ND) algorithm, through jsdiff's diffArrays, so a window of thousands of
 * commands with a few differences costs little), everything else is shown as
 * "  - expected" or "  + actual", and matching lines far from any change are
 * folded into one "  ... N as expected" line. Same input, same lines.
 */
import { diffArrays } from "diff";

/** Matching lines kept before and after each change (as a unified diff's default). */
const DIFF_CONTEXT = 3;

type DiffMark = " " | "-" | "+";

export interface DiffLine {
  mark: DiffMark;
  text: string;
}

/** How expected items (W) and actual ones (G) compare and read. */
export interface DiffSides<W, G> {
  same(want: W, got: G): boolean;
  want(w: W): string;
  /** an actual item; a matching pair reads as its actual item */
  got(g: G): string;
}

/** An item of either side, so that one comparator can serve jsdiff whichever way round it asks. */
interface Item {
  want: boolean;
  i: number;
}

/** Align `want` with `got`: each item once, in order, removals before additions within a change. */
export function diffItems<W, G>(want: readonly W[], got: readonly G[], sides: DiffSides<W, G>): DiffLine[] {
  const equal = (a: Item, b: Item): boolean => {
    if (a.want === b.want) return false;
    const [w, g] = a.want ? [a, b] : [b, a];
    return sides.same(want[w.i]!, got[g.i]!);
  };
  const parts = diffArrays<Item>(
    want.map((_, i) => ({ want: true, i })),
    got.map((_, i) => ({ want: false, i })),
    { comparator: equal },
  );
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  for (const part of parts) {
    for (let k = 0; k < part.count; k++) {
      if (part.removed) lines.push({ mark: "-", text: sides.want(want[i++]!) });
      else if (part.added) lines.push({ mark: "+", text: sides.got(got[j++]!) });
      else {
        lines.push({ mark: " ", text: sides.got(got[j++]!) });
        i++;
      }
    }
  }
  return lines;
}

/**
 * The lines as the report shows them ("  - ", "  + ", "    "), keeping
 * `context` matching lines around each change; a longer matching run becomes
 * "  ... N as expected" (a run of one is shown: the fold would be no shorter).
 */
export function foldDiff(lines: readonly DiffLine[], context = DIFF_CONTEXT): string[] {
  const keep = lines.map(() => false);
  lines.forEach((l, k) => {
    if (l.mark === " ") return;
    for (let d = Math.max(0, k - context); d <= Math.min(lines.length - 1, k + context); d++) keep[d] = true;
  });
  const out: string[] = [];
  for (let k = 0; k < lines.length; ) {
    if (keep[k]) {
      const l = lines[k++]!;
      out.push(`  ${l.mark} ${l.text}`);
      continue;
    }
    let end = k;
    while (end < lines.length && !keep[end]) end++;
    if (end - k === 1) out.push(`    ${lines[k]!.text}`);
    else out.push(`  ... ${end - k} as expected`);
    k = end;
  }
  return out;
}

/** diffItems then foldDiff; null when every item matches. */
export function lineDiff<W, G>(want: readonly W[], got: readonly G[], sides: DiffSides<W, G>, context = DIFF_CONTEXT): string[] | null {
  const lines = diffItems(want, got, sides);
  return lines.every((l) => l.mark === " ") ? null : foldDiff(lines, context);
}
