/**
 * Reading an input file in bounded time and memory: only a regular file (or,
 * for the file named on the command line, a pipe), and never more than the
 * bytes allowed: a character device (/dev/zero), even through a symlink, is
 * refused before a byte is read, and an oversized file by its size.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";

/** Why a file was not read: its errno code ("ENOENT"), "not-regular", or "too-big" (then `bytes` is its size, if known: a pipe's is not). */
export class SourceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly bytes?: number,
  ) {
    super(message);
    this.name = "SourceError";
  }
}

function kindOf(st: Stats): string {
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  if (st.isFIFO()) return "a pipe";
  return "not a file";
}

/** At most `maxBytes` of `path` (symlinks followed), as UTF-8; `pipes`: a pipe is read too, up to the limit. Throws SourceError. */
export function readSource(path: string, maxBytes: number, pipes = false): string {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new SourceError(code, code);
  }
  /* a directory as readFileSync() reports it */
  if (st.isDirectory()) throw new SourceError("EISDIR", "EISDIR");
  if (!st.isFile() && !(pipes && st.isFIFO())) throw new SourceError("not-regular", `not a regular file (${kindOf(st)})`);
  if (st.size > maxBytes) throw new SourceError("too-big", `${st.size} bytes`, st.size);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new SourceError(code, code);
  }
  try {
    /* fstat again: the file may have been replaced since the stat; a pipe's size is only known by reading it */
    const now = fstatSync(fd);
    if (!now.isFile() && !(pipes && now.isFIFO())) throw new SourceError("not-regular", `not a regular file (${kindOf(now)})`);
    /* read to the end or one byte past the limit, whatever the stat said (a file may grow; a pipe has no size) */
    const chunks: Buffer[] = [];
    let got = 0;
    while (got <= maxBytes) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - got));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      got += n;
    }
    if (got > maxBytes) throw new SourceError("too-big", `more than ${maxBytes} bytes`);
    return Buffer.concat(chunks, got).toString("utf8");
  } finally {
    closeSync(fd);
  }
}
