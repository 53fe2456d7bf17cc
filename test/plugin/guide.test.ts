/**
 * docs/plugins.md must stay true. Its marked blocks are extracted and run:
 *
 *   <!-- file: NAME -->            the next fenced block is written to NAME in
 *                                  a directory set up as the guide says (an ES
 *                                  module package depending on smmu-emu);
 *   <!-- file: NAME, as PATH -->   ... and must equal PATH in this repository;
 *   <!-- run -->                   the next ```console block: `$ npx smmu-emu
 *   <!-- run: exit N -->           ARGS` run in that directory, its output
 *                                  (stdout and stderr, in order) exactly the
 *                                  lines that follow (`...` stands for any
 *                                  lines), its exit status 0 or N;
 *   <!-- events: ... -->           the event table: exactly the events of
 *   <!-- /events -->               src/model/events.ts, payloads and replies;
 *   <!-- messages -->              the error table: each message is what
 *   <!-- /messages -->             the reproducer below of that row prints.
 *
 * Every ts, smmu, json and console block must be marked, and the guide's
 * TypeScript (with examples/plugins/*.ts) must type-check against the API.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { main, type Io } from "../../src/cli/main.js";
import { codeCell, eventRows } from "../helpers/events-table.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GUIDE = join(ROOT, "docs/plugins.md");
const TEXT = readFileSync(GUIDE, "utf8");
const LINES = TEXT.split("\n");

interface Block {
  marker: string;
  lang: string;
  body: string;
  /** 1-based line of the fence */
  line: number;
}

/** Every fenced block, with the HTML comment (if any) on the line before it (blank lines allowed between). */
function blocks(): Block[] {
  const out: Block[] = [];
  let marker = "";
  for (let i = 0; i < LINES.length; i++) {
    const line = LINES[i]!;
    const m = /^<!--\s*(.*?)\s*-->$/.exec(line);
    if (m) {
      marker = m[1]!;
      continue;
    }
    const fence = /^```(\w*)$/.exec(line);
    if (fence) {
      const start = i;
      const body: string[] = [];
      while (++i < LINES.length && LINES[i] !== "```") body.push(LINES[i]!);
      out.push({ marker, lang: fence[1]!, body: `${body.join("\n")}\n`, line: start + 1 });
      marker = "";
      continue;
    }
    if (line.trim() !== "") marker = "";
  }
  return out;
}

const BLOCKS = blocks();
const FILES = BLOCKS.flatMap((b) => {
  const m = /^file:\s*([^\s,]+)(?:,\s*as\s+(\S+))?$/.exec(b.marker);
  return m ? [{ name: m[1]!, same: m[2], block: b }] : [];
});
const RUNS = BLOCKS.flatMap((b) => {
  const m = /^run(?::\s*exit\s+(\d+))?$/.exec(b.marker);
  return m ? [{ exit: Number(m[1] ?? 0), block: b }] : [];
});

function capture(): Io & { lines: string[] } {
  const lines: string[] = [];
  const push = (t: string): void => {
    lines.push(...t.split("\n"));
  };
  return { lines, out: push, err: push, tty: false };
}

async function run(argv: readonly string[]): Promise<{ status: number; lines: string[] }> {
  const io = capture();
  const status = await main(argv, io);
  return { status, lines: io.lines };
}

