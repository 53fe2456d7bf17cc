/**
 * The DOT writer: quoting and escaping of any string, attribute names
 * checked, statements in model order; what it writes parses back (through
 * ts-graphviz's DOT parser) to the same IDs and values.
 */
import { parse } from "@ts-graphviz/ast";
import { describe, expect, test } from "vitest";
import { dotQuote, renderDot, type DotGraph } from "../../src/report/dot.js";

describe("dotQuote", () => {
  test.each([
    ["plain", String.raw`"plain"`],
    ["", String.raw`""`],
    ['say "hi"', String.raw`"say \"hi\""`],
    [String.raw`back\slash`, String.raw`"back\\slash"`],
    ["ends in \\", String.raw`"ends in \\"`],
    [String.raw`\N \G \l`, String.raw`"\\N \\G \\l"`],
    ["two\nlines", String.raw`"two\nlines"`],
    ["crlf\r\nand\rcr", String.raw`"crlf\nand\ncr"`],
    ["node", String.raw`"node"`],
    ["a:b", String.raw`"a:b"`],
    ["<b>html</b>", String.raw`"<b>html</b>"`],
  ])("%j -> %s", (s, quoted) => {
    expect(dotQuote(s)).toBe(quoted);
  });
});

describe("renderDot", () => {
  const g: DotGraph = {
    id: 'a "graph"',
    graph: { label: "title\nsecond line", rankdir: "LR" },
    node: { shape: "box" },
    subgraphs: [{ id: "cluster_x", attrs: { label: "" }, nodes: [{ id: "n\\1", attrs: { label: 'end\\' } }] }],
    nodes: [{ id: "edge" }, { id: "n:2", attrs: { label: "<not html>" } }],
    edges: [
      { from: "n\\1", to: "n:2", attrs: { label: '"q"' } },
      { from: "n:2", to: "edge" },
    ],
  };

  test("one statement a line, in the model's order, every ID and value quoted", () => {
    expect(renderDot(g)).toBe(
      [
        String.raw`digraph "a \"graph\"" {`,
        String.raw`  graph [label="title\nsecond line", rankdir="LR"];`,
        String.raw`  node [shape="box"];`,
        String.raw`  subgraph "cluster_x" {`,
        String.raw`    graph [label=""];`,
        String.raw`    "n\\1" [label="end\\"];`,
        String.raw`  }`,
        String.raw`  "edge";`,
        String.raw`  "n:2" [label="<not html>"];`,
        String.raw`  "n\\1" -> "n:2" [label="\"q\""];`,
        String.raw`  "n:2" -> "edge";`,
        "}",
        "",
      ].join("\n"),
    );
  });

  test("a DOT parser reads back the same IDs, and values unescaped of their quotes", () => {
    const ast = parse(renderDot(g));
    const graph = ast.children[0]!;
    expect(graph.type).toBe("Graph");
    if (graph.type !== "Graph") return;
    expect(graph.id?.value).toBe('a "graph"');
    const edges = graph.children.flatMap((c) => (c.type === "Edge" ? [c.targets.map((t) => (t.type === "NodeRef" ? t.id.value : ""))] : []));
    /* the backslash stays doubled in an ID, as Graphviz keeps it: the same on both ends of the edge */
    expect(edges).toEqual([
      ["n\\\\1", "n:2"],
      ["n:2", "edge"],
    ]);
  });

  test("an attribute name that is not a plain identifier, or is a keyword, is a bug: it throws", () => {
    expect(() => renderDot({ id: "g", nodes: [{ id: "a", attrs: { "bad name": "x" } }] })).toThrow('not a DOT attribute name: "bad name"');
    expect(() => renderDot({ id: "g", graph: { Node: "x" } })).toThrow("not a DOT attribute name");
  });

  test("empty attribute lists are left out", () => {
    expect(renderDot({ id: "g", graph: {}, subgraphs: [{ id: "s", attrs: {}, nodes: [] }], nodes: [{ id: "a", attrs: {} }] })).toBe(
      'digraph "g" {\n  subgraph "s" {\n  }\n  "a";\n}\n',
    );
  });
});
