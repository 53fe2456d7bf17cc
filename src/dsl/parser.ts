/**
 * The .smmu grammar (chevrotain, embedded actions): a topology of smmu /
 * device / vsmmu / domain blocks with params, for loops and includes, then
 * named scenarios of statements and expectations. The rules build the
 * syntax tree (src/dsl/syntax.ts) directly, with no CST in between. The
 * grammar is analysed once, on the first parse (a CLI --version never pays
 * for it), and the one parser is reused.
 *
 * Alternatives that run for every statement or operand are built once
 * (fields below) rather than on each call.
 */
import type { ILookaheadStrategy, IOrAlt, IRecognitionException, IToken, ParserMethod, TokenType } from "chevrotain";
import { EmbeddedActionsParser, LLkLookaheadStrategy } from "./chevrotain.js";
import { isInvTypeName } from "../model/driver.js";
import { messages } from "./errors.js";
import {
  NONE,
  type ArrayDef,
  type CmdItem,
  type CmdPattern,
  type Cond,
  type CondOperand,
  type DmaResult,
  type DmaSpec,
  type DriverDecl,
  type Expectation,
  type Expr,
  type ForHead,
  type InvItem,
  type InvPattern,
  type MemOp,
  type Name,
  type NamePart,
  type Property,
  type Stmt,
  type TopItem,
  type Value,
} from "./syntax.js";
import {
  ALL_TOKENS,
  Colon,
  Comma,
  DotDot,
  Ellipsis,
  EqEq,
  Equals,
  Hash,
  Identifier,
  KW,
  LBrace,
  LParen,
  Minus,
  NotEq,
  NumberLit,
  Percent,
  Plus,
  RBrace,
  RParen,
  Semi,
  Shl,
  Shr,
  Slash,
  Star,
  StringLit,
  VersionLit,
} from "./tokens.js";

/**
 * AT_LEAST_ONE_SEP's options, with the action an argument: an arrow written
 * as a property is renamed on every call where esbuild keeps names (tsx, so
 * npm run bench), and this one runs for every property.
 */
function separated(SEP: TokenType, DEF: () => void): { SEP: TokenType; DEF: () => void } {
  return { SEP, DEF };
}

/** `list` with `x` added: a list of one is made to measure (an empty array grows to room for 17), none is NONE. */
function add<T>(list: T[] | undefined, x: T): T[] {
  if (!list) return [x];
  list.push(x);
  return list;
}

/**
 * chevrotain's LL(k) lookahead, each function built the first time its
 * production is reached rather than all while the grammar is built: a file
 * uses part of the grammar, and building them all was most of the start-up.
 */
function lazyLookahead(maxLookahead: number): ILookaheadStrategy {
  const llk = new LLkLookaheadStrategy({ maxLookahead });
  return {
    validate: (options) => llk.validate(options),
    buildLookaheadForAlternation(options) {
      let f: ReturnType<ILookaheadStrategy["buildLookaheadForAlternation"]> | undefined;
      return function (this: unknown, alts) {
        return (f ??= llk.buildLookaheadForAlternation(options)).call(this, alts);
      };
    },
    buildLookaheadForOptional(options) {
      let f: ReturnType<ILookaheadStrategy["buildLookaheadForOptional"]> | undefined;
      return function (this: unknown) {
        return (f ??= llk.buildLookaheadForOptional(options)).call(this);
      };
    },
  };
}


class SmmuParser extends EmbeddedActionsParser {
  /** `validate`: check the grammar for ambiguities and the like as it is built (a test does; a run skips it, which halves the build). */
  constructor(validate = false) {
    super(ALL_TOKENS, { recoveryEnabled: true, maxLookahead: 3, lookaheadStrategy: lazyLookahead(3), errorMessageProvider: messages, skipValidations: !validate });
    this.performSelfAnalysis();
  }

  /** The last token consumed: where the rule being parsed ends. */
  private end(): IToken {
    return this.LA(0);
  }

  file = this.RULE("file", (): TopItem[] => {
    const items: TopItem[] = [];
    this.MANY(() => items.push(this.SUBRULE(this.topItem)));
    return items;
  });

  private readonly topItems: IOrAlt<TopItem>[] = [
    { ALT: () => this.SUBRULE(this.include) },
    { ALT: () => this.SUBRULE(this.use) },
    { ALT: () => this.SUBRULE(this.param) },
    { ALT: () => this.SUBRULE(this.driverDecl) },
    { ALT: () => this.SUBRULE(this.nodeDecl) },
    { ALT: () => this.SUBRULE(this.topFor) },
    { ALT: () => this.SUBRULE(this.scenario) },
  ];

  topItem = this.RULE("topItem", (): TopItem => this.OR(this.topItems));

