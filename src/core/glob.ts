/**
 * Shell-style globs over names (scenario names, not paths: `*` crosses "/"):
 * `*` any run of characters, `?` one, `[abc]`, `[a-z]`, `[!abc]` one of a set
 * or not, `\` makes the next character literal. A pattern with none of these
 * is a name and matches only itself; a pattern always matches the name
 * written exactly as it is (a name with "*" or "\\" in it).
 */

/** Whether `pattern` has a wildcard, so that it is a glob rather than a name. */
export function isGlob(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

/* the characters a unicode-mode RegExp lets (and needs) a backslash before */
const SPECIAL = /[.*+?^${}()|[\]\\/]/g;

function literal(text: string): string {
  return text.replace(SPECIAL, "\\$&");
}

/** `pattern` as an anchored RegExp; an unclosed `[` is a literal "[". */
function globRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") re += "[^]*";
    else if (ch === "?") re += "[^]";
    else if (ch === "\\" && i + 1 < pattern.length) re += literal(pattern[++i]!);
    else if (ch === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close === -1) {
        re += "\\[";
        continue;
      }
      let set = pattern.slice(i + 1, close);
      const negate = set.startsWith("!");
      if (negate) set = set.slice(1);
      /* a range a-z stays a range; everything else is literal inside the class */
      const body = set.replace(/[\\\]^[]/g, "\\$&");
      re += `[${negate ? "^" : ""}${body}]`;
      i = close;
    } else re += literal(ch);
  }
  return new RegExp(`^${re}$`, "u");
}

/** A test of names against `pattern`: the name itself (even one with wildcard characters in it), or what the glob matches. */
export function globMatcher(pattern: string): (name: string) => boolean {
  if (!isGlob(pattern)) return (name) => name === pattern;
  const re = globRegExp(pattern);
  return (name) => name === pattern || re.test(name);
}
