/** Write a generated .smmu file of N lines (the parse benchmark's) to stdout: `tsx scripts/gen-smmu.ts 100000 > big.smmu`. */
import { generate } from "./bench-parse.js";

process.stdout.write(generate(Number(process.argv[2] ?? 100_000)));
