/**
 * The language front end: .smmu text -> tokens -> syntax tree -> the lowered
 * file (topology in its JSON form with source locations, and scenarios),
 * with includes read through `readFile`. Every problem found is reported at
 * once, each position's repeats counted.
 */
import { dirname, resolve } from "node:path";
import type { IToken } from "chevrotain";
import { diagnostic, InputError, sortDiagnostics, type Diagnostic, type Span } from "../core/diagnostics.js";
import { SourceError } from "../core/source.js";
import { assertNever } from "../model/assert-never.js";
import { commandLooks, type DriverChoice, type PluginUse, type Scenario, type SmmuFile, type Stmt } from "./ast.js";
import { parseDiagnostics } from "./errors.js";
import { lex } from "./lexer.js";
import { DEFAULT_LIMITS, limitsWith, type Limits } from "./limits.js";
import { LowerBase, stringValue } from "./lower-core.js";
import { ScenarioLowerer } from "./lower-scenario.js";
import { TopologyBuilder, type JsonTopology } from "./lower-topology.js";
import { parseTokens } from "./parser.js";
import type * as S from "./syntax.js";
import type { TopItem } from "./syntax.js";
import { LBrace, LParen, RBrace, RParen } from "./tokens.js";

export interface CompileOptions {
  /**
   * Read an included file, at most `maxBytes` of it (a SourceError names what
   * stopped it: core/source.ts's readSource() is the reader); the default
   * refuses includes.
   */
  readFile?: (path: string, maxBytes: number) => string;
  /**
   * Read and check an included topology written as JSON (a path ending in
   * .json); throws InputError with its problems. The default refuses them.
   */
  readTopology?: (path: string) => JsonTopology;
  /** A topology (.json) or file to include before the file's own text (`run --topology`), as a path from the working directory. */
  prelude?: string;
  /** Overrides of DEFAULT_LIMITS. */
  limits?: Partial<Limits>;
  /**
   * Statements a scenario's `body` holds at most; a scenario whose loops
   * unroll to more is compiled to a stream that lowers them again as a run
   * reaches them (Scenario.stream). DEFAULT_KEEP by default.
   */
  keep?: number;
}

