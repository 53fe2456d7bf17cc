/**
 * Writing long output in bounded memory: a document made in pieces goes out
 * in blocks, to stdout through Io.write() or into an output file opened
 * before the run; and each scenario's invalidations, spooled as it runs for
 * the reports that show each one (--json, --metrics).
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { InvalidationMetric } from "../../engine/metrics.js";
import { invalidationJson } from "../../report/json.js";
import { invalidationLine } from "../../report/metrics.js";
import { Spool } from "../../report/spool.js";
import type { Io } from "../io.js";
import type { CommandContext } from "../options.js";
import { usage } from "./common.js";

/** Pieces joined into blocks of about this many characters before they are written. */
const WRITE_BLOCK = 1 << 16;

/** `pieces` joined into blocks of about WRITE_BLOCK characters. */
function* blocks(pieces: Iterable<string>): Generator<string> {
  let block = "";
  for (const piece of pieces) {
    block += piece;
    if (block.length >= WRITE_BLOCK) {
      yield block;
      block = "";
    }
  }
  if (block) yield block;
}

/** `pieces` and a newline on stdout, as out() of their concatenation prints them, in bounded memory where io.write() is there. */
export async function emit(io: Io, pieces: Iterable<string>): Promise<void> {
  if (!io.write) {
    io.out([...pieces].join(""));
    return;
  }
  for (const block of blocks(pieces)) await io.write(block);
  await io.write("\n");
}

/** An output file (--trace), created or emptied before the run, so that one that cannot be written stops the run before it starts. */
export class OutputFile {
  private constructor(
    private readonly fd: number,
    readonly path: string,
  ) {}

  /** The file at `path` opened for writing; undefined after a usage error naming `flag`. */
  static open(ctx: CommandContext, flag: string, path: string): OutputFile | undefined {
    try {
      return new OutputFile(openSync(path, "w"), path);
    } catch (err) {
      usage(ctx, flag, `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return undefined;
    }
  }

  write(pieces: Iterable<string>): void {
    for (const block of blocks(pieces)) writeSync(this.fd, block);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** One scenario's invalidations, as it ran: counted, and spooled when the report shows each (--json, --metrics). */
export interface Invalidations {
  count: number;
  spool: Spool;
}

function invalidations(): Invalidations {
  return { count: 0, spool: new Spool() };
}

/** JSON texts in a spool hold no raw NUL: it separates them. */
export const RECORD = "\0";

/**
 * Each scenario's invalidations as a run goes: the running scenario's
 * spooled (as --json or --metrics shows them), handed on when it ends.
 */
export class InvalidationSpools {
  readonly ran: Invalidations[] = [];
  private current = invalidations();

  constructor(private readonly json: boolean) {}

  /** Hears one invalidation of the running scenario. */
  readonly add = (m: InvalidationMetric): void => {
    this.current.count++;
    this.current.spool.write(this.json ? `${invalidationJson(m)}${RECORD}` : `${invalidationLine(m)}\n`);
  };

  /** The running scenario ended; `kept`: false when it was stopped short, its figures gone with it. */
  ended(kept = true): void {
    if (!kept) {
      this.current.spool.dispose();
      this.current = invalidations();
    }
    this.ran.push(this.current);
    this.current = invalidations();
  }

  /** Every spool, when the run's results are not reported (bad input found while running). */
  dispose(): void {
    for (const inv of this.ran) inv.spool.dispose();
    this.current.spool.dispose();
  }

  /** The running scenario's spool, once the run is over (nothing runs). */
  close(): void {
    this.current.spool.dispose();
  }
}
