/**
 * Every switch over a union of the language (a statement, an expectation, a
 * top-level item, an array definition) or of a result the engine judges (a
 * translation, a DMA expectation) ends in `assertNever`, so a member added
 * without its case does not type-check. Shown here: the sources type-checked
 * with one new member in each union fail exactly at those switches.
 */
import { readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { expect, test } from "vitest";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** What each file gains: [text it has, text that replaces it]. */
const ADDED: Record<string, [string, string][]> = {
  "src/dsl/ast.ts": [
    /* a statement that is an operation, and one that is not */
    ['    | { kind: "expect-state";', '    | { kind: "sleep"; ns: number }\n    | { kind: "note"; text: string }\n    | { kind: "expect-state";'],
    ['"vsmmu-invalidate", "thread"] as const', '"vsmmu-invalidate", "thread", "sleep"] as const'],
    ['  | { kind: "abort" };', '  | { kind: "abort" }\n  | { kind: "retry" };'],
  ],
  "src/dsl/syntax.ts": [
    ['    | { kind: "concurrently"; body: Stmt[] }', '    | { kind: "concurrently"; body: Stmt[] }\n    | { kind: "sleep"; ns: Expr }'],
    ['  | { kind: "expectNoStale" }', '  | { kind: "expectNoStale" }\n  | { kind: "expectQuiet" }'],
    ['  | { kind: "purge"; base: IToken };', '  | { kind: "purge"; base: IToken }\n  | { kind: "copy"; base: IToken };'],
    ['    | { kind: "scenario"; name: IToken; body: Stmt[] }', '    | { kind: "scenario"; name: IToken; body: Stmt[] }\n    | { kind: "import"; path: IToken }'],
  ],
  "src/model/translation.ts": [['  | { kind: "abort"; detail: string };', '  | { kind: "abort"; detail: string }\n  | { kind: "retry"; detail: string };']],
};

/** The function or method around `pos`. */
function enclosing(file: ts.SourceFile, pos: number): string {
  let name = "(top level)";
  const visit = (n: ts.Node): void => {
    if (pos < n.getStart(file) || pos >= n.getEnd()) return;
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) && n.name) name = n.name.getText(file);
    ts.forEachChild(n, visit);
  };
  visit(file);
  return name;
}

test("a member added to a statement, expectation or result union fails tsc at every switch over it", () => {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const host = ts.createCompilerHost(config.options);
  const readFile = host.readFile.bind(host);
  const edited = new Set<string>();
  host.readFile = (path) => {
    let text = readFile(path);
    for (const [was, is] of ADDED[relative(ROOT, path)] ?? []) {
      expect(text, `${relative(ROOT, path)} still has ${was}`).toContain(was);
      text = text!.replace(was, is);
      edited.add(`${relative(ROOT, path)}: ${was}`);
    }
    return text;
  };
  /* the layers up to report, where the switches are: the composition root and the CLI would bring in every plugin (a few seconds more) */
  const rootNames = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && f !== "index.ts" && !f.startsWith("cli"))
    .map((f) => join(ROOT, "src", f));
  const program = ts.createProgram({ rootNames, options: config.options, host });
  expect(program.getSourceFiles().some((f) => relative(ROOT, f.fileName).startsWith("plugins/"))).toBe(false);
  /* "file function: kinds" for an argument of a type made of the new members not assignable to never, the message for anything else */
  const errors = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${relative(ROOT, d.file.fileName)} ${enclosing(d.file, d.start!)}` : "";
    const message = typeof d.messageText === "string" ? d.messageText : d.messageText.messageText;
    const never = /^Argument of type '(.*)' is not assignable to parameter of type 'never'\.$/.exec(message);
    const kinds = never ? [...never[1]!.matchAll(/\{ kind: "([\w-]+)"/g)].map((m) => m[1]) : [];
    return `${where}: ${kinds.length ? kinds.sort().join(", ") : message}`;
  });
  expect(edited.size).toBe(Object.values(ADDED).flat().length);
  expect(errors.sort()).toEqual([
    "src/dsl/compile.ts item: import",
    "src/dsl/lower-scenario.ts arrayDef: copy",
    "src/dsl/lower-scenario.ts expect: expectQuiet",
    "src/dsl/lower-scenario.ts stmt: sleep",
    "src/engine/expectations.ts describeResult: retry",
    "src/engine/expectations.ts judgeDma: retry",
    "src/engine/runner.ts operation: sleep",
    "src/engine/runner.ts stmt: note",
    "src/engine/simulator.ts dmaDone: retry",
    "src/report/graph.ts attachStatements: note, sleep",
  ]);
});