  include = this.RULE("include", (): TopItem => {
    const first = this.CONSUME(KW.include);
    const path = this.CONSUME(StringLit);
    this.CONSUME(Semi);
    return { kind: "include", path, first, last: this.end() };
  });

  use = this.RULE("use", (): TopItem => {
    const first = this.CONSUME(KW.use);
    const path = this.CONSUME(StringLit);
    this.CONSUME(Semi);
    return { kind: "use", path, first, last: this.end() };
  });

  param = this.RULE("param", (): TopItem => {
    const first = this.CONSUME(KW.param);
    const name = this.CONSUME(Identifier);
    this.CONSUME(Equals);
    const value = this.SUBRULE(this.expr);
    this.CONSUME(Semi);
    return { kind: "param", name, value, first, last: this.end() };
  });

  private readonly variants: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME2(Identifier) }, { ALT: () => this.CONSUME(VersionLit) }];

  /** `;`, or the options in a block */
  private readonly driverEnds: IOrAlt<Property[]>[] = [
    {
      ALT: () => {
        this.CONSUME(Semi);
        return [];
      },
    },
    {
      ALT: () => {
        this.CONSUME(LBrace);
        const options: Property[] = [];
        this.MANY(() => options.push(this.SUBRULE(this.property)));
        this.CONSUME(RBrace);
        return options;
      },
    },
  ];

  /** `driver invs v9;`, `driver legacy v7.0;` or, with options, `driver invs mainline { parallel_syncs: true; }` */
  driverDecl = this.RULE("driverDecl", (): DriverDecl => {
    const first = this.CONSUME(KW.driver);
    const plugin = this.CONSUME(Identifier);
    const variant = this.OPTION(() => this.OR2(this.variants));
    const options = this.OR(this.driverEnds);
    return { kind: "driverDecl", plugin, variant, options, first, last: this.end() };
  });

  private readonly nodeKinds: IOrAlt<IToken>[] = [
    { ALT: () => this.CONSUME(KW.smmu) },
    { ALT: () => this.CONSUME(KW.device) },
    { ALT: () => this.CONSUME(KW.vsmmu) },
    { ALT: () => this.CONSUME(KW.domain) },
  ];

  nodeDecl = this.RULE("nodeDecl", (): TopItem => {
    const nodeKind = this.OR(this.nodeKinds);
    const name = this.SUBRULE(this.name);
    this.CONSUME(LBrace);
    let properties: Property[] | undefined;
    this.MANY(() => (properties = add(properties, this.SUBRULE(this.property))));
    this.CONSUME(RBrace);
    return { kind: "nodeDecl", nodeKind, name, properties: properties ?? NONE, first: nodeKind, last: this.end() };
  });

  property = this.RULE("property", (): Property => {
    const key = this.CONSUME(Identifier);
    this.CONSUME(Colon);
    let values: Value[] | undefined;
    this.AT_LEAST_ONE_SEP(separated(Comma, () => (values = add(values, this.SUBRULE(this.value)))));
    this.CONSUME(Semi);
    return { key, values: values ?? NONE, first: key, last: this.end() };
  });

  private readonly values: IOrAlt<Value>[] = [{ ALT: () => this.CONSUME(StringLit) }, { ALT: () => this.SUBRULE(this.expr) }];

  value = this.RULE("value", (): Value => this.OR(this.values));

  topFor = this.RULE("topFor", (): TopItem => {
    const head = this.SUBRULE(this.forHead);
    this.CONSUME(LBrace);
    const items: TopItem[] = [];
    this.MANY(() => items.push(this.SUBRULE(this.topItem)));
    this.CONSUME(RBrace);
    return { kind: "topFor", head, items, first: head?.first, last: this.end() };
  });

  forHead = this.RULE("forHead", (): ForHead => {
    const first = this.CONSUME(KW.for);
    const v = this.CONSUME(Identifier);
    this.CONSUME(KW.in);
    const from = this.SUBRULE(this.expr);
    this.CONSUME(DotDot);
    const to = this.SUBRULE2(this.expr);
    return { var: v, from, to, first, last: this.end() };
  });

  scenario = this.RULE("scenario", (): TopItem => {
    const first = this.CONSUME(KW.scenario);
    const name = this.CONSUME(StringLit);
    const body = this.block();
    return { kind: "scenario", name, body, first, last: this.end() };
  });

  /** `{ stmt* }` */
  private block(): Stmt[] {
    this.CONSUME(LBrace);
    const body: Stmt[] = [];
    this.MANY(() => body.push(this.SUBRULE(this.stmt)));
    this.CONSUME(RBrace);
    return body;
  }

  private readonly stmts: IOrAlt<Stmt>[] = [
    { ALT: () => this.SUBRULE(this.attach) },
    { ALT: () => this.SUBRULE(this.detach) },
    { ALT: () => this.SUBRULE(this.map) },
    { ALT: () => this.SUBRULE(this.unmap) },
    { ALT: () => this.SUBRULE(this.flush) },
    { ALT: () => this.SUBRULE(this.dma) },
    { ALT: () => this.SUBRULE(this.sva) },
    { ALT: () => this.SUBRULE(this.mm) },
    { ALT: () => this.SUBRULE(this.vsmmuInvalidate) },
    { ALT: () => this.SUBRULE(this.fail) },
    { ALT: () => this.SUBRULE(this.fault) },
    { ALT: () => this.SUBRULE(this.expect) },
    { ALT: () => this.SUBRULE(this.stmtFor) },
    { ALT: () => this.SUBRULE(this.driverDecl) },
    { ALT: () => this.SUBRULE(this.array) },
    { ALT: () => this.SUBRULE(this.unref) },
    { ALT: () => this.SUBRULE(this.concurrently) },
    { ALT: () => this.SUBRULE(this.thread) },
    { ALT: () => this.SUBRULE(this.show) },
  ];

  stmt = this.RULE("stmt", (): Stmt => this.OR(this.stmts));

  /** concurrently { op; op; ... }: the operations interleaved step by step, as on separate CPUs */
  concurrently = this.RULE("concurrently", (): Stmt => {
    const first = this.CONSUME(KW.concurrently);
    const body = this.block();
    return { kind: "concurrently", body, first, last: this.end() };
  });

  /** thread { WRITE_ONCE(x, 1); r0 = READ_ONCE(y); }: plain memory accesses on one CPU, a litmus test's thread (inside `concurrently`) */
  thread = this.RULE("thread", (): Stmt => {
    const first = this.CONSUME(KW.thread);
    this.CONSUME(LBrace);
    const body: (MemOp | Stmt)[] = [];
    this.MANY(() => body.push(this.OR2(this.threadItems)));
    this.CONSUME(RBrace);
    return { kind: "thread", body, first, last: this.end() };
  });

  /**
   * A memory operation, or a statement (which lowering refuses there, with
   * one message at its position): the gate tells them apart, as statement
   * words are names too.
   */
  private readonly threadItems = {
    MAX_LOOKAHEAD: 1,
    IGNORE_AMBIGUITIES: true,
    DEF: [{ GATE: () => this.isMemOp(), ALT: () => this.SUBRULE(this.memOp) }, { ALT: () => this.SUBRULE(this.stmt) }] as IOrAlt<MemOp | Stmt>[],
  };

  /** A memory operation starts here: a name that is no keyword, or any name before '(' or '=' (a statement word such as `attach` is not one). */
  private isMemOp(): boolean {
    const next = this.LA(2).tokenType;
    return this.LA(1).tokenType === Identifier || next === LParen || next === Equals;
  }

  /** [REG =] FN(ARG, ...);  which functions there are, and what they take, lowering checks (src/dsl/lower-litmus.ts) */
  memOp = this.RULE("memOp", (): MemOp => {
    const first = this.LA(1);
    const target = this.OPTION(() => {
      const reg = this.CONSUME(Identifier);
      this.CONSUME(Equals);
      return reg;
    });
    const fn = this.CONSUME2(Identifier);
    this.CONSUME(LParen);
    const args: Expr[] = [];
    this.MANY_SEP(separated(Comma, () => args.push(this.SUBRULE(this.expr))));
    this.CONSUME(RParen);
    this.CONSUME(Semi);
    return { kind: "memOp", target, fn, args, first, last: this.end() };
  });

  /** show invs d1;  show ste gpu0;  show cd gpu0 pasid 1;  show iotlb smmu0;  show atc gpu0; (lowering checks the word) */
  show = this.RULE("show", (): Stmt => {
    const first = this.CONSUME(KW.show);
    const what = this.CONSUME(Identifier);
    const target = this.SUBRULE(this.name);
    const pasid = this.OPTION(() => {
      this.CONSUME(KW.pasid);
      return this.SUBRULE(this.expr);
    });
    this.CONSUME(Semi);
    return { kind: "show", what, target, pasid, first, last: this.end() };
  });

  private readonly arrayOps: IOrAlt<ArrayDef>[] = [
    {
      ALT: () => {
        this.CONSUME(KW.alloc);
        return { kind: "alloc", size: this.SUBRULE(this.expr) };
      },
    },
    {
      ALT: () => {
        this.CONSUME(KW.merge);
        return { kind: "merge", base: this.CONSUME2(Identifier), other: this.CONSUME3(Identifier) };
      },
    },
    {
      ALT: () => {
        this.CONSUME(KW.purge);
        return { kind: "purge", base: this.CONSUME4(Identifier) };
      },
    },
  ];

  private readonly arrayDefs: IOrAlt<ArrayDef>[] = [
    {
      ALT: () => {
        this.CONSUME(LBrace);
        const entries: InvPattern[] = [];
        this.MANY(() => entries.push(this.SUBRULE(this.invPattern)));
        this.CONSUME(RBrace);
        return { kind: "set", entries };
      },
    },
    {
      ALT: () => {
        this.CONSUME(Equals);
        const d = this.OR2(this.arrayOps);
        this.CONSUME(Semi);
        return d;
      },
    },
  ];

  /**
   * The array algebra itself, as the kunit test drives it:
   *   array t { S2_VMID 1; ATS 3 ssid 1; }     a fixed array (to_merge, to_unref)
   *   array a = alloc 0;  array b = merge a t;  array a = purge b;
   */
  array = this.RULE("array", (): Stmt => {
    const first = this.CONSUME(KW.array);
    const target = this.CONSUME(Identifier);
    const def = this.OR(this.arrayDefs);
    return { kind: "array", target, def, first, last: this.end() };
  });

  unref = this.RULE("unref", (): Stmt => {
    const first = this.CONSUME(KW.unref);
    const base = this.CONSUME(Identifier);
    const other = this.CONSUME2(Identifier);
    this.CONSUME(Semi);
    return { kind: "unref", base, other, first, last: this.end() };
  });

  stmtFor = this.RULE("stmtFor", (): Stmt => {
    const head = this.SUBRULE(this.forHead);
    const body = this.block();
    return { kind: "stmtFor", head, body, first: head?.first, last: this.end() };
  });

  attach = this.RULE("attach", (): Stmt => {
    const first = this.CONSUME(KW.attach);
    const device = this.SUBRULE(this.name);
    const target = this.SUBRULE2(this.name);
    const pasid = this.OPTION(() => {
      this.CONSUME(KW.pasid);
      return this.SUBRULE(this.expr);
    });
    this.CONSUME(Semi);
    return { kind: "attach", device, target, pasid, first, last: this.end() };
  });

  detach = this.RULE("detach", (): Stmt => {
    const first = this.CONSUME(KW.detach);
    const device = this.SUBRULE(this.name);
    const pasid = this.OPTION(() => {
      this.CONSUME(KW.pasid);
      return this.SUBRULE(this.expr);
    });
    this.CONSUME(Semi);
    return { kind: "detach", device, pasid, first, last: this.end() };
  });

  map = this.RULE("map", (): Stmt => {
    const first = this.CONSUME(KW.map);
    const domain = this.SUBRULE(this.name);
    const iova = this.SUBRULE(this.expr);
    this.CONSUME(KW.size);
    const size = this.SUBRULE2(this.expr);
    const pa = this.OPTION(() => {
      this.CONSUME(KW.to);
      return this.SUBRULE3(this.expr);
    });
    const readonly = this.OPTION2(() => this.CONSUME(KW.readonly)) !== undefined;
    this.CONSUME(Semi);
    return { kind: "map", domain, iova, size, pa, readonly, first, last: this.end() };
  });

  unmap = this.RULE("unmap", (): Stmt => {
    const first = this.CONSUME(KW.unmap);
    const domain = this.SUBRULE(this.name);
    const iova = this.SUBRULE(this.expr);
    this.CONSUME(KW.size);
    const size = this.SUBRULE2(this.expr);
    this.CONSUME(Semi);
    return { kind: "unmap", domain, iova, size, first, last: this.end() };
  });

  flush = this.RULE("flush", (): Stmt => {
    const first = this.CONSUME(KW.flush);
    const domain = this.SUBRULE(this.name);
    this.CONSUME(Semi);
    return { kind: "flush", domain, first, last: this.end() };
  });

  dma = this.RULE("dma", (): Stmt => {
    const first = this.CONSUME(KW.dma);
    const spec = this.SUBRULE(this.dmaSpec);
    this.CONSUME(Semi);
    return { kind: "dma", spec, first, last: this.end() };
  });

  private readonly accesses: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME(KW.read) }, { ALT: () => this.CONSUME(KW.write) }];

  dmaSpec = this.RULE("dmaSpec", (): DmaSpec => {
    const first = this.LA(1);
    const device = this.SUBRULE(this.name);
    const access = this.OR(this.accesses);
    const iova = this.SUBRULE(this.expr);
    const pasid = this.OPTION(() => {
      this.CONSUME(KW.pasid);
      return this.SUBRULE2(this.expr);
    });
    const sid = this.OPTION2(() => {
      this.CONSUME(KW.sid);
      return this.SUBRULE3(this.expr);
    });
    return { device, access, iova, pasid, sid, first, last: this.end() };
  });

  private readonly svaForms: IOrAlt<{ bind: boolean; device: Name; domain?: Name }>[] = [
    {
      ALT: () => {
        this.CONSUME(KW.bind);
        return { bind: true, device: this.SUBRULE(this.name), domain: this.SUBRULE2(this.name) };
      },
    },
    {
      ALT: () => {
        this.CONSUME(KW.unbind);
        return { bind: false, device: this.SUBRULE3(this.name) };
      },
    },
  ];

  sva = this.RULE("sva", (): Stmt => {
    const first = this.CONSUME(KW.sva);
    const form = this.OR(this.svaForms);
    this.CONSUME(KW.pasid);
    const pasid = this.SUBRULE(this.expr);
    this.CONSUME(Semi);
    return { kind: "sva", bind: form?.bind, device: form?.device, domain: form?.domain, pasid, first, last: this.end() };
  });

  private readonly mmForms: IOrAlt<{ release: boolean; domain: Name; start?: Expr; size?: Expr }>[] = [
    {
      ALT: () => {
        this.CONSUME(KW.invalidate);
        const domain = this.SUBRULE(this.name);
        const range = this.OPTION(() => {
          const start = this.SUBRULE(this.expr);
          this.CONSUME(KW.size);
          return { start, size: this.SUBRULE2(this.expr) };
        });
        return { release: false, domain, start: range?.start, size: range?.size };
      },
    },
    {
      ALT: () => {
        this.CONSUME(KW.release);
        return { release: true, domain: this.SUBRULE2(this.name) };
      },
    },
  ];

  mm = this.RULE("mm", (): Stmt => {
    const first = this.CONSUME(KW.mm);
    const form = this.OR(this.mmForms);
    this.CONSUME(Semi);
    return { kind: "mm", release: form?.release, domain: form?.domain, start: form?.start, size: form?.size, first, last: this.end() };
  });

  /** vsmmu v0 invalidate { TLBI_NH_VAA addr 0x1000; CFGI_CD sid 0x100; ... }: the guest's commands, as command patterns write them */
  vsmmuInvalidate = this.RULE("vsmmuInvalidate", (): Stmt => {
    const first = this.CONSUME(KW.vsmmu);
    const vsmmu = this.SUBRULE(this.name);
    this.CONSUME(KW.invalidate);
    this.CONSUME(LBrace);
    const items: CmdItem[] = [];
    this.MANY(() => items.push(this.SUBRULE(this.cmdItem)));
    this.CONSUME(RBrace);
    return { kind: "vsmmuInvalidate", vsmmu, items, first, last: this.end() };
  });

  fail = this.RULE("fail", (): Stmt => {
    const first = this.CONSUME(KW.fail);
    this.CONSUME(KW.alloc);
    const site = this.CONSUME(Identifier);
    const count = this.OPTION(() => {
      this.CONSUME(KW.count);
      return this.SUBRULE(this.expr);
    });
    this.CONSUME(Semi);
    return { kind: "fail", site, count, first, last: this.end() };
  });

  fault = this.RULE("fault", (): Stmt => {
    const first = this.CONSUME(KW.fault);
    const device = this.SUBRULE(this.name);
    const fault = this.CONSUME(Identifier);
    const off = this.OPTION(() => this.CONSUME(KW.off)) !== undefined;
    this.CONSUME(Semi);
    return { kind: "fault", device, fault, off, first, last: this.end() };
  });

  private readonly expectations: IOrAlt<Expectation>[] = [
    { ALT: () => this.SUBRULE(this.expectCommands) },
    { ALT: () => this.SUBRULE(this.expectCount) },
    { ALT: () => this.SUBRULE(this.expectInvs) },
    { ALT: () => this.SUBRULE(this.expectArray) },
    { ALT: () => this.SUBRULE(this.expectState) },
    { ALT: () => this.SUBRULE(this.expectDma) },
    { ALT: () => this.SUBRULE(this.expectError) },
    { ALT: () => this.SUBRULE(this.expectWarn) },
    { ALT: () => this.SUBRULE(this.expectNoStale) },
    { ALT: () => this.SUBRULE(this.expectStale) },
    { ALT: () => this.SUBRULE(this.expectCond) },
  ];

  expect = this.RULE("expect", (): Stmt => {
    const first = this.CONSUME(KW.expect);
    const expectation = this.OR(this.expectations);
    return { kind: "expect", expectation, first, last: this.end() };
  });

  expectCommands = this.RULE("expectCommands", (): Expectation => {
    this.CONSUME(KW.commands);
    const smmu = this.SUBRULE(this.name);
    const contains = this.OPTION(() => this.CONSUME(KW.contains)) !== undefined;
    this.CONSUME(LBrace);
    const items: CmdItem[] = [];
    this.MANY(() => items.push(this.SUBRULE(this.cmdItem)));
    this.CONSUME(RBrace);
    return { kind: "expectCommands", smmu, contains, items };
  });

  /** A command pattern, or a loop of them. */
  cmdItem = this.RULE("cmdItem", (): CmdItem => this.loopOrPattern<CmdItem>(() => this.SUBRULE(this.cmdFor), () => this.SUBRULE(this.cmdPattern)));

  cmdFor = this.RULE("cmdFor", (): CmdItem => {
    const head = this.SUBRULE(this.forHead);
    this.CONSUME(LBrace);
    const items: CmdItem[] = [];
    this.MANY(() => items.push(this.SUBRULE(this.cmdItem)));
    this.CONSUME(RBrace);
    return { kind: "cmdFor", head, items, first: head?.first, last: this.end() };
  });

  cmdPattern = this.RULE("cmdPattern", (): CmdPattern => {
    const op = this.CONSUME(Identifier);
    const fields: IToken[] = [];
    const values: Expr[] = [];
    this.MANY({
      GATE: () => this.LA(1).tokenType !== KW.x,
      DEF: () => {
        fields.push(this.CONSUME2(Identifier));
        values.push(this.SUBRULE(this.expr));
      },
    });
    const rest = this.OPTION(() => this.CONSUME(Ellipsis));
    const repeat = this.OPTION2(() => {
      this.CONSUME(KW.x);
      return this.SUBRULE2(this.expr);
    });
    this.CONSUME(Semi);
    return { kind: "cmdPattern", op, fields, values, rest, repeat, first: op, last: this.end() };
  });

  expectCount = this.RULE("expectCount", (): Expectation => {
    this.CONSUME(KW.count);
    const smmu = this.SUBRULE(this.name);
    const what = this.CONSUME(Identifier);
    const count = this.SUBRULE(this.expr);
    this.CONSUME(Semi);
    return { kind: "expectCount", smmu, what, count };
  });

  /** `empty;`, or the entries in a block */
  private readonly invsForms: IOrAlt<{ empty: boolean; trash?: Expr; items: InvItem[] }>[] = [
    {
      ALT: () => {
        this.CONSUME(KW.empty);
        this.CONSUME(Semi);
        return { empty: true, items: [] };
      },
    },
    {
      ALT: () => {
        const trash = this.OPTION(() => {
          this.CONSUME(KW.trash);
          return this.SUBRULE(this.expr);
        });
        this.CONSUME(LBrace);
        const items: InvItem[] = [];
        this.MANY(() => items.push(this.SUBRULE(this.invItem)));
        this.CONSUME(RBrace);
        return { empty: false, trash, items };
      },
    },
  ];

  /** expect invs d1 [trash N] { smmu0 S1_ASID 1 users 1; ... }  or  expect invs d1 empty; */
  expectInvs = this.RULE("expectInvs", (): Expectation => {
    this.CONSUME(KW.invs);
    const domain = this.SUBRULE(this.name);
    const form = this.OR(this.invsForms);
    return { kind: "expectInvs", domain, empty: form?.empty, trash: form?.trash, items: form?.items };
  });

  /** expect state NODE KEY VALUE;  a value a plugin exposes */
  expectState = this.RULE("expectState", (): Expectation => {
    this.CONSUME(KW.state);
    const node = this.SUBRULE(this.name);
    const key = this.CONSUME(Identifier);
    const value = this.SUBRULE(this.value);
    this.CONSUME(Semi);
    return { kind: "expectState", node, key, value };
  });

  /** expect array a [trash N] { S2_VMID 1 users 2; ATS 10 ssid 1; } */
  expectArray = this.RULE("expectArray", (): Expectation => {
    this.CONSUME(KW.array);
    const target = this.CONSUME(Identifier);
    const trash = this.OPTION(() => {
      this.CONSUME(KW.trash);
      return this.SUBRULE(this.expr);
    });
    this.CONSUME(LBrace);
    const entries: InvPattern[] = [];
    this.MANY(() => entries.push(this.SUBRULE(this.invPattern)));
    this.CONSUME(RBrace);
    return { kind: "expectArray", target, trash, entries };
  });

  /** An entry, or a loop of them. */
  invItem = this.RULE("invItem", (): InvItem => this.loopOrPattern<InvItem>(() => this.SUBRULE(this.invFor), () => this.SUBRULE(this.invPattern)));

  invFor = this.RULE("invFor", (): InvItem => {
    const head = this.SUBRULE(this.forHead);
    this.CONSUME(LBrace);
    const items: InvItem[] = [];
    this.MANY(() => items.push(this.SUBRULE(this.invItem)));
    this.CONSUME(RBrace);
    return { kind: "invFor", head, items, first: head?.first, last: this.end() };
  });

  /** `for v in`: a loop, not an entry naming something "for". */
  private isLoop(): boolean {
    return this.LA(1).tokenType === KW.for && this.LA(3).tokenType === KW.in;
  }

  /** One token decides (the gate tells a loop from a pattern), so a malformed pattern fails inside it, where the message is precise. */
  private loopOrPattern<T>(loop: () => T, pattern: () => T): T {
    return this.OR({ MAX_LOOKAHEAD: 1, IGNORE_AMBIGUITIES: true, DEF: [{ GATE: () => this.isLoop(), ALT: loop }, { ALT: pattern }] });
  }

  /** [smmu] TYPE id [ssid N] [users N]; the SMMU is left out in arrays that have none (kunit). */
  invPattern = this.RULE("invPattern", (): InvPattern => {
    const first = this.LA(1);
    const smmu = this.OPTION3({ GATE: () => !isInvTypeName(this.LA(1).image) /* an entry starting with its type has no SMMU name */, DEF: () => this.SUBRULE(this.name) });
    const type = this.CONSUME(Identifier);
    const id = this.SUBRULE(this.expr);
    const ssid = this.OPTION(() => {
      this.CONSUME(KW.ssid);
      return this.SUBRULE2(this.expr);
    });
    const users = this.OPTION2(() => {
      this.CONSUME(KW.users);
      return this.SUBRULE3(this.expr);
    });
    this.CONSUME(Semi);
    return { kind: "invPattern", smmu, type, id, ssid, users, first, last: this.end() };
  });

  private readonly dmaResults: IOrAlt<DmaResult>[] = [
    {
      ALT: () => {
        this.CONSUME(KW.via);
        return { via: this.CONSUME(Identifier) };
      },
    },
    {
      ALT: () => {
        this.CONSUME(KW.ok);
        return { ok: true };
      },
    },
    {
      ALT: () => {
        this.CONSUME(KW.fault);
        return { fault: true, event: this.OPTION(() => this.CONSUME2(Identifier)) };
      },
    },
    {
      ALT: () => {
        this.CONSUME(KW.abort);
        return { abort: true };
      },
    },
  ];

  expectDma = this.RULE("expectDma", (): Expectation => {
    this.CONSUME(KW.dma);
    const spec = this.SUBRULE(this.dmaSpec);
    const result = this.OR(this.dmaResults);
    this.CONSUME(Semi);
    return { kind: "expectDma", spec, result };
  });

  expectError = this.RULE("expectError", (): Expectation => {
    this.CONSUME(KW.error);
    const minus = this.OPTION(() => this.CONSUME(Minus)) !== undefined;
    const error = this.CONSUME(Identifier);
    const body = this.block();
    return { kind: "expectError", minus, error, body };
  });

  /** expect warn "TEXT" { ... }: the statements fire a WARN that TEXT names (its function) or is part of (its condition) */
  expectWarn = this.RULE("expectWarn", (): Expectation => {
    this.CONSUME(KW.warn);
    const text = this.CONSUME(StringLit);
    const body = this.block();
    return { kind: "expectWarn", text, body };
  });

  expectNoStale = this.RULE("expectNoStale", (): Expectation => {
    this.CONSUME(KW.no);
    this.CONSUME(KW.stale);
    this.CONSUME(Semi);
    return { kind: "expectNoStale" };
  });

  expectStale = this.RULE("expectStale", (): Expectation => {
    this.CONSUME(KW.stale);
    const target = this.OPTION(() => {
      const device = this.SUBRULE(this.name);
      return { device, iova: this.OPTION2(() => this.SUBRULE(this.expr)) };
    });
    this.CONSUME(Semi);
    return { kind: "expectStale", device: target?.device, iova: target?.iova };
  });

  /** expect r0 == 1 or r1 == 1;  a condition over the registers of the threads before it */
  expectCond = this.RULE("expectCond", (): Expectation => {
    const cond = this.SUBRULE(this.cond);
    this.CONSUME(Semi);
    return { kind: "expectCond", cond };
  });

  /** A or B or ...; A and B and ...: `and` binds tighter than `or`, as in C */
  cond = this.RULE("cond", (): Cond => this.chain("or", KW.or, this.condAnd));

  condAnd = this.RULE("condAnd", (): Cond => this.chain("and", KW.and, this.condNot));

  /** OPERAND (WORD OPERAND)*: an operand alone is itself. */
  private chain(kind: "and" | "or", word: TokenType, operand: ParserMethod<[], Cond>): Cond {
    const first = this.LA(1);
    const operands = [this.SUBRULE(operand)];
    this.MANY(() => {
      this.CONSUME(word);
      operands.push(this.SUBRULE2(operand));
    });
    return operands.length === 1 ? operands[0]! : { kind, nots: 0, operands, first, last: this.end() };
  }

  private readonly condAtoms: IOrAlt<Cond>[] = [
    {
      ALT: () => {
        this.CONSUME(LParen);
        const c = this.SUBRULE(this.cond);
        this.CONSUME(RParen);
        return c;
      },
    },
    { ALT: () => this.SUBRULE(this.comparison) },
  ];

  /** [not ...] ( COND ) | [not ...] A == B: the `not`s counted, not nested, so that a long run of them costs no stack */
  condNot = this.RULE("condNot", (): Cond => {
    const first = this.LA(1);
    let nots = 0;
    this.MANY(() => {
      this.CONSUME(KW.not);
      nots++;
    });
    const c = this.OR(this.condAtoms);
    return nots === 0 || !c ? c : { ...c, nots: c.nots + nots, first, last: this.end() };
  });

  private readonly comparisons: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME(EqEq) }, { ALT: () => this.CONSUME(NotEq) }];

  comparison = this.RULE("comparison", (): Cond => {
    const first = this.LA(1);
    const left = this.SUBRULE(this.condOperand);
    const op = this.OR(this.comparisons);
    const right = this.SUBRULE2(this.condOperand);
    return { kind: "cmp", nots: 0, left, op, right, first, last: this.end() };
  });

  private readonly condOperandAtoms: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME(NumberLit) }, { ALT: () => this.CONSUME(Identifier) }];

  /** A register, a param, or a number with its sign. */
  condOperand = this.RULE("condOperand", (): CondOperand => {
    const first = this.LA(1);
    const minus = this.OPTION(() => this.CONSUME(Minus));
    const atom = this.OR(this.condOperandAtoms);
    return { minus, atom, first, last: this.end() };
  });

  /** A name, possibly built from parts: smmu#i, dev#(s * 64 + d). */
  name = this.RULE("name", (): Name => {
    const base = this.CONSUME(Identifier);
    let parts: NamePart[] | undefined;
    this.MANY(() => {
      this.CONSUME(Hash);
      parts = add(parts, this.SUBRULE(this.nameAtom));
    });
    return parts ? { base, parts, first: base, last: this.end() } : base;
  });

  private readonly nameAtoms: IOrAlt<NamePart>[] = [
    { ALT: () => this.CONSUME(NumberLit) },
    { ALT: () => this.CONSUME(Identifier) },
    { ALT: () => this.parenthesized() },
  ];

  nameAtom = this.RULE("nameAtom", (): NamePart => this.OR(this.nameAtoms));

  /** `( expr )` */
  private parenthesized(): Expr {
    this.CONSUME(LParen);
    const e = this.SUBRULE(this.expr);
    this.CONSUME(RParen);
    return e;
  }

  private readonly operators: IOrAlt<IToken>[] = [Plus, Minus, Star, Slash, Percent, Shl, Shr].map((t) => ({ ALT: () => this.CONSUME(t) }));

  /** Operands and binary operators in a row; lowering applies precedence (* / % << >> over + -). A lone operand is the expression. */
  expr = this.RULE("expr", (): Expr => {
    const first = this.LA(1);
    const operand = this.SUBRULE(this.operand);
    let operands: Expr[] | undefined;
    let ops: IToken[] | undefined;
    this.MANY(() => {
      ops = add(ops, this.OR(this.operators));
      operands = add(operands ?? [operand], this.SUBRULE2(this.operand));
    });
    return operands && ops ? { operands, ops, first, last: this.end() } : operand;
  });

  private readonly operandAtoms: IOrAlt<Expr>[] = [
    { ALT: () => this.CONSUME(NumberLit) },
    { ALT: () => this.SUBRULE(this.name) },
    { ALT: () => this.parenthesized() },
  ];

  /** [-...] number | name | ( expr ): a number or a name alone is the operand. */
  operand = this.RULE("operand", (): Expr => {
    const first = this.LA(1);
    let negs = 0;
    this.MANY(() => {
      this.CONSUME(Minus);
      negs++;
    });
    const atom = this.OR(this.operandAtoms);
    return negs > 0 || first.tokenType === LParen ? { negs, atom, first, last: this.end() } : atom;
  });
}

let instance: SmmuParser | undefined;

/** Build the grammar with every chevrotain validation on: throws if the grammar is ambiguous or malformed. */
export function validateGrammar(): void {
  new SmmuParser(true);
}

/** The syntax tree of a file's tokens, and its parse errors (the tree is only whole when there are none). */
export function parseTokens(tokens: IToken[]): { items: TopItem[]; errors: readonly IRecognitionException[] } {
  const parser = (instance ??= new SmmuParser());
  parser.input = tokens;
  const items = parser.file();
  const errors = parser.errors;
  /* the parser outlives the parse: it must not keep the tokens */
  parser.input = [];
  return { items, errors };
}
