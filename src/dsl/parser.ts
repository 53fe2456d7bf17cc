/**
 * The .smmu grammar (chevrotain, one parser instance reused): a topology of
 * smmu / device / vsmmu / domain blocks with params, for loops and includes,
 * then named scenarios of statements and expectations.
 */
import type { CstNode, IToken } from "chevrotain";
import { CstParser } from "./chevrotain.js";
import { messages } from "./errors.js";
import {
  ALL_TOKENS,
  Colon,
  Comma,
  DotDot,
  Ellipsis,
  Equals,
  Hash,
  Identifier,
  KW,
  LBrace,
  LParen,
  Minus,
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
} from "./tokens.js";

/** Entry types: an entry starting with one has no SMMU name. */
const INV_TYPE_WORDS = new Set(["S1_ASID", "S2_VMID", "S2_VMID_S1_CLEAR", "ATS", "ATS_FULL"]);

class SmmuParser extends CstParser {
  constructor() {
    super(ALL_TOKENS, { recoveryEnabled: true, maxLookahead: 3, errorMessageProvider: messages, nodeLocationTracking: "onlyOffset" });
    this.performSelfAnalysis();
  }

  file = this.RULE("file", () => {
    this.MANY(() => this.SUBRULE(this.topItem));
  });

  topItem = this.RULE("topItem", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.include) },
      { ALT: () => this.SUBRULE(this.use) },
      { ALT: () => this.SUBRULE(this.param) },
      { ALT: () => this.SUBRULE(this.driverDecl) },
      { ALT: () => this.SUBRULE(this.nodeDecl) },
      { ALT: () => this.SUBRULE(this.topFor) },
      { ALT: () => this.SUBRULE(this.scenario) },
    ]);
  });

  include = this.RULE("include", () => {
    this.CONSUME(KW.include);
    this.CONSUME(StringLit);
    this.CONSUME(Semi);
  });

  use = this.RULE("use", () => {
    this.CONSUME(KW.use);
    this.CONSUME(StringLit);
    this.CONSUME(Semi);
  });

  param = this.RULE("param", () => {
    this.CONSUME(KW.param);
    this.CONSUME(Identifier);
    this.CONSUME(Equals);
    this.SUBRULE(this.expr);
    this.CONSUME(Semi);
  });

  /** `driver invs v9;` or, with options, `driver invs mainline { parallel_syncs: true; }` */
  driverDecl = this.RULE("driverDecl", () => {
    this.CONSUME(KW.driver);
    this.CONSUME(Identifier, { LABEL: "plugin" });
    this.OPTION(() => this.CONSUME2(Identifier, { LABEL: "variant" }));
    this.OR([
      { ALT: () => this.CONSUME(Semi) },
      {
        ALT: () => {
          this.CONSUME(LBrace);
          this.MANY(() => this.SUBRULE(this.property));
          this.CONSUME(RBrace);
        },
      },
    ]);
  });

  nodeDecl = this.RULE("nodeDecl", () => {
    this.OR([
      { ALT: () => this.CONSUME(KW.smmu, { LABEL: "kind" }) },
      { ALT: () => this.CONSUME(KW.device, { LABEL: "kind" }) },
      { ALT: () => this.CONSUME(KW.vsmmu, { LABEL: "kind" }) },
      { ALT: () => this.CONSUME(KW.domain, { LABEL: "kind" }) },
    ]);
    this.SUBRULE(this.name);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.property));
    this.CONSUME(RBrace);
  });

  property = this.RULE("property", () => {
    this.CONSUME(Identifier, { LABEL: "key" });
    this.CONSUME(Colon);
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.SUBRULE(this.value) });
    this.CONSUME(Semi);
  });

  value = this.RULE("value", () => {
    this.OR([{ ALT: () => this.CONSUME(StringLit) }, { ALT: () => this.SUBRULE(this.expr) }]);
  });

  topFor = this.RULE("topFor", () => {
    this.SUBRULE(this.forHead);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.topItem));
    this.CONSUME(RBrace);
  });

  forHead = this.RULE("forHead", () => {
    this.CONSUME(KW.for);
    this.CONSUME(Identifier, { LABEL: "var" });
    this.CONSUME(KW.in);
    this.SUBRULE(this.expr, { LABEL: "from" });
    this.CONSUME(DotDot);
    this.SUBRULE2(this.expr, { LABEL: "to" });
  });

  scenario = this.RULE("scenario", () => {
    this.CONSUME(KW.scenario);
    this.CONSUME(StringLit);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.stmt));
    this.CONSUME(RBrace);
  });

  stmt = this.RULE("stmt", () => {
    this.OR([
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
    ]);
  });

  /** concurrently { op; op; ... }: the operations interleaved step by step, as on separate CPUs */
  concurrently = this.RULE("concurrently", () => {
    this.CONSUME(KW.concurrently);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.stmt));
    this.CONSUME(RBrace);
  });

  /**
   * The array algebra itself, as the kunit test drives it:
   *   array t { S2_VMID 1; ATS 3 ssid 1; }     a fixed array (to_merge, to_unref)
   *   array a = alloc 0;  array b = merge a t;  array a = purge b;
   */
  array = this.RULE("array", () => {
    this.CONSUME(KW.array);
    this.CONSUME(Identifier, { LABEL: "target" });
    this.OR([
      {
        ALT: () => {
          this.CONSUME(LBrace);
          this.MANY(() => this.SUBRULE(this.invPattern));
          this.CONSUME(RBrace);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Equals);
          this.OR2([
            {
              ALT: () => {
                this.CONSUME(KW.alloc);
                this.SUBRULE(this.expr, { LABEL: "size" });
              },
            },
            {
              ALT: () => {
                this.CONSUME(KW.merge);
                this.CONSUME2(Identifier, { LABEL: "base" });
                this.CONSUME3(Identifier, { LABEL: "other" });
              },
            },
            {
              ALT: () => {
                this.CONSUME(KW.purge);
                this.CONSUME4(Identifier, { LABEL: "base" });
              },
            },
          ]);
          this.CONSUME(Semi);
        },
      },
    ]);
  });

  unref = this.RULE("unref", () => {
    this.CONSUME(KW.unref);
    this.CONSUME(Identifier, { LABEL: "base" });
    this.CONSUME2(Identifier, { LABEL: "other" });
    this.CONSUME(Semi);
  });

  stmtFor = this.RULE("stmtFor", () => {
    this.SUBRULE(this.forHead);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.stmt));
    this.CONSUME(RBrace);
  });

  attach = this.RULE("attach", () => {
    this.CONSUME(KW.attach);
    this.SUBRULE(this.name, { LABEL: "device" });
    this.SUBRULE2(this.name, { LABEL: "target" });
    this.OPTION(() => {
      this.CONSUME(KW.pasid);
      this.SUBRULE(this.expr, { LABEL: "pasid" });
    });
    this.CONSUME(Semi);
  });

  detach = this.RULE("detach", () => {
    this.CONSUME(KW.detach);
    this.SUBRULE(this.name, { LABEL: "device" });
    this.OPTION(() => {
      this.CONSUME(KW.pasid);
      this.SUBRULE(this.expr, { LABEL: "pasid" });
    });
    this.CONSUME(Semi);
  });

  map = this.RULE("map", () => {
    this.CONSUME(KW.map);
    this.SUBRULE(this.name, { LABEL: "domain" });
    this.SUBRULE(this.expr, { LABEL: "iova" });
    this.CONSUME(KW.size);
    this.SUBRULE2(this.expr, { LABEL: "size" });
    this.OPTION(() => {
      this.CONSUME(KW.to);
      this.SUBRULE3(this.expr, { LABEL: "pa" });
    });
    this.OPTION2(() => this.CONSUME(KW.readonly));
    this.CONSUME(Semi);
  });

  unmap = this.RULE("unmap", () => {
    this.CONSUME(KW.unmap);
    this.SUBRULE(this.name, { LABEL: "domain" });
    this.SUBRULE(this.expr, { LABEL: "iova" });
    this.CONSUME(KW.size);
    this.SUBRULE2(this.expr, { LABEL: "size" });
    this.CONSUME(Semi);
  });

  flush = this.RULE("flush", () => {
    this.CONSUME(KW.flush);
    this.SUBRULE(this.name, { LABEL: "domain" });
    this.CONSUME(Semi);
  });

  dma = this.RULE("dma", () => {
    this.CONSUME(KW.dma);
    this.SUBRULE(this.dmaSpec);
    this.CONSUME(Semi);
  });

  dmaSpec = this.RULE("dmaSpec", () => {
    this.SUBRULE(this.name, { LABEL: "device" });
    this.OR([{ ALT: () => this.CONSUME(KW.read, { LABEL: "access" }) }, { ALT: () => this.CONSUME(KW.write, { LABEL: "access" }) }]);
    this.SUBRULE(this.expr, { LABEL: "iova" });
    this.OPTION(() => {
      this.CONSUME(KW.pasid);
      this.SUBRULE2(this.expr, { LABEL: "pasid" });
    });
    this.OPTION2(() => {
      this.CONSUME(KW.sid);
      this.SUBRULE3(this.expr, { LABEL: "sid" });
    });
  });

  sva = this.RULE("sva", () => {
    this.CONSUME(KW.sva);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(KW.bind);
          this.SUBRULE(this.name, { LABEL: "device" });
          this.SUBRULE2(this.name, { LABEL: "domain" });
        },
      },
      {
        ALT: () => {
          this.CONSUME(KW.unbind);
          this.SUBRULE3(this.name, { LABEL: "device" });
        },
      },
    ]);
    this.CONSUME(KW.pasid);
    this.SUBRULE(this.expr, { LABEL: "pasid" });
    this.CONSUME(Semi);
  });

  mm = this.RULE("mm", () => {
    this.CONSUME(KW.mm);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(KW.invalidate);
          this.SUBRULE(this.name, { LABEL: "domain" });
          this.OPTION(() => {
            this.SUBRULE(this.expr, { LABEL: "start" });
            this.CONSUME(KW.size);
            this.SUBRULE2(this.expr, { LABEL: "size" });
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(KW.release);
          this.SUBRULE2(this.name, { LABEL: "domain" });
        },
      },
    ]);
    this.CONSUME(Semi);
  });

  /** vsmmu v0 invalidate { TLBI_NH_VAA addr 0x1000; CFGI_CD sid 0x100; ... }: the guest's commands, as command patterns write them */
  vsmmuInvalidate = this.RULE("vsmmuInvalidate", () => {
    this.CONSUME(KW.vsmmu);
    this.SUBRULE(this.name, { LABEL: "vsmmu" });
    this.CONSUME(KW.invalidate);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.cmdItem));
    this.CONSUME(RBrace);
  });

  fail = this.RULE("fail", () => {
    this.CONSUME(KW.fail);
    this.CONSUME(KW.alloc);
    this.CONSUME(Identifier, { LABEL: "site" });
    this.OPTION(() => {
      this.CONSUME(KW.count);
      this.SUBRULE(this.expr, { LABEL: "count" });
    });
    this.CONSUME(Semi);
  });

  fault = this.RULE("fault", () => {
    this.CONSUME(KW.fault);
    this.SUBRULE(this.name, { LABEL: "device" });
    this.CONSUME(Identifier, { LABEL: "fault" });
    this.OPTION(() => this.CONSUME(KW.off));
    this.CONSUME(Semi);
  });

  expect = this.RULE("expect", () => {
    this.CONSUME(KW.expect);
    this.OR([
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
    ]);
  });

  expectCommands = this.RULE("expectCommands", () => {
    this.CONSUME(KW.commands);
    this.SUBRULE(this.name, { LABEL: "smmu" });
    this.OPTION(() => this.CONSUME(KW.contains));
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.cmdItem));
    this.CONSUME(RBrace);
  });

  /** A command pattern, or a loop of them. */
  cmdItem = this.RULE("cmdItem", () => {
    this.loopOrPattern(() => this.SUBRULE(this.cmdFor), () => this.SUBRULE(this.cmdPattern));
  });

  cmdFor = this.RULE("cmdFor", () => {
    this.SUBRULE(this.forHead);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.cmdItem));
    this.CONSUME(RBrace);
  });

  cmdPattern = this.RULE("cmdPattern", () => {
    this.CONSUME(Identifier, { LABEL: "op" });
    this.MANY({
      GATE: () => this.LA(1).tokenType !== KW.x,
      DEF: () => {
        this.CONSUME2(Identifier, { LABEL: "field" });
        this.SUBRULE(this.expr, { LABEL: "fieldValue" });
      },
    });
    this.OPTION(() => this.CONSUME(Ellipsis));
    this.OPTION2(() => {
      this.CONSUME(KW.x);
      this.SUBRULE2(this.expr, { LABEL: "repeat" });
    });
    this.CONSUME(Semi);
  });

  expectCount = this.RULE("expectCount", () => {
    this.CONSUME(KW.count);
    this.SUBRULE(this.name, { LABEL: "smmu" });
    this.CONSUME(Identifier, { LABEL: "what" });
    this.SUBRULE(this.expr, { LABEL: "count" });
    this.CONSUME(Semi);
  });

  /** expect invs d1 [trash N] { smmu0 S1_ASID 1 users 1; ... }  or  expect invs d1 empty; */
  expectInvs = this.RULE("expectInvs", () => {
    this.CONSUME(KW.invs);
    this.SUBRULE(this.name, { LABEL: "domain" });
    this.OR([
      {
        ALT: () => {
          this.CONSUME(KW.empty);
          this.CONSUME(Semi);
        },
      },
      {
        ALT: () => {
          this.OPTION(() => {
            this.CONSUME(KW.trash);
            this.SUBRULE(this.expr, { LABEL: "trash" });
          });
          this.CONSUME(LBrace);
          this.MANY(() => this.SUBRULE(this.invItem));
          this.CONSUME(RBrace);
        },
      },
    ]);
  });

  /** expect state NODE KEY VALUE;  a value a plugin exposes */
  expectState = this.RULE("expectState", () => {
    this.CONSUME(KW.state);
    this.SUBRULE(this.name, { LABEL: "node" });
    this.CONSUME(Identifier, { LABEL: "key" });
    this.SUBRULE(this.value);
    this.CONSUME(Semi);
  });

  /** expect array a [trash N] { S2_VMID 1 users 2; ATS 10 ssid 1; } */
  expectArray = this.RULE("expectArray", () => {
    this.CONSUME(KW.array);
    this.CONSUME(Identifier, { LABEL: "target" });
    this.OPTION(() => {
      this.CONSUME(KW.trash);
      this.SUBRULE(this.expr, { LABEL: "trash" });
    });
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.invPattern));
    this.CONSUME(RBrace);
  });

  /** An entry, or a loop of them. */
  invItem = this.RULE("invItem", () => {
    this.loopOrPattern(() => this.SUBRULE(this.invFor), () => this.SUBRULE(this.invPattern));
  });

  invFor = this.RULE("invFor", () => {
    this.SUBRULE(this.forHead);
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.invItem));
    this.CONSUME(RBrace);
  });

  /** `for v in`: a loop, not an entry naming something "for". */
  private isLoop(): boolean {
    return this.LA(1).tokenType === KW.for && this.LA(3).tokenType === KW.in;
  }

  /** One token decides (the gate tells a loop from a pattern), so a malformed pattern fails inside it, where the message is precise. */
  private loopOrPattern(loop: () => CstNode, pattern: () => CstNode): void {
    this.OR({ MAX_LOOKAHEAD: 1, IGNORE_AMBIGUITIES: true, DEF: [{ GATE: () => this.isLoop(), ALT: loop }, { ALT: pattern }] });
  }

  /** [smmu] TYPE id [ssid N] [users N]; the SMMU is left out in arrays that have none (kunit). */
  invPattern = this.RULE("invPattern", () => {
    this.OPTION3({ GATE: () => !INV_TYPE_WORDS.has(this.LA(1).image), DEF: () => this.SUBRULE(this.name, { LABEL: "smmu" }) });
    this.CONSUME(Identifier, { LABEL: "type" });
    this.SUBRULE(this.expr, { LABEL: "id" });
    this.OPTION(() => {
      this.CONSUME(KW.ssid);
      this.SUBRULE2(this.expr, { LABEL: "ssid" });
    });
    this.OPTION2(() => {
      this.CONSUME(KW.users);
      this.SUBRULE3(this.expr, { LABEL: "users" });
    });
    this.CONSUME(Semi);
  });

  expectDma = this.RULE("expectDma", () => {
    this.CONSUME(KW.dma);
    this.SUBRULE(this.dmaSpec);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(KW.via);
          this.CONSUME(Identifier, { LABEL: "via" });
        },
      },
      { ALT: () => this.CONSUME(KW.ok) },
      {
        ALT: () => {
          this.CONSUME(KW.fault);
          this.OPTION(() => this.CONSUME2(Identifier, { LABEL: "event" }));
        },
      },
      { ALT: () => this.CONSUME(KW.abort) },
    ]);
    this.CONSUME(Semi);
  });

  expectError = this.RULE("expectError", () => {
    this.CONSUME(KW.error);
    this.OPTION(() => this.CONSUME(Minus));
    this.CONSUME(Identifier, { LABEL: "error" });
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.stmt));
    this.CONSUME(RBrace);
  });

  /** expect warn "TEXT" { ... }: the statements fire a WARN that TEXT names (its function) or is part of (its condition) */
  expectWarn = this.RULE("expectWarn", () => {
    this.CONSUME(KW.warn);
    this.CONSUME(StringLit, { LABEL: "text" });
    this.CONSUME(LBrace);
    this.MANY(() => this.SUBRULE(this.stmt));
    this.CONSUME(RBrace);
  });

  expectNoStale = this.RULE("expectNoStale", () => {
    this.CONSUME(KW.no);
    this.CONSUME(KW.stale);
    this.CONSUME(Semi);
  });

  expectStale = this.RULE("expectStale", () => {
    this.CONSUME(KW.stale);
    this.OPTION(() => {
      this.SUBRULE(this.name, { LABEL: "device" });
      this.OPTION2(() => this.SUBRULE(this.expr, { LABEL: "iova" }));
    });
    this.CONSUME(Semi);
  });

  /** A name, possibly built from parts: smmu#i, dev#(s * 64 + d). */
  name = this.RULE("name", () => {
    this.CONSUME(Identifier, { LABEL: "base" });
    this.MANY(() => {
      this.CONSUME(Hash);
      this.SUBRULE(this.nameAtom);
    });
  });

  nameAtom = this.RULE("nameAtom", () => {
    this.OR([
      { ALT: () => this.CONSUME(NumberLit) },
      { ALT: () => this.CONSUME(Identifier) },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.SUBRULE(this.expr);
          this.CONSUME(RParen);
        },
      },
    ]);
  });

  /** Operands and binary operators in a row; lowering applies precedence (* / % << >> over + -). */
  expr = this.RULE("expr", () => {
    this.SUBRULE(this.operand);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Plus, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(Minus, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(Star, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(Slash, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(Percent, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(Shl, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(Shr, { LABEL: "op" }) },
      ]);
      this.SUBRULE2(this.operand);
    });
  });

  /** [-...] number | name | ( expr ) */
  operand = this.RULE("operand", () => {
    this.MANY(() => this.CONSUME(Minus, { LABEL: "neg" }));
    this.OR([
      { ALT: () => this.CONSUME(NumberLit) },
      { ALT: () => this.SUBRULE(this.name) },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.SUBRULE(this.expr);
          this.CONSUME(RParen);
        },
      },
    ]);
  });
}

/** The one parser instance; parse() resets it for each input. */
export const parser = new SmmuParser();

export interface ParseOutput {
  cst: CstNode;
  tokens: IToken[];
}
