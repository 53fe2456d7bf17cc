/**
 * The default of an exhaustive `switch` over a union: `x` has type `never`
 * only when every member has its case, so adding a member (a statement
 * kind, an expectation, a result) without handling it fails `tsc` at each
 * such switch. Reaching it at run time is a bug in smmu-emu.
 */
export function assertNever(x: never): never {
  const tagged = x as unknown as { kind?: unknown; op?: unknown } | null;
  const tag = typeof tagged === "object" && tagged !== null ? (tagged.kind ?? tagged.op) : tagged;
  throw new Error(`unhandled case ${String(tag)}`);
}
