/**
 * Numbers of the .smmu language: every value (a literal, a param, a loop
 * variable, a result) is an integer of at most 64 bits, of either sign.
 */
/** The width of every value; not a limit to tune: commands' fields are 64 bits. */
export const VALUE_BITS = 64;

/** The largest value of the language, 2^64 - 1; -MAX_VALUE is the smallest. */
export const MAX_VALUE = (1n << BigInt(VALUE_BITS)) - 1n;

const UNITS: ReadonlyMap<string, bigint> = new Map([
  ["K", 1n << 10n],
  ["M", 1n << 20n],
  ["G", 1n << 30n],
]);

/** The value of a number literal (decimal, 0x hex, _ separators, a K/M/G multiplier), or undefined when wider than 64 bits. */
export function literalValue(image: string): bigint | undefined {
  /* the common case, quickly: no separators, no multiplier, too short to overflow (0x + 16 digits, 18 decimal digits) */
  const last = image.charCodeAt(image.length - 1) | 32;
  if (image.length <= 18 && last !== 107 && last !== 109 && last !== 103 && !image.includes("_")) return BigInt(image);
  const text = image.replace(/_/g, "");
  const hex = /^0[xX]/.test(text);
  const unit = hex ? undefined : UNITS.get(text.slice(-1));
  const digits = (hex ? text.slice(2) : unit ? text.slice(0, -1) : text).replace(/^0+(?=.)/, "");
  /* more digits than 2^64 - 1 has is too wide, without converting them (a 50 MB literal converts slowly) */
  if (digits.length > (hex ? VALUE_BITS / 4 : 20)) return undefined;
  const v = BigInt(hex ? `0x${digits}` : digits) * (unit ?? 1n);
  return v <= MAX_VALUE ? v : undefined;
}
