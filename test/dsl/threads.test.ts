/**
 * Litmus threads in the language: `thread { ... }` inside `concurrently`,
 * its memory operations lowered to the kernel's primitives on shared
 * variables, and `expect` conditions over the registers the threads load
 * into. Every mistake is a diagnostic at its position.
 */
import { describe, expect, test } from "vitest";
import { formatDiagnostic, InputError } from "../../src/core/diagnostics.js";
import type { Stmt } from "../../src/dsl/ast.js";
import { compileSmmu } from "../../src/dsl/compile.js";

function diags(text: string): string[] {
  try {
    compileSmmu(text, "t.smmu");
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics.map(formatDiagnostic);
    throw err;
  }
  return [];
}

/** A scenario body; its lines start at line 2. */
const scenario = (body: string): string => `scenario "s" {\n${body}\n}\n`;

/** A block of threads (one per line, from line 3), then `after` (from the line after the block's '}'). */
const threads = (ts: string[], after = ""): string => scenario(`  concurrently {\n${ts.map((t) => `    thread { ${t} }`).join("\n")}\n  }\n${after}`);

const body = (text: string): Stmt[] => compileSmmu(text, "t.smmu").scenarios[0]!.body;

/** The statements of a `concurrently` block. */
function inner(s: Stmt | undefined): Stmt[] {
  if (s?.kind !== "concurrently") throw new Error(`not a concurrently block: ${s?.kind}`);
  return s.body;
}

/** Spans dropped, so that the structure reads. */
const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === "span" ? undefined : v)));

describe("lowering", () => {
  test("every primitive, on shared variables, with registers", () => {
    const [block] = body(threads(["WRITE_ONCE(x, 1); smp_wmb(); smp_store_release(flag, -2);", "r0 = smp_load_acquire(flag); smp_rmb(); r1 = READ_ONCE(x); smp_mb();"]));
    expect(strip(block)).toEqual({
      kind: "concurrently",
      body: [
        {
          kind: "thread",
          ops: [
            { op: "WRITE_ONCE", var: "x", value: 1 },
            { op: "smp_wmb" },
            { op: "smp_store_release", var: "flag", value: -2 },
          ],
        },
        {
          kind: "thread",
          ops: [
            { op: "smp_load_acquire", var: "flag", reg: "r0" },
            { op: "smp_rmb" },
            { op: "READ_ONCE", var: "x", reg: "r1" },
            { op: "smp_mb" },
          ],
        },
      ],
    });
  });

  test("each operation keeps its span; a thread beside other operations", () => {
    const text = `smmu smmu0 { }\ndevice gpu0 { smmu: smmu0; sids: 1; }\ndomain d1 { stage: s1; }\n${threads(["WRITE_ONCE(x, 1);"])}`.replace("concurrently {\n", "concurrently {\n    attach gpu0 d1;\n");
    const [block] = body(text);
    expect(inner(block).map((s) => [s.kind, s.span.line, s.span.column])).toEqual([
      ["attach", 6, 5],
      ["thread", 7, 5],
    ]);
    const thread = inner(block)[1];
    expect(thread?.kind === "thread" && thread.ops[0]!.span).toEqual({ file: "t.smmu", line: 7, column: 14, endLine: 7, endColumn: 31 });
  });

  test("values and comparisons take params and expressions; not, and, or with C's precedence; `not`s collapse", () => {
    const text = `param V = 3;\n${threads(["WRITE_ONCE(x, V * 2); r0 = READ_ONCE(x);"], "  expect r0 == V or not r0 != -1 and (r0 == 0 or 6 == r0);\n  expect not not r0 == 6;")}`;
    const [block, cond, twice] = body(text);
    expect(strip(inner(block)[0])).toEqual({
      kind: "thread",
      ops: [
        { op: "WRITE_ONCE", var: "x", value: 6 },
        { op: "READ_ONCE", var: "x", reg: "r0" },
      ],
    });
    const cmp = (l: object, op: string, r: object): object => ({ kind: "cmp", op, left: l, right: r });
    expect(strip(cond)).toEqual({
      kind: "expect-cond",
      cond: {
        kind: "or",
        operands: [
          cmp({ reg: "r0" }, "==", { value: 3 }),
          {
            kind: "and",
            operands: [
              { kind: "not", cond: cmp({ reg: "r0" }, "!=", { value: -1 }) },
              { kind: "or", operands: [cmp({ reg: "r0" }, "==", { value: 0 }), cmp({ value: 6 }, "==", { reg: "r0" })] },
            ],
          },
        ],
      },
    });
    expect(strip(twice)).toEqual({ kind: "expect-cond", cond: cmp({ reg: "r0" }, "==", { value: 6 }) });
  });

  test("a register may be loaded twice by its own thread, and read by every expect after", () => {
    expect(diags(threads(["r0 = READ_ONCE(x); r0 = READ_ONCE(y);"], "  expect r0 == 0;\n  expect r0 != 1;"))).toEqual([]);
  });

  test("the new words are still names elsewhere: a device called thread, a domain called or", () => {
    const text = `smmu smmu0 { }\ndevice thread { smmu: smmu0; sids: 1; }\ndomain or { stage: s1; }\n${scenario("  attach thread or;")}`;
    expect(strip(body(text))).toEqual([{ kind: "attach", device: "thread", target: "or" }]);
  });
});

