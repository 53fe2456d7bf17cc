/**
 * Hostile input files (issue 13): what is read from disk is bounded before it
 * is read. An include is of a regular file only (a character device, even
 * through a symlink, a pipe or a directory is refused without a byte read),
 * an absolute include path is taken as written, and the file size, the total
 * size of the included files and the depth of includes are limits, each
 * reported at the include (or at 1:1 of the file named) and raised with
 * `--limit NAME=N`. Bounded by the files' sizes, not by time.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { formatDiagnostic, InputError } from "../../src/core/diagnostics.js";
import type { Limits } from "../../src/dsl/limits.js";
import { loadSmmu } from "../../src/engine/load.js";
import { builtinRegistry } from "../../src/index.js";
import { cli } from "../helpers/cli.js";

const registry = builtinRegistry();

function dir(files: Record<string, string> = {}): string {
  const d = mkdtempSync(join(tmpdir(), "smmu-sources-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

/** Every diagnostic of loading `path` (read from disk) under `limits`, formatted. */
function diags(path: string, limits: Partial<Limits> = {}): string[] {
  try {
    loadSmmu(path, registry, undefined, { limits });
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics.map(formatDiagnostic);
    throw err;
  }
  return [];
}

const SMMU = "smmu smmu0 { features: ats; }\n";

describe("what an include may read", () => {
  test("/dev/zero, directly and through a symlink: refused at the include's string, nothing read", () => {
    const d = dir();
    symlinkSync("/dev/zero", join(d, "zero.smmu"));
    writeFileSync(join(d, "t.smmu"), `include "/dev/zero";\ninclude "zero.smmu";\n${SMMU}`);
    expect(diags(join(d, "t.smmu"))).toEqual([
      `${join(d, "t.smmu")}:1:9: error: cannot read "/dev/zero": not a regular file (a character device)`,
      `${join(d, "t.smmu")}:2:9: error: cannot read "zero.smmu": not a regular file (a character device)`,
    ]);
  });

  test("a pipe is refused without waiting for a writer; a directory is EISDIR", () => {
    const d = dir();
    execFileSync("mkfifo", [join(d, "fifo.smmu")]);
    writeFileSync(join(d, "t.smmu"), `include "fifo.smmu";\ninclude ".";\n`);
    expect(diags(join(d, "t.smmu"))).toEqual([
      `${join(d, "t.smmu")}:1:9: error: cannot read "fifo.smmu": not a regular file (a pipe)`,
      `${join(d, "t.smmu")}:2:9: error: cannot read ".": EISDIR`,
    ]);
  });

  test("an absolute path is the file it names, not one under the including file's folder", () => {
    const other = dir({ "topo.smmu": SMMU });
    const d = dir({ "t.smmu": `include "${join(other, "topo.smmu")}";\ndevice gpu0 { smmu: smmu0; sids: 1; }\n` });
    const file = loadSmmu(join(d, "t.smmu"), registry);
    expect(file.topology.smmus).toEqual([{ name: "smmu0", features: ["ats"] }]);
    expect(file.locations.get("/smmus/0")?.file).toBe(join(other, "topo.smmu"));
  });
});

describe("sizes and depth", () => {
  test("the file named: its size against file-size, before it is read", () => {
    const d = dir({ "t.smmu": `${SMMU}// ${"x".repeat(100)}\n` });
    expect(diags(join(d, "t.smmu"), { fileSize: 100 })).toEqual([`${join(d, "t.smmu")}:1:1: error: ${join(d, "t.smmu")} is 134 bytes, over the file size limit of 100 bytes`]);
    expect(diags(join(d, "t.smmu"), { fileSize: 134 })).toEqual([]);
    expect(diags("/dev/zero")).toEqual(["/dev/zero:1:1: error: cannot read /dev/zero: not a regular file (a character device)"]);
  });

  test("an included file over file-size, at its include", () => {
    const d = dir({ "big.smmu": `${SMMU}// ${"x".repeat(200)}\n`, "t.smmu": `include "big.smmu";\n` });
    expect(diags(join(d, "t.smmu"), { fileSize: 100 })).toEqual([`${join(d, "t.smmu")}:1:9: error: cannot read "big.smmu": 234 bytes, over the file size limit of 100 bytes`]);
  });

  test("the included files together over include-size: the include that goes over", () => {
    /* 40 bytes each: two fit in 100, the third does not */
    const part = (i: number): string => `domain d${i} { stage: s1; }\n`.padEnd(40, " ");
    const d = dir({ "a.smmu": part(1), "b.smmu": part(2), "c.smmu": part(3), "t.smmu": `include "a.smmu";\ninclude "b.smmu";\ninclude "c.smmu";\n` });
    expect(diags(join(d, "t.smmu"), { includeSize: 100 })).toEqual([
      `${join(d, "t.smmu")}:3:9: error: cannot read "c.smmu": the included files would be over the include size limit of 100 bytes`,
    ]);
    expect(diags(join(d, "t.smmu"), { includeSize: 120 })).toEqual([]);
  });

  test("includes nested deeper than include-depth: at the include past it; a cycle is still a cycle", () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`f${i}.smmu`] = `include "f${i + 1}.smmu";\n`;
    files["f20.smmu"] = SMMU;
    const d = dir(files);
    expect(diags(join(d, "f0.smmu"))).toEqual([`${join(d, "f16.smmu")}:1:9: error: includes nested deeper than 16 files`]);
    expect(diags(join(d, "f0.smmu"), { includeDepth: 20 })).toEqual([]);
    writeFileSync(join(d, "f3.smmu"), `include "f0.smmu";\n`);
    expect(diags(join(d, "f0.smmu"))).toEqual([`${join(d, "f3.smmu")}:1:9: error: "f0.smmu" includes itself (through 4 file(s))`]);
  });
});

describe("--limit on the command line", () => {
  test("file-size with a unit raises the limit; an unknown limit is a usage error naming them all", async () => {
    const d = dir({ "t.smmu": `${SMMU}// ${"x".repeat(2000)}\n` });
    const file = join(d, "t.smmu");
    expect(await cli("check", "--limit", "file-size=1000", file)).toEqual({
      status: 2,
      stdout: "",
      stderr: `${file}:1:1: error: ${file} is 2034 bytes, over the file size limit of 1000 bytes\n`,
    });
    expect((await cli("check", "--limit", "file-size=2K", file)).status).toBe(0);
    expect(await cli("check", "--limit", "files=1", file)).toEqual({
      status: 2,
      stdout: "",
      stderr:
        `error: option '--limit <name=n>' argument 'files=1' is invalid. no limit named "files" ` +
        "(limits: nesting, iterations, nodes, statements, evaluations, literal-length, file-size, include-size, include-depth, ptes)\n(run with --help for usage)\n",
    });
  });

  test("a language limit: nesting", async () => {
    const d = dir({ "t.smmu": "param A = ((((1))));\n" });
    const file = join(d, "t.smmu");
    expect(await cli("check", "--limit", "nesting=2", file)).toEqual({ status: 2, stdout: "", stderr: `${file}:1:13: error: nesting deeper than 2 levels\n` });
  });
});
