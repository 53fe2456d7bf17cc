/** The executable: run main() on the process's arguments; an internal error is reported, never a stack trace. */
import { EXIT_BAD_INPUT, main } from "./main.js";

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    process.stderr.write(`smmu-emu: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.SMMU_EMU_DEBUG && err instanceof Error) process.stderr.write(`${err.stack ?? ""}\n`);
    process.exitCode = EXIT_BAD_INPUT;
  },
);