/** Statements a compiled scenario holds at most (about 30 MB of them): a longer one streams. */
const DEFAULT_KEEP = 100_000;

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
  /** Bytes of the included files read so far (the includeSize limit). */
  private included = 0;

  constructor(
    readonly file: string,
    private readonly opts: CompileOptions,
  ) {
    this.lo = new LowerBase(file, limitsWith(opts.limits));
    this.topo = new TopologyBuilder(this.lo);
  }

  compile(text: string): Lowered {
    if (this.opts.prelude !== undefined) this.includePath(this.opts.prelude, undefined);
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
      const stmts = driver ? item.body.slice(1) : item.body;
      const span = this.lo.spanOf(nameTok);
      const { body, count, lastLooks } = this.lowerBody(lowerer, stmts);
      if (body) scenarios.push({ name, span, ...(driver ? { driver } : {}), body });
      else scenarios.push(this.streamed({ name, span, ...(driver ? { driver } : {}) }, file, stmts, count, lastLooks));
    }
    if (this.topo.topology.vsmmus?.length === 0) delete this.topo.topology.vsmmus;
    const file: SmmuFile = {
      file: this.file,
      topology: this.topo.topology,
      locations: this.topo.locations,
      ...(this.driver ? { driver: this.driver } : {}),
      uses: this.uses,
      scenarios,
    };
    return { file, diagnostics: sortDiagnostics(this.lo.diagnostics()), unreadable: this.topo.unreadable, partial: this.lo.missing || this.lo.invalid };
  }

  /**
   * A scenario's statements, lowered once (every diagnostic found): all of
   * them when there are at most `keep`, else only how many there are and
   * which look at commands (the statements are dropped as they come).
   */
  private lowerBody(lowerer: ScenarioLowerer, stmts: readonly S.Stmt[]): { body: Stmt[] | null; count: number; lastLooks: Map<string, number> } {
    const keep = this.opts.keep ?? DEFAULT_KEEP;
    let body: Stmt[] | null = [];
    let count = 0;
    const looks = new Map<string, number>();
    for (const s of lowerer.statements(stmts)) {
      commandLooks(s, (smmu) => looks.set(smmu, count));
      if (count++ < keep) body?.push(s);
      else body = null;
    }
    return { body, count, lastLooks: looks };
  }

  /** A scenario too long to hold, whose statements are lowered again (from `stmts`, with the file's params) each time they are asked for. */
  private streamed(head: Omit<Scenario, "body">, file: string, stmts: readonly S.Stmt[], count: number, lastLooks: ReadonlyMap<string, number>): Scenario {
    const lo = this.lo;
    const topology = this.topo.topology;
    const statements = (): Iterable<Stmt> => new ScenarioLowerer(lo.again(file), topology).statements(stmts);
    const scenario = { ...head, stream: { count, statements, lastLooks } } as Scenario;
    /* an own property, as `body` is on any other scenario (a copy with { ...scenario } makes them) */
    Object.defineProperty(scenario, "body", { enumerable: true, configurable: true, get: () => [...statements()] });
    return scenario;
  }

  private text(text: string, file: string): void {
    const { items, diagnostics } = parseText(text, file, this.lo.limits);
    if (diagnostics.length) {
      this.lo.report(diagnostics);
      this.lo.missing = true;
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
    /* relative to the including file's folder; an absolute path as written */
    this.includePath(resolve(dirname(file), stringValue(pathTok)), pathTok);
  }

  /** Include the file at `path`, written at `at` (the prelude is written nowhere: its problems are at 1:1 of the file). */
  private includePath(path: string, at: IToken | undefined): void {
    /* a prelude's problems of its own (it cannot be read) are at 1:1 of it */
    const where = at ?? { file: path, line: 1, column: 1 };
    const written = at ? stringValue(at) : path;
    const limits = this.lo.limits;
    if (this.including.includes(resolve(path))) {
      this.lo.error(where, "include", `"${written}" includes itself (through ${this.including.length} file(s))`);
      return;
    }
    if (this.including.length > limits.includeDepth) {
      this.lo.error(where, "limit", `includes nested deeper than ${limits.includeDepth} files`);
      this.lo.missing = true;
      return;
    }
    if (path.endsWith(".json")) return this.includeJson(path, where, written);
    if (!this.opts.readFile) {
      this.lo.error(where, "include", "includes are not available here");
      this.lo.missing = true;
      return;
    }
    const left = limits.includeSize - this.included;
    let text: string;
    try {
      text = this.opts.readFile(path, Math.min(limits.fileSize, left));
    } catch (err) {
      this.lo.error(where, err instanceof SourceError && err.code !== "too-big" ? "include" : "limit", `cannot read "${written}": ${this.unread(err, left)}`);
      this.lo.missing = true;
      return;
    }
    this.included += Buffer.byteLength(text);
    this.text(text, path);
  }

  /**
   * A topology written as JSON: checked on its own, then its nodes (and
   * driver) join the file's, each where the JSON file has it. One with
   * problems still names its nodes, for the statements that refer to them.
   */
  private includeJson(path: string, where: IToken | Span, written: string): void {
    if (!this.opts.readTopology) {
      this.lo.error(where, "include", "includes of a topology written as JSON are not available here");
      this.lo.missing = true;
      return;
    }
    let json: JsonTopology;
    try {
      json = this.opts.readTopology(path);
    } catch (err) {
      this.lo.missing = true;
      if (err instanceof InputError) return this.lo.report(err.diagnostics);
      return void this.lo.error(where, err instanceof SourceError && err.code === "too-big" ? "limit" : "include", `cannot read "${written}": ${this.unread(err, this.lo.limits.fileSize)}`);
    }
    if (json.diagnostics.length) {
      this.lo.report(json.diagnostics);
      if (json.diagnostics.some((d) => d.severity === "error")) this.lo.invalid = true;
    }
    this.topo.merge(json, where);
  }

  /** Why a file was not read; too big for what is `left` of the include size. */
  private unread(err: unknown, left: number): string {
    if (!(err instanceof SourceError)) return (err as NodeJS.ErrnoException).code ?? String(err);
    if (err.code !== "too-big") return err.message;
    const { fileSize, includeSize } = this.lo.limits;
    if (left < fileSize) return `the included files would be over the include size limit of ${includeSize} bytes`;
    return `${err.bytes} bytes, over the file size limit of ${fileSize} bytes`;
  }
}

/**
 * A file lowered as far as it goes: what could be read of it, and every
 * problem found. With problems, the file holds what lowering could make of
 * the rest (a statement or property that failed is left out), so that the
 * topology can still be validated, every problem of the file reported at once.
 */
export interface Lowered {
  file: SmmuFile;
  diagnostics: Diagnostic[];
  /** JSON Pointers of topology properties the file gives but whose values failed (reported): absent, yet not missing. */
  unreadable: ReadonlySet<string>;
  /** Part of the file is missing from `file` (it did not parse, an include could not be read, a budget ran out): it cannot be validated as a whole. */
  partial: boolean;
}

/** Lower a .smmu file as far as it goes, throwing nothing for its problems (Lowered). */
export function lowerSmmu(text: string, file: string, opts: CompileOptions = {}): Lowered {
  return new FileCompiler(file, opts).compile(text);
}

/** Compile a .smmu file; throws InputError with every diagnostic if there is any. */
export function compileSmmu(text: string, file: string, opts: CompileOptions = {}): SmmuFile {
  const lowered = lowerSmmu(text, file, opts);
  if (lowered.diagnostics.length) throw new InputError(lowered.diagnostics);
  return lowered.file;
}
