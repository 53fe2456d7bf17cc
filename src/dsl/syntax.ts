/**
 * The syntax tree the parser builds directly (embedded actions, no CST):
 * a .smmu file as written, before lowering resolves params, loops, names
 * and includes into src/dsl/ast.ts. Every node keeps its first and last
 * token, which give its span.
 */
import type { IToken } from "chevrotain";
import { Token } from "./lexer.js";
import { NumberLit, StringLit } from "./tokens.js";

/** Where a node was written: its first and last token. */
export interface Syn {
  first: IToken;
  last: IToken;
}

/**
 * An expression, as small as it was written: a NumberLit token, a name, an
 * operand with minus signs or parentheses, or operands and binary operators
 * in a row (lowering applies precedence). A file of 100,000 lines has a
 * hundred thousand of them, most a lone number or name.
 */
export type Expr = IToken | BuiltName | Operand | Compound;

/** `-x`, `(e)`, `-(e)`: the minus signs before an atom, which may be an expression in parentheses (the span includes them). */
interface Operand extends Syn {
  negs: number;
  atom: Expr;
}

export interface Compound extends Syn {
  operands: readonly Expr[];
  ops: readonly IToken[];
}

/** A name: an Identifier (or keyword) token, or one built from parts. */
export type Name = IToken | BuiltName;

/** smmu#i, dev#(s * 64 + d) */
export interface BuiltName extends Syn {
  base: IToken;
  parts: readonly NamePart[];
}

/** After a '#': a NumberLit or Identifier token, or an expression in parentheses. */
export type NamePart = IToken | Expr;

/** A property's or option's value: an expression or a StringLit token. */
export type Value = Expr;

/** The operators of a lone operand, the properties of an empty block: one array for them all. */
export const NONE: readonly never[] = Object.freeze([]);

export function isToken(x: object): x is IToken {
  return x instanceof Token;
}

export function isBuiltName(x: object): x is BuiltName {
  return "base" in x;
}

export function isCompound(x: object): x is Compound {
  return "ops" in x;
}

/** A StringLit token (a value may be a string). */
export function isString(x: object): x is IToken {
  return isToken(x) && x.tokenType === StringLit;
}

/** A word: a name (an Identifier or keyword token), neither a number nor a string. */
export function isWord(x: object): x is IToken {
  return isToken(x) && x.tokenType !== NumberLit && x.tokenType !== StringLit;
}

export interface Property extends Syn {
  key: IToken;
  values: readonly Value[];
}

export interface ForHead extends Syn {
  var: IToken;
  from: Expr;
  to: Expr;
}

export interface DriverDecl extends Syn {
  kind: "driverDecl";
  plugin: IToken;
  variant?: IToken;
  options: Property[];
}

export type TopItem = Syn &
  (
    | { kind: "include" | "use"; path: IToken }
    | { kind: "param"; name: IToken; value: Expr }
    | DriverDecl
    | { kind: "nodeDecl"; nodeKind: IToken; name: Name; properties: readonly Property[] }
    | { kind: "topFor"; head: ForHead; items: TopItem[] }
    | { kind: "scenario"; name: IToken; body: Stmt[] }
  );

export interface DmaSpec extends Syn {
  device: Name;
  access: IToken;
  iova: Expr;
  pasid?: Expr;
  sid?: Expr;
}

export interface CmdPattern extends Syn {
  kind: "cmdPattern";
  op: IToken;
  fields: IToken[];
  values: Expr[];
  rest?: IToken;
  repeat?: Expr;
}

export type CmdItem = CmdPattern | (Syn & { kind: "cmdFor"; head: ForHead; items: CmdItem[] });

export interface InvPattern extends Syn {
  kind: "invPattern";
  smmu?: Name;
  type: IToken;
  id: Expr;
  ssid?: Expr;
  users?: Expr;
}

export type InvItem = InvPattern | (Syn & { kind: "invFor"; head: ForHead; items: InvItem[] });

