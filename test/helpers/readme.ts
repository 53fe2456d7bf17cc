/** What the README shows a command printing: the lines after its "$ COMMAND" line, up to the end of the block. */
import { readFileSync } from "node:fs";

export function readmeShown(command: string): string {
  const readme = readFileSync("README.md", "utf8");
  const start = readme.indexOf(`$ ${command}\n`);
  if (start === -1) throw new Error(`the README shows no "$ ${command}"`);
  return readme.slice(readme.indexOf("\n", start) + 1, readme.indexOf("\n```", start) + 1);
}
