/**
 * The executable: run main() on the process's arguments; an internal error
 * is reported, never a stack trace. The process exits once main() is done
 * and its output is written: what a plugin left behind on this thread (a
 * timer, a socket) cannot keep it running after the verdict.
 */
import { EXIT_BAD_INPUT, main } from "./main.js";

/** Exit with `status` once stdout and stderr have taken what was written. */
function exit(status: number): void {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(status)));
}

main(process.argv.slice(2)).then(exit, (err: unknown) => {
  process.stderr.write(`smmu-emu: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (process.env.SMMU_EMU_DEBUG && err instanceof Error) process.stderr.write(`${err.stack ?? ""}\n`);
  exit(EXIT_BAD_INPUT);
});
