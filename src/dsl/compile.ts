/**
 * The language front end: .smmu text -> tokens -> CST -> the lowered file
 * (topology in its JSON form with source locations, and scenarios), with
 * includes read through `readFile`. Every problem found is reported at once.
 */
import { dirname, join, resolve } from "node:path";
import type { CstNode } from "chevrotain";
import { diagnostic, InputError, sortDiagnostics, type Diagnostic } from "../core/diagnostics.js";
import type { DriverChoice, PluginUse, Scenario, SmmuFile } from "./ast.js";
import { parseDiagnostics } from "./errors.js";
import { LowerBase, only, stringValue, sub, subs, tok } from "./lower-core.js";
import { ScenarioLowerer } from "./lower-scenario.js";
import { TopologyBuilder } from "./lower-topology.js";
import { parser } from "./parser.js";
import { lexer } from "./tokens.js";

export interface CompileOptions {
  /** Read an included file; the default refuses includes. */
  readFile?: (path: string) => string;
}

/** Tokens and CST of one file, or its diagnostics. */
export function parseText(text: string, file: string): { cst: CstNode; diagnostics: Diagnostic[] } {
  const lex = lexer.tokenize(text);
  const diagnostics = lex.errors.map((e) =>
    diagnostic({ file, line: e.line ?? 1, column: e.column ?? 1 }, "lex", `unexpected character '${text.slice(e.offset, e.offset + e.length).slice(0, 1)}'`),
  );
  parser.input = lex.tokens;
  const cst = parser.file();
  diagnostics.push(...parseDiagnostics(file, parser.errors));
  return { cst, diagnostics };
}

class FileCompiler {
  readonly lo: LowerBase;
  readonly topo: TopologyBuilder;
  driver: DriverChoice | undefined;
  readonly uses: PluginUse[] = [];
  private readonly scenarioCsts: { cst: CstNode; file: string; text: string }[] = [];
  private readonly including: string[] = [];

  constructor(
    readonly file: string,
    private readonly opts: CompileOptions,
  ) {
    this.lo = new LowerBase(file);
    this.topo = new TopologyBuilder(this.lo);
  }

  compile(text: string): SmmuFile {
    this.text(text, this.file);
    const scenarios: Scenario[] = [];
    const names = new Set<string>();
    for (const { cst, file, text } of this.scenarioCsts) {
      this.lo.enter(file, text);
      const nameTok = tok(cst, "StringLit")!;
      const name = stringValue(nameTok);
      if (names.has(name)) this.lo.error(nameTok, "duplicate", `scenario "${name}" is already defined`);
      names.add(name);
      const lowerer = new ScenarioLowerer(this.lo, this.topo.topology);
      const stmts = subs(cst, "stmt");
      const first = stmts[0] && only(stmts[0]);
      const driver = first?.name === "driverDecl" ? lowerer.driver(first) : undefined;
      const body = lowerer.block(driver ? stmts.slice(1) : stmts);
      scenarios.push({ name, span: this.lo.spanOf(nameTok), ...(driver ? { driver } : {}), body });
    }
    if (this.lo.diagnostics.length) throw new InputError(sortDiagnostics(this.lo.diagnostics));
    if (this.topo.topology.vsmmus?.length === 0) delete this.topo.topology.vsmmus;
    return {
      file: this.file,
      topology: this.topo.topology,
      locations: this.topo.locations,
      ...(this.driver ? { driver: this.driver } : {}),
      uses: this.uses,
      scenarios,
    };
  }

  /** The text of every file read, for positions. */
  private readonly texts = new Map<string, string>();

  private text(text: string, file: string): void {
    this.texts.set(file, text);
    const { cst, diagnostics } = parseText(text, file);
    if (diagnostics.length) {
      this.lo.diagnostics.push(...diagnostics);
      return;
    }
    const saved = this.lo.enter(file, text);
    this.including.push(resolve(file));
    try {
      for (const item of subs(cst, "topItem")) this.item(item, file);
    } finally {
      this.including.pop();
      this.lo.leave(saved);
    }
  }

  private item(topItem: CstNode, file: string): void {
    const n = only(topItem);
    switch (n.name) {
      case "include":
        return this.include(n, file);
      case "use":
        this.uses.push({ path: stringValue(tok(n, "StringLit")!), span: this.lo.spanOf(n) });
        return;
      case "param": {
        const v = this.lo.expr(sub(n, "expr")!);
        if (v !== undefined) this.lo.defineParam(tok(n, "Identifier")!, v);
        return;
      }
      case "driverDecl":
        if (this.driver) this.lo.error(n, "duplicate", "the file's driver is already chosen");
        else this.driver = new ScenarioLowerer(this.lo, this.topo.topology).driver(n);
        return;
      case "nodeDecl":
        return this.topo.node(n);
      case "topFor":
        return this.lo.loop(sub(n, "forHead")!, () => subs(n, "topItem").forEach((t) => this.item(t, file)));
      case "scenario":
        this.scenarioCsts.push({ cst: n, file, text: this.texts.get(file)! });
        return;
      default:
        this.lo.error(n, "internal", `unhandled declaration ${n.name}`);
    }
  }

  private include(n: CstNode, file: string): void {
    const pathTok = tok(n, "StringLit")!;
    const path = join(dirname(file), stringValue(pathTok));
    if (this.including.includes(resolve(path))) {
      this.lo.error(pathTok, "include", `"${stringValue(pathTok)}" includes itself (through ${this.including.length} file(s))`);
      return;
    }
    if (!this.opts.readFile) {
      this.lo.error(pathTok, "include", "includes are not available here");
      return;
    }
    let text: string;
    try {
      text = this.opts.readFile(path);
    } catch (err) {
      this.lo.error(pathTok, "include", `cannot read "${stringValue(pathTok)}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return;
    }
    this.text(text, path);
  }
}

/** Compile a .smmu file; throws InputError with every diagnostic if there is any. */
export function compileSmmu(text: string, file: string, opts: CompileOptions = {}): SmmuFile {
  return new FileCompiler(file, opts).compile(text);
}
