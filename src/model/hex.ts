/** How every message and report prints an address, a StreamID or a size: `0x1f000`. */
export function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}
