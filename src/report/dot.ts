/**
 * Graphviz DOT: a small model of a directed graph (attributes, clusters,
 * nodes, edges) and its text. Every ID and every attribute value is written
 * as a quoted string, escaped, so no name, path or scenario title can break
 * the syntax or read as a keyword, a port or an HTML label. Statements come
 * out in the order the model holds them: the same model, the same bytes.
 */

/** Attribute name to value, written in insertion order. */
export type DotAttrs = Readonly<Record<string, string>>;

export interface DotNode {
  id: string;
  attrs?: DotAttrs;
}

export interface DotEdge {
  from: string;
  to: string;
  attrs?: DotAttrs;
}

/** A subgraph; Graphviz draws it as a box when its id starts with "cluster". */
interface DotSubgraph {
  id: string;
  attrs?: DotAttrs;
  nodes: readonly DotNode[];
}

export interface DotGraph {
  id: string;
  /** graph [...], node [...], edge [...] defaults */
  graph?: DotAttrs;
  node?: DotAttrs;
  edge?: DotAttrs;
  subgraphs?: readonly DotSubgraph[];
  nodes?: readonly DotNode[];
  edges?: readonly DotEdge[];
}

const INDENT = "  ";

/**
 * `s` as a DOT quoted string. In DOT only \" is an escape inside quotes; in
 * a label Graphviz then reads \\ as a backslash and \n as a line break (and
 * \N, \G, \l, ... as specials). So: backslash doubled (a label shows it as
 * written, and an ID never ends in a lone backslash that would swallow the
 * closing quote), quote escaped, every line break written as \n.
 */
export function dotQuote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r\n|\r|\n/g, "\\n")}"`;
}

/** Attribute names are ours (label, shape, ...): plain DOT identifiers, never keywords. */
function attrName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /^(node|edge|graph|digraph|subgraph|strict)$/i.test(name)) {
    throw new Error(`not a DOT attribute name: ${JSON.stringify(name)}`);
  }
  return name;
}

function attrList(attrs: DotAttrs | undefined): string {
  const entries = Object.entries(attrs ?? {});
  return entries.length ? ` [${entries.map(([k, v]) => `${attrName(k)}=${dotQuote(v)}`).join(", ")}]` : "";
}

function nodeLine(n: DotNode, indent: string): string {
  return `${indent}${dotQuote(n.id)}${attrList(n.attrs)};`;
}

/** The graph as DOT text, one statement a line, ending with a newline. */
export function renderDot(g: DotGraph): string {
  const out = [`digraph ${dotQuote(g.id)} {`];
  for (const kind of ["graph", "node", "edge"] as const) {
    if (g[kind] && Object.keys(g[kind]).length) out.push(`${INDENT}${kind}${attrList(g[kind])};`);
  }
  for (const s of g.subgraphs ?? []) {
    out.push(`${INDENT}subgraph ${dotQuote(s.id)} {`);
    if (s.attrs && Object.keys(s.attrs).length) out.push(`${INDENT}${INDENT}graph${attrList(s.attrs)};`);
    for (const n of s.nodes) out.push(nodeLine(n, INDENT + INDENT));
    out.push(`${INDENT}}`);
  }
  for (const n of g.nodes ?? []) out.push(nodeLine(n, INDENT));
  for (const e of g.edges ?? []) out.push(`${INDENT}${dotQuote(e.from)} -> ${dotQuote(e.to)}${attrList(e.attrs)};`);
  out.push("}");
  return `${out.join("\n")}\n`;
}
