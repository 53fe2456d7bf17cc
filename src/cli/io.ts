/**
 * Where the CLI writes, and its exit statuses. Kept free of the engine: the
 * entry point loads only this, commander and the options before it knows
 * which command runs.
 */

import { once } from "node:events";

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** Where the CLI writes; tests pass their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal (colours) */
  tty: boolean;
  /** Draw (or with null, clear) a progress line; only where stderr is a terminal. */
  progress?(line: string | null): void;
  /** Milliseconds of wall clock, for how often the progress line redraws (Date.now by default). */
  now?(): number;
  /**
   * Write `text` on stdout as it is (a long document, in pieces), resolving
   * once the destination has taken it; without it, the pieces are joined
   * and go to out().
   */
  write?(text: string): Promise<void>;
}

/**
 * A reader that stops reading (`smmu-emu run ... | head -1`) closes the pipe:
 * the next write fails with EPIPE. That ends the process quietly, exit 0, as
 * for a run whose output was all read; any other write error is one line on
 * stderr, exit 2.
 */
function onStreamError(err: NodeJS.ErrnoException): void {
  if (err.code === "EPIPE") process.exit(EXIT_OK);
  try {
    process.stderr.write(`smmu-emu: cannot write the output: ${err.code ?? err.message}\n`);
  } finally {
    process.exit(EXIT_BAD_INPUT);
  }
}

/** The process's own stdout and stderr. */
export function processIo(): Io {
  process.stdout.on("error", onStreamError);
  process.stderr.on("error", onStreamError);
  return {
    out: (t) => void process.stdout.write(`${t}\n`),
    err: (t) => void process.stderr.write(`${t}\n`),
    tty: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    write: async (t) => {
      if (!process.stdout.write(t)) await once(process.stdout, "drain");
    },
    ...(process.stderr.isTTY ? { progress: (line: string | null) => void process.stderr.write(`\r\x1b[K${line ?? ""}`) } : {}),
  };
}