describe("mistakes, each at its position", () => {
  test.each([
    ["a thread outside concurrently", scenario("  thread { WRITE_ONCE(x, 1); }"), "t.smmu:2:3: error: a thread runs only inside a concurrently block, beside the other threads"],
    [
      "a memory operation outside a thread",
      scenario("  WRITE_ONCE(x, 1);"),
      "t.smmu:2:3: error: expected a statement (attach, detach, map, unmap, flush, dma, sva, mm, fail, fault, expect, show, array, unref, concurrently, for or driver) or '}' but found 'WRITE_ONCE' (a memory operation goes in a thread { } inside a concurrently block)",
    ],
    [
      "a load outside a thread",
      scenario("  concurrently {\n    r0 = READ_ONCE(x);\n  }"),
      "t.smmu:3:5: error: expected a statement (attach, detach, map, unmap, flush, dma, sva, mm, fail, fault, expect, show, array, unref, concurrently, for or driver) or '}' but found 'r0' (a memory operation goes in a thread { } inside a concurrently block)",
    ],
    [
      "an unknown memory operation",
      threads(["WRITE_ONC(x, 1);"]),
      `t.smmu:3:14: error: unknown memory operation "WRITE_ONC" (did you mean "WRITE_ONCE"?) (a thread has WRITE_ONCE, READ_ONCE, smp_store_release, smp_load_acquire, smp_mb, smp_wmb, smp_rmb)`,
    ],
    ["a register as a shared variable", threads(["WRITE_ONCE(r0, 1);"]), "t.smmu:3:25: error: r0 is a register, not a shared variable"],
    ["a number as a shared variable", threads(["r0 = READ_ONCE(0x10);"]), "t.smmu:3:29: error: READ_ONCE() takes a shared variable's name first, not a number or an expression"],
    ["a load into a name that is no register", threads(["x = READ_ONCE(y);"]), `t.smmu:3:14: error: a load's value goes to a register (r0, r1, ...), not "x"`],
    ["a load whose value goes nowhere", threads(["READ_ONCE(x);"]), "t.smmu:3:14: error: READ_ONCE()'s value goes to a register: r0 = READ_ONCE(...);"],
    ["a store's value put in a register", threads(["r0 = WRITE_ONCE(x, 1);"]), "t.smmu:3:14: error: WRITE_ONCE() returns nothing to put in r0"],
    ["too few arguments", threads(["smp_store_release(flag);"]), "t.smmu:3:14: error: smp_store_release() takes a shared variable and a value, not 1 argument"],
    ["an argument to a barrier", threads(["smp_mb(x);"]), "t.smmu:3:14: error: smp_mb() takes no arguments, not 1 argument"],
    [
      "a plain assignment",
      threads(["x = 1;"]),
      "t.smmu:3:18: error: expected a memory operation (WRITE_ONCE, READ_ONCE, smp_store_release, smp_load_acquire, smp_mb, smp_wmb, smp_rmb) but found '1'",
    ],
    [
      "a statement inside a thread",
      threads(["smp_mb(); fail alloc invs;"]),
      "t.smmu:3:24: error: a thread holds only memory operations (WRITE_ONCE, READ_ONCE, smp_store_release, smp_load_acquire, smp_mb, smp_wmb, smp_rmb)",
    ],
    [
      "something that starts nothing inside a thread",
      threads(["smp_mb(); 42"]),
      "t.smmu:3:24: error: expected a memory operation (WRITE_ONCE, READ_ONCE, smp_store_release, smp_load_acquire, smp_mb, smp_wmb, smp_rmb) or '}' but found '42'",
    ],
    ["a missing ';'", threads(["WRITE_ONCE(x, 1)"]), "t.smmu:3:30: error: expected ';' but found '}'"],
    ["a value wider than a JS number", threads(["WRITE_ONCE(x, 1 << 60);"]), "t.smmu:3:28: error: value 1152921504606846976 is outside -9007199254740991..9007199254740991"],
    [
      "a register written by two threads",
      threads(["r0 = READ_ONCE(x);", "r1 = READ_ONCE(x); r0 = READ_ONCE(y);"]),
      "t.smmu:4:33: error: register r0 is already written by the thread at line 3: each register belongs to one thread",
    ],
    [
      "a register written by threads of two blocks",
      threads(["r0 = READ_ONCE(x);"], "  concurrently {\n    thread { r0 = READ_ONCE(y); }\n  }"),
      "t.smmu:6:14: error: register r0 is already written by the thread at line 3: each register belongs to one thread",
    ],
  ])("%s", (_, text, message) => {
    expect(diags(text)).toEqual([message]);
  });
});

