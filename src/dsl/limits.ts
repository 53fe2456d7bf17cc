/**
 * The limits that keep hostile or mistaken .smmu input from hanging or
 * crashing the front end: each one is a diagnostic naming it at the place
 * that goes over, never an internal error. Defaults here; compileSmmu()
 * takes overrides.
 */
export interface Limits {
  /** Brackets ('(' and '{') open at once: the parser and the lowering recurse once per level. */
  nesting: number;
  /** Loop iterations in one file, nested loops multiplying. */
  iterations: number;
  /** smmu, device, vsmmu and domain declarations in one file, a loop's body counting each time round: bounds the topology to validate and simulate. */
  nodes: number;
  /** Statements, expected entries (commands, array entries) and declarations other than nodes in one file, a loop's body counting each time round (a loop or a scenario itself does not count): bounds what a file compiles to. */
  statements: number;
  /** Operands and operators evaluated in one file, a loop's body counting each time round: bounds the time its expressions take. */
  evaluations: number;
  /** Characters in one name or string literal (a number literal is bounded by its value: src/dsl/numbers.ts). */
  literalLength: number;
  /** Bytes of one file read from disk: the one named on the command line, or one it includes (the lexer's tokens take about 80 times the text). */
  fileSize: number;
  /** Bytes of all the files one file includes, directly or not. */
  includeSize: number;
  /** Files open at once through includes (a.smmu includes b.smmu, which includes c.smmu: 2). */
  includeDepth: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  nesting: 64,
  iterations: 1_000_000,
  nodes: 100_000,
  statements: 250_000,
  evaluations: 10_000_000,
  literalLength: 4096,
  fileSize: 4 * 1024 * 1024,
  includeSize: 8 * 1024 * 1024,
  includeDepth: 16,
});

/** The defaults with `overrides` applied. */
export function limitsWith(overrides: Partial<Limits> = {}): Limits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(limits) as (keyof Limits)[]) limits[key] = overrides[key] ?? limits[key];
  return limits;
}