/** A directory set up as the guide's: package.json of an ES module package, smmu-emu installed (a link to this checkout). */
function project(files: Record<string, string> = {}): string {
  const d = mkdtempSync(join(tmpdir(), "smmu-guide-"));
  mkdirSync(join(d, "node_modules"));
  symlinkSync(ROOT, join(d, "node_modules", "smmu-emu"), "dir");
  writeFileSync(join(d, "package.json"), `{ "type": "module" }\n`);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

/** `expected` lines against `actual`: equal, a `...` line matching any number of lines. */
function matches(expected: readonly string[], actual: readonly string[]): boolean {
  const [head, ...rest] = expected;
  if (head === undefined) return actual.length === 0;
  if (head === "...") return actual.some((_, i) => matches(rest, actual.slice(i))) || matches(rest, []);
  return actual[0] === head && matches(rest, actual.slice(1));
}

/** Arguments of a `$ npx smmu-emu ...` line, with "double quotes" grouping. */
function argv(command: string): string[] {
  const m = /^\$ npx smmu-emu (.*)$/.exec(command);
  if (!m) throw new Error(`a run block starts with "$ npx smmu-emu ...", not ${JSON.stringify(command)}`);
  return [...m[1]!.matchAll(/"([^"]*)"|(\S+)/g)].map((a) => a[1] ?? a[2]!);
}

describe("docs/plugins.md", () => {
  test("marks every block it means as code: ts, smmu, json and console blocks are files or runs", () => {
    const unmarked = BLOCKS.filter((b) => ["ts", "smmu", "json", "console"].includes(b.lang) && !/^(file|run)\b/.test(b.marker));
    expect(unmarked.map((b) => `line ${b.line}: \`\`\`${b.lang}`)).toEqual([]);
    expect(RUNS.every((r) => r.block.lang === "console")).toBe(true);
    expect(FILES.length).toBeGreaterThanOrEqual(6);
    expect(RUNS.length).toBeGreaterThanOrEqual(4);
    const names = FILES.map((f) => f.name);
    expect(names, "each file name once").toEqual([...new Set(names)]);
  });

  test("shows the walkthrough's plugin as it is in examples/", () => {
    const same = FILES.filter((f) => f.same);
    expect(same.map((f) => f.same)).toContain("examples/plugins/narrow-atc.ts");
    for (const f of same) expect(f.block.body, `${f.name} (line ${f.block.line}) differs from ${f.same}`).toBe(readFileSync(join(ROOT, f.same!), "utf8"));
  });

  describe("runs as it says", () => {
    let dir = "";
    let cwd = "";
    beforeAll(() => {
      dir = project();
      for (const f of FILES) writeFileSync(join(dir, f.name), f.block.body);
      cwd = process.cwd();
      process.chdir(dir);
    });
    afterAll(() => process.chdir(cwd));

    test.each(RUNS.map((r) => [`line ${r.block.line}: ${r.block.body.split("\n")[0]!}`, r] as const))("%s", async (_name, r) => {
      const [command, ...expected] = r.block.body.trimEnd().split("\n");
      const got = await run(argv(command!));
      if (!matches(expected, got.lines)) expect(got.lines.join("\n")).toBe(expected.join("\n"));
      expect(got.status, got.lines.join("\n")).toBe(r.exit);
    });

    test("its TypeScript, and examples/plugins/*.ts, type-check against the API (strict, NodeNext)", () => {
      const examples = readdirSync(join(ROOT, "examples/plugins"))
        .filter((f) => f.endsWith(".ts"))
        .map((f) => join(ROOT, "examples/plugins", f));
      const guide = FILES.filter((f) => f.name.endsWith(".ts")).map((f) => join(realpathSync(dir), f.name));
      const program = ts.createProgram([...guide, ...examples], {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      });
      const problems = ts.getPreEmitDiagnostics(program).map((d) => {
        const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
        return `${d.file?.fileName ?? ""}${where ? `:${where.line + 1}:${where.character + 1}` : ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
      expect(problems).toEqual([]);
    });
  });

  test("lists exactly the events of src/model/events.ts, with their payloads and replies", () => {
    const start = LINES.findIndex((l) => /^<!--\s*events:/.test(l));
    const end = LINES.findIndex((l, i) => i > start && /^<!--\s*\/events\s*-->$/.test(l));
    expect(start, "an <!-- events: --> marker").toBeGreaterThan(0);
    const rows = LINES.slice(start + 1, end)
      .filter((l) => l.startsWith("|"))
      .slice(2)
      .map((l) => cells(l).slice(0, 4).join(" | "));
    const want = eventRows().map((r) => [codeCell(r.name), r.sentAs, codeCell(r.payload), codeCell(r.reply)].join(" | "));
    expect(rows).toEqual(want);
  });

  test("quotes the messages a plugin that goes wrong gets, each reproduced", async () => {
    const start = LINES.findIndex((l) => /^<!--\s*messages\s*-->$/.test(l));
    const end = LINES.findIndex((l, i) => i > start && /^<!--\s*\/messages\s*-->$/.test(l));
    expect(start, "a <!-- messages --> marker").toBeGreaterThan(0);
    const rows = LINES.slice(start + 1, end)
      .filter((l) => l.startsWith("|"))
      .slice(2)
      .map((l) => cells(l));
    expect(rows.map((r) => r[0]).sort()).toEqual(Object.keys(REPRODUCERS).sort());
    for (const [what, message] of rows) {
      const code = /^`(.*)`$/.exec(message!);
      expect(code, `the message of "${what}" is one code span`).not.toBeNull();
      const text = code![1]!.replace(/\\\|/g, "|");
      const pattern = new RegExp(`(^|: )${text.split("…").map(escapeRegExp).join(".*")}$`);
      const r = await REPRODUCERS[what!]!();
      expect(r.lines.some((l) => pattern.test(l)), `"${what}": no line ends with\n  ${text}\ngot:\n  ${r.lines.join("\n  ")}`).toBe(true);
    }
  });
});

/** A table row's cells, split on unescaped pipes. */
function cells(row: string): string[] {
  return row
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---------------------------------------------------------------------------
// The error table's rows, each reproduced: a small broken plugin and the
// command that shows its message. The exit status is what the guide says:
// 2 for a plugin that does not load or set up, 1 for one that fails a run.

const TOPO = `smmu smmu0 { features: ats; }
device dev0 { smmu: smmu0; sids: 0x10; ats: true; }
domain d1 { stage: s1; }
`;

/** A module exporting this object literal, no imports. */
const mod = (body: string): string => `export default ${body};\n`;

/** A device plugin extending pcie-ats with this setup. */
const device = (name: string, setup: string, extra = `extends: "pcie-ats", `): string =>
  mod(`{ name: "${name}", kind: "device", version: "1", apiVersions: [1], ${extra}description: "", schema: { type: "object" }, setup: ${setup} }`);

const SCENARIO = `scenario "s" {
  attach dev0 d1;
  map d1 0x10000 size 4K;
  dma dev0 read 0x10000;
  unmap d1 0x10000 size 4K;
  expect no stale;
}
`;

/** Check (or run) t.smmu, which `use`s ./NAME and whose dev0 is modelled by `plugin`. */
async function broken(cmd: "check" | "run", exit: number, files: Record<string, string>, plugin?: string, scenario = SCENARIO): Promise<{ lines: string[] }> {
  const topo = plugin ? TOPO.replace("ats: true; }", `ats: true; plugin: "${plugin}"; }`) : TOPO;
  const uses = Object.keys(files)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => `use "./${f}";\n`)
    .join("");
  const d = project({ ...files, "t.smmu": files["t.smmu"] ?? `${uses}${topo}${cmd === "run" ? scenario : ""}` });
  const r = await run([cmd, join(d, "t.smmu")]);
  expect(r.status, r.lines.join("\n")).toBe(exit);
  return r;
}

const NARROW = readFileSync(join(ROOT, "examples/plugins/narrow-atc.ts"), "utf8");

const REPRODUCERS: Record<string, () => Promise<{ lines: string[] }>> = {
  "the module throws while it is imported": () => broken("check", 2, { "boom.ts": `throw new Error("boom at import");\n` }),
  "the file is not there": () => broken("check", 2, { "t.smmu": `use "./missing.ts";\n${TOPO}` }),
  "`definePlugin` gets a bad name": () =>
    broken("check", 2, {
      "caps.ts": `import { definePlugin } from "smmu-emu";\nexport default definePlugin({ name: "Narrow_ATC", kind: "device", version: "1", apiVersions: [1], description: "", schema: {}, setup: (ctx, base) => base });\n`,
    }),
  "the default export is not a plugin": () => broken("check", 2, { "named.ts": `export const narrow = { name: "narrow" };\n` }),
  "a field is wrong": () => broken("check", 2, { "np.ts": mod(`{ name: "np", kind: "gpu" }`) }),
  "it supports another API version": () =>
    broken("check", 2, { "old.ts": mod(`{ name: "old-smmu", kind: "smmu", version: "0.1.0", apiVersions: [0], description: "", schema: {}, setup() {} }`) }),
  "its schema does not compile": () =>
    broken("check", 2, { "bad.ts": mod(`{ name: "bad-schema", kind: "device", version: "1", apiVersions: [1], description: "", schema: { type: "thing" }, setup() {} }`) }),
  "its schema is not strict": () =>
    broken("check", 2, {
      "loose.ts": mod(
        `{ name: "loose", kind: "device", version: "1", apiVersions: [1], extends: "pcie-ats", description: "", schema: { properties: { props: { type: "object" } } }, setup: (ctx, base) => base }`,
      ),
    }),
  "it extends what is not loaded": () =>
    broken("check", 2, { "x.ts": mod(`{ name: "x", kind: "device", version: "1", apiVersions: [1], extends: "pcie-atx", description: "", schema: {}, setup() {} }`) }),
  "its name is taken": () =>
    broken("check", 2, { "dup.ts": mod(`{ name: "pcie-ats", kind: "device", version: "1", apiVersions: [1], description: "", schema: {}, setup() {} }`) }),
  "a node names a plugin nobody loaded": () => broken("check", 2, { "narrow-atc.ts": NARROW }, "narrow-atx"),
  "a property its schema rejects": () =>
    broken("check", 2, { "narrow-atc.ts": NARROW, "t.smmu": `use "./narrow-atc.ts";\n${TOPO.replace("ats: true; }", `ats: true; plugin: "narrow-atc"; max_size: 52; }`)}` }),
  "`setup` throws": () => broken("run", 2, { "s.ts": device("setup-throws", `() => { throw new Error("no hardware"); }`) }, "setup-throws"),
  "it intercepts what nothing serves (no `extends`)": () =>
    broken("run", 2, { "f.ts": device("forgot-extends", `(ctx, base) => { ctx.intercept("ep:atc-inv", ctx.node, (req, next) => next(req)); return base; }`, "") }, "forgot-extends"),
  "it serves what its base serves": () =>
    broken("run", 2, { "s2.ts": device("serves-twice", `(ctx, base) => { ctx.serve("ep:dma", ctx.node, () => ({ result: { kind: "abort", detail: "" } })); return base; }`) }, "serves-twice"),
  "a handler throws": () =>
    broken("run", 1, { "throws.ts": device("throws", `(ctx, base) => { ctx.intercept("ep:atc-inv", ctx.node, () => { throw new Error("ATC on fire"); }); return base; }`) }, "throws"),
  "a reply is malformed": () =>
    broken("run", 1, { "malformed.ts": device("malformed", `(ctx, base) => { ctx.intercept("ep:atc-inv", ctx.node, () => ({ completed: "yes" })); return base; }`) }, "malformed"),
  "a request is malformed": () =>
    broken(
      "run",
      1,
      {
        "asks.ts": device(
          "asks-badly",
          `(ctx, base) => { ctx.intercept("ep:dma", ctx.node, (req, next) => { ctx.request("smmu:translate", ctx.spec.smmu, { sid: 0x10, iova: req.iova, access: req.access, ats: false }); return next(req); }); return base; }`,
        ),
      },
      "asks-badly",
    ),
  "the request it passes to `next` is malformed": () =>
    broken("run", 1, { "next.ts": device("passes-badly", `(ctx, base) => { ctx.intercept("ep:atc-inv", ctx.node, (req, next) => next({ ...req, size: "1" })); return base; }`) }, "passes-badly"),
  "a notification is malformed": () =>
    broken("run", 1, { "noisy.ts": device("noisy", `(ctx, base) => { ctx.on("ep:ats", () => ctx.emit("dma:served", { device: 1 })); return base; }`) }, "noisy"),
  "`expect state` reads a key nobody set": () => broken("run", 1, {}, undefined, `scenario "s" {\n  expect state dev0 hits 1;\n}\n`),
};

/* the guide's directory layout is the one `npm install /path/to/smmu-emu` makes */
test("the guide's project directory resolves smmu-emu to this checkout", () => {
  const d = project();
  expect(realpathSync(join(d, "node_modules/smmu-emu"))).toBe(realpathSync(dirname(GUIDE) + "/.."));
});
