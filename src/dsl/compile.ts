/**
 * The language front end: .smmu text -> tokens -> syntax tree -> the lowered
 * file (topology in its JSON form with source locations, and scenarios),
 * with includes read through `readFile`. Every problem found is reported at
 * once, each position's repeats counted.
 */
import { dirname, join, resolve } from "node:path";
import type { IToken } from "chevrotain";
import { diagnostic, InputError, sortDiagnostics, type Diagnostic } from "../core/diagnostics.js";
import { assertNever } from "../model/assert-never.js";
import type { DriverChoice, PluginUse, Scenario, SmmuFile } from "./ast.js";
import { parseDiagnostics } from "./errors.js";
import { lex } from "./lexer.js";
import { DEFAULT_LIMITS, limitsWith, type Limits } from "./limits.js";
import { LowerBase, stringValue } from "./lower-core.js";
import { ScenarioLowerer } from "./lower-scenario.js";
import { TopologyBuilder } from "./lower-topology.js";
import { parseTokens } from "./parser.js";
import type { TopItem } from "./syntax.js";
import { LBrace, LParen, RBrace, RParen } from "./tokens.js";

export interface CompileOptions {
  /** Read an included file; the default refuses includes. */
  readFile?: (path: string) => string;
  /** Overrides of DEFAULT_LIMITS. */
  limits?: Partial<Limits>;
}

/** The first opening bracket nested deeper than `max`, found without recursing (the parser would recurse once per level). */
function tooDeep(tokens: readonly IToken[], max: number): number {
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!.tokenType;
    if (t === LParen || t === LBrace) {
      if (++depth > max) return i;
    } else if ((t === RParen || t === RBrace) && depth > 0) depth--;
  }
  return -1;
}

/** The syntax tree of one file, or its diagnostics (lexical, nesting, parse). */
export function parseText(text: string, file: string, limits: Limits = DEFAULT_LIMITS): { items: TopItem[]; diagnostics: Diagnostic[] } {
  const lexed = lex(text, file, limits);
  const diagnostics = lexed.diagnostics;
  const deep = tooDeep(lexed.tokens, limits.nesting);
  if (deep >= 0) {
    const t = lexed.tokens[deep]!;
    diagnostics.push(diagnostic({ file, line: t.startLine!, column: t.startColumn! }, "limit", `nesting deeper than ${limits.nesting} levels`));
    return { items: [], diagnostics };
  }
  const { items, errors } = parseTokens(lexed.tokens);
  diagnostics.push(...parseDiagnostics(file, errors));
  return { items, diagnostics };
}

type ScenarioItem = Extract<TopItem, { kind: "scenario" }>;

class FileCompiler {
  readonly lo: LowerBase;
  readonly topo: TopologyBuilder;
  driver: DriverChoice | undefined;
  readonly uses: PluginUse[] = [];
  private readonly scenarioItems: { item: ScenarioItem; file: string }[] = [];
  private readonly including: string[] = [];

  constructor(
    readonly file: string,
    private readonly opts: CompileOptions,
  ) {
    this.lo = new LowerBase(file, limitsWith(opts.limits));
    this.topo = new TopologyBuilder(this.lo);
  }

  compile(text: string): SmmuFile {
    this.text(text, this.file);
    const scenarios: Scenario[] = [];
    const names = new Set<string>();
    for (const { item, file } of this.scenarioItems) {
      this.lo.file = file;
      const nameTok = item.name;
      const name = stringValue(nameTok);
      if (names.has(name)) this.lo.error(nameTok, "duplicate", `scenario "${name}" is already defined`);
      names.add(name);
      const lowerer = new ScenarioLowerer(this.lo, this.topo.topology);
      const [first] = item.body;
      const driver = first?.kind === "driverDecl" ? lowerer.driver(first) : undefined;
      const body = lowerer.block(driver ? item.body.slice(1) : item.body);
      scenarios.push({ name, span: this.lo.spanOf(nameTok), ...(driver ? { driver } : {}), body });
    }
    if (this.lo.failed) throw new InputError(sortDiagnostics(this.lo.diagnostics()));
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

  private text(text: string, file: string): void {
    const { items, diagnostics } = parseText(text, file, this.lo.limits);
    if (diagnostics.length) {
      this.lo.report(diagnostics);
      return;
    }
    const saved = this.lo.file;
    this.lo.file = file;
    this.including.push(resolve(file));
    try {
      for (const item of items) this.item(item, file);
    } finally {
      this.including.pop();
      this.lo.file = saved;
    }
  }

  private item(n: TopItem, file: string): void {
    /* a node counts against the nodes, another declaration against the statements; a loop and a scenario hold them */
    if (n.kind === "nodeDecl" ? !this.lo.node(n) : n.kind !== "topFor" && n.kind !== "scenario" && !this.lo.statement(n)) return;
    switch (n.kind) {
      case "include":
        return this.include(n.path, file);
      case "use":
        this.uses.push({ path: stringValue(n.path), span: this.lo.spanOf(n) });
        return;
      case "param": {
        this.lo.defineParam(n.name, this.lo.expr(n.value));
        return;
      }
      case "driverDecl":
        if (this.driver) this.lo.error(n, "duplicate", "the file's driver is already chosen");
        else this.driver = new ScenarioLowerer(this.lo, this.topo.topology).driver(n);
        return;
      case "nodeDecl":
        return this.topo.node(n.nodeKind, n.name, n.properties);
      case "topFor":
        return this.lo.loop(n.head, () => n.items.forEach((t) => this.item(t, file)));
      case "scenario":
        this.scenarioItems.push({ item: n, file });
        return;
      default:
        return assertNever(n);
    }
  }

  private include(pathTok: IToken, file: string): void {
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
