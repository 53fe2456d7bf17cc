/**
 * The import direction of the README's architecture picture (whose line of
 * layers must be this order), checked on every import of src/ and plugins/:
 *
 *   model <- core <- plugin <- dsl, schema <- engine <- report <- index <- cli
 *
 * A module may import its own layer and the layers left of it; dsl and schema
 * do not import each other. src/index.ts is the composition root (the public
 * API, and the only module that imports plugins/); plugins/ import src/ only
 * through it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const RANK: Record<string, number> = { model: 0, core: 1, plugin: 2, dsl: 3, schema: 3, engine: 4, report: 5, index: 6, cli: 7 };

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** "src/engine/x.ts" -> "engine", "src/index.ts" -> "index", "plugins/..." -> "plugins". */
function layer(file: string): string {
  if (file.startsWith("plugins/")) return "plugins";
  if (file === "src/index.ts") return "index";
  return file.split("/")[1]!;
}

/** Relative imports of `file` (static, re-exports, dynamic), as repository paths. */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|^import\s+)"(\.{1,2}\/[^"]+)"/gm)) {
    out.push(relative(ROOT, resolve(ROOT, dirname(file), m[1]!)).replace(/\.js$/, ".ts"));
  }
  return out;
}

/** Why `from` may not import `to`, or null. */
function violation(from: string, to: string): string | null {
  const a = layer(from);
  const b = layer(to);
  if (!to.startsWith("src/") && !to.startsWith("plugins/")) return null;
  if (a === "plugins") return b === "plugins" || to === "src/index.ts" ? null : "plugins/ import src/ only through src/index.ts";
  if (b === "plugins") return a === "index" ? null : "only src/index.ts (the composition root) imports plugins/";
  if (a === b) return null;
  if (RANK[a] === undefined || RANK[b] === undefined) return `unknown layer ${RANK[a] === undefined ? a : b}`;
  if (RANK[b]! > RANK[a]!) return `${a} is below ${b}`;
  if (RANK[b] === RANK[a]) return `${a} and ${b} are siblings`;
  return null;
}

describe("architecture: imports point one way", () => {
  const all = [...files("src"), ...files("plugins")];

  test("every module of src/ belongs to a layer of the picture", () => {
    expect(files("src").map(layer).filter((l) => RANK[l] === undefined)).toEqual([]);
  });

  test("no import breaks the direction", () => {
    const bad: string[] = [];
    for (const f of all) for (const t of imports(f)) {
      const why = violation(f, t);
      if (why) bad.push(`${f} -> ${t}: ${why}`);
    }
    expect(bad).toEqual([]);
  });

  test("the README's picture is this order: its layers, left to right, are RANK's", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const line = readme.split("\n").find((l) => /^\s*model\s+<-/.test(l));
    expect(line, "README.md has the picture's line (model <- ...)").toBeDefined();
    const pictured = line!.trim().split(/\s*<-\s*/).map((group) => group.split(/\s*,\s*/).sort());
    const ranked: string[][] = [];
    for (const [name, rank] of Object.entries(RANK)) (ranked[rank] ??= []).push(name);
    expect(pictured).toEqual(ranked.map((g) => g.sort()));
  });

  test("the check itself: a lower layer importing a higher one, and a plugin reaching into src/, are caught", () => {
    expect(violation("src/core/bus.ts", "src/engine/runner.ts")).toBe("core is below engine");
    expect(violation("src/dsl/compile.ts", "src/schema/validate.ts")).toBe("dsl and schema are siblings");
    expect(violation("plugins/smmu-v3/index.ts", "src/core/rcu.ts")).toBe("plugins/ import src/ only through src/index.ts");
    expect(violation("src/engine/simulator.ts", "plugins/index.ts")).toBe("only src/index.ts (the composition root) imports plugins/");
    expect(violation("src/cli/main.ts", "src/index.ts")).toBeNull();
    expect(imports("src/index.ts")).toContain("plugins/index.ts");
  });
});
