/** main() with its output captured, as a terminal-less process would print it (each write ends a line). */
import { main, type Io } from "../../src/cli/main.js";

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

export async function cli(...argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    out: (t) => {
      stdout += `${t}\n`;
    },
    err: (t) => {
      stderr += `${t}\n`;
    },
    tty: false,
  };
  const status = await main(argv, io);
  return { status, stdout, stderr };
}
