/**
 * Text written now and read back later, in order, in bounded memory: it
 * stays in memory up to a limit, then goes on to a temporary file. A long
 * run's report and trace are written through spools, so their size is
 * bounded by the disk, not the heap.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";

/** Characters a spool holds in memory before it moves them to its file. */
const MEMORY_LIMIT = 1 << 20;
const READ_BLOCK = 1 << 20;

export class Spool {
  private chunks: string[] = [];
  private held = 0;
  private dir: string | null = null;
  private fd: number | null = null;
  private written = 0;

  /** Append `text`. */
  write(text: string): void {
    if (text.length === 0) return;
    this.chunks.push(text);
    this.held += text.length;
    this.written += text.length;
    if (this.held > MEMORY_LIMIT) this.flush();
  }

  /** What was written has outgrown memory: it is in the spool's file. */
  get onDisk(): boolean {
    return this.fd !== null;
  }

  /** Nothing was written. */
  get empty(): boolean {
    return this.written === 0;
  }

  private flush(): void {
    if (this.fd === null) {
      this.dir = mkdtempSync(join(tmpdir(), "smmu-emu-spool-"));
      this.fd = openSync(join(this.dir, "spool"), "w+");
    }
    writeSync(this.fd, this.chunks.join(""));
    this.chunks = [];
    this.held = 0;
  }

  /** Everything written, in order, in pieces; the spool is empty afterwards (its file removed). */
  *drain(): Generator<string> {
    try {
      if (this.fd !== null) {
        this.flush();
        const decoder = new StringDecoder("utf8");
        const block = Buffer.alloc(READ_BLOCK);
        for (let at = 0; ; ) {
          const n = readSync(this.fd, block, 0, READ_BLOCK, at);
          if (n === 0) break;
          at += n;
          const text = decoder.write(block.subarray(0, n));
          if (text) yield text;
        }
        const rest = decoder.end();
        if (rest) yield rest;
      } else if (this.chunks.length) {
        yield this.chunks.join("");
      }
    } finally {
      this.dispose();
    }
  }

  /** Everything written, split at `separator` (a last piece without one counts too). */
  *split(separator = "\n"): Generator<string> {
    let partial = "";
    for (const piece of this.drain()) {
      const parts = (partial + piece).split(separator);
      partial = parts.pop()!;
      yield* parts;
    }
    if (partial) yield partial;
  }

  /** Forget everything written and remove the file. */
  dispose(): void {
    if (this.fd !== null) closeSync(this.fd);
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.fd = null;
    this.dir = null;
    this.chunks = [];
    this.held = 0;
    this.written = 0;
  }
}