describe("conditions: mistakes, each at its position", () => {
  const after = (cond: string): string => threads(["r0 = READ_ONCE(x);", "r1 = READ_ONCE(y);"], `  expect ${cond};`);
  test.each([
    ["a register no thread writes", after("r2 == 0"), "t.smmu:6:10: error: unknown register r2: no thread before this writes it (did you mean \"r0\"?)"],
    ["a register before the thread that writes it", scenario("  expect r0 == 0;"), "t.smmu:2:10: error: unknown register r0: no thread before this writes it"],
    ["a shared variable", after("x == 1"), `t.smmu:6:10: error: "x" is neither a register (r0, r1, ...) nor a param: a condition compares registers and numbers`],
    ["a register with a sign", after("-r0 == 1"), "t.smmu:6:10: error: -r0: a register is compared as it is, without a sign"],
    [
      "'=' for '=='",
      after("r0 = 1"),
      "t.smmu:6:10: error: expected an expectation (commands, count, invs, array, dma, state, error, no stale, stale or a condition such as r0 == 1) but found 'r0'",
    ],
    ["an operator with nothing after it", after("r0 == 1 or"), "t.smmu:6:20: error: expected a condition (r0 == 1, not, '(') but found ';'"],
    ["a comparison without its operator", after("(r0 1)"), "t.smmu:6:14: error: expected '==' or '!=' but found '1'"],
    ["an unclosed parenthesis", after("(r0 == 1"), "t.smmu:6:18: error: expected ')' but found ';'"],
    ["each bad operand reported", after("r7 == 1 and r8 == 1"), [`t.smmu:6:10: error: unknown register r7: no thread before this writes it (did you mean "r0"?)`, `t.smmu:6:22: error: unknown register r8: no thread before this writes it (did you mean "r0"?)`]],
  ])("%s", (_, text, message) => {
    expect(diags(text)).toEqual(typeof message === "string" ? [message] : message);
  });
});