/** What `expect dma` waits for; exactly one is set. */
export interface DmaResult {
  via?: IToken;
  ok?: boolean;
  fault?: boolean;
  event?: IToken;
  abort?: boolean;
}

/** One memory operation of a `thread { }`: `WRITE_ONCE(x, 1);`, `r0 = READ_ONCE(y);`, `smp_mb();` (lowering knows the functions). */
export interface MemOp extends Syn {
  kind: "memOp";
  /** `r0 =`: where a load's value goes */
  target?: IToken;
  fn: IToken;
  args: readonly Expr[];
}

/** A register (r0), a param, or an integer literal, with its minus sign. */
export interface CondOperand extends Syn {
  minus?: IToken;
  atom: IToken;
}

/** A condition over registers, as an `expect` after a block of threads writes it; `nots` are the `not`s before a comparison or a parenthesized condition. */
export type Cond = Syn &
  (
    | { kind: "cmp"; nots: number; left: CondOperand; op: IToken; right: CondOperand }
    | { kind: "and" | "or"; nots: number; operands: Cond[] }
  );

export type Expectation =
  | { kind: "expectCommands"; smmu: Name; contains: boolean; items: CmdItem[] }
  | { kind: "expectCount"; smmu: Name; what: IToken; count: Expr }
  | { kind: "expectInvs"; domain: Name; empty: boolean; trash?: Expr; items: InvItem[] }
  | { kind: "expectArray"; target: IToken; trash?: Expr; entries: InvPattern[] }
  | { kind: "expectState"; node: Name; key: IToken; value: Value }
  | { kind: "expectDma"; spec: DmaSpec; result: DmaResult }
  | { kind: "expectError"; minus: boolean; error: IToken; body: Stmt[] }
  | { kind: "expectWarn"; text: IToken; body: Stmt[] }
  | { kind: "expectNoStale" }
  | { kind: "expectCond"; cond: Cond }
  | { kind: "expectStale"; device?: Name; iova?: Expr };

/** The right-hand side of `array NAME ...`. */
export type ArrayDef =
  | { kind: "set"; entries: InvPattern[] }
  | { kind: "alloc"; size: Expr }
  | { kind: "merge"; base: IToken; other: IToken }
  | { kind: "purge"; base: IToken };

export type Stmt = Syn &
  (
    | { kind: "attach"; device: Name; target: Name; pasid?: Expr }
    | { kind: "detach"; device: Name; pasid?: Expr }
    | { kind: "map"; domain: Name; iova: Expr; size: Expr; pa?: Expr; readonly: boolean }
    | { kind: "unmap"; domain: Name; iova: Expr; size: Expr }
    | { kind: "flush"; domain: Name }
    | { kind: "dma"; spec: DmaSpec }
    | { kind: "sva"; bind: boolean; device: Name; domain?: Name; pasid: Expr }
    | { kind: "mm"; release: boolean; domain: Name; start?: Expr; size?: Expr }
    | { kind: "vsmmuInvalidate"; vsmmu: Name; items: CmdItem[] }
    | { kind: "fail"; site: IToken; count?: Expr }
    | { kind: "fault"; device: Name; fault: IToken; off: boolean }
    | { kind: "expect"; expectation: Expectation }
    | { kind: "stmtFor"; head: ForHead; body: Stmt[] }
    | DriverDecl
    | { kind: "array"; target: IToken; def: ArrayDef }
    | { kind: "unref"; base: IToken; other: IToken }
    | { kind: "concurrently"; body: Stmt[] }
    /** memory operations; a statement there is parsed to be refused */
    | { kind: "thread"; body: (MemOp | Stmt)[] }
    /** show invs DOMAIN; show ste DEV; show cd DEV [pasid N]; show iotlb SMMU; show atc DEV; */
    | { kind: "show"; what: IToken; target: Name; pasid?: Expr }
  );
