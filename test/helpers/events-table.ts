/**
 * The bus's events as docs/plugins.md tabulates them, read from
 * src/model/events.ts with the TypeScript parser: every request and
 * notification, its payload and its reply, with the interfaces that file
 * declares spelt out field by field. The guide's test compares its table with
 * these rows; `npx tsx test/helpers/events-table.ts` prints them.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const EVENTS_FILE = fileURLToPath(new URL("../../src/model/events.ts", import.meta.url));

export interface EventRow {
  name: string;
  /** "request" (addressed to one node, answered) or "notification" (broadcast). */
  sentAs: "request" | "notification";
  payload: string;
  /** "—" for a notification. */
  reply: string;
}

/** The rows, requests first, each group in declaration order. */
export function eventRows(text: string = readFileSync(EVENTS_FILE, "utf8")): EventRow[] {
  const sf = ts.createSourceFile(EVENTS_FILE, text, ts.ScriptTarget.Latest, true);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  sf.forEachChild((n) => {
    if (ts.isInterfaceDeclaration(n)) interfaces.set(n.name.text, n);
  });
  const members = (name: string): ts.PropertySignature[] => {
    const decl = interfaces.get(name);
    if (!decl) throw new Error(`${EVENTS_FILE} declares no interface ${name}`);
    return decl.members.filter(ts.isPropertySignature);
  };
  const key = (m: ts.PropertySignature): string => (ts.isStringLiteral(m.name) ? m.name.text : m.name.getText(sf));
  const fields = (ms: readonly ts.TypeElement[]): string =>
    `{ ${ms
      .filter(ts.isPropertySignature)
      .map((m) => `${key(m)}${m.questionToken ? "?" : ""}: ${render(m.type!)}`)
      .join("; ")} }`;
  const render = (t: ts.TypeNode): string => {
    if (ts.isTypeLiteralNode(t)) return fields(t.members);
    if (ts.isTypeReferenceNode(t) && ts.isIdentifier(t.typeName)) {
      const local = interfaces.get(t.typeName.text);
      if (local) return fields(local.members);
      if (t.typeName.text === "Record" && t.typeArguments?.[1]?.kind === ts.SyntaxKind.NeverKeyword) return "{}";
    }
    return t.getText(sf).replace(/\s+/g, " ");
  };
  const rows: EventRow[] = [];
  for (const m of members("BusRequests")) {
    const tuple = m.type;
    if (!tuple || !ts.isTupleTypeNode(tuple) || tuple.elements.length !== 2) throw new Error(`request ${key(m)} is not [request, reply]`);
    const [req, reply] = tuple.elements.map((e) => (ts.isNamedTupleMember(e) ? e.type : e)) as [ts.TypeNode, ts.TypeNode];
    rows.push({ name: key(m), sentAs: "request", payload: render(req), reply: render(reply) });
  }
  for (const m of members("BusNotifications")) rows.push({ name: key(m), sentAs: "notification", payload: render(m.type!), reply: "—" });
  return rows;
}

/** A cell's text as a Markdown table holds it: a code span, its pipes escaped. */
export function codeCell(text: string): string {
  return text === "—" ? text : `\`${text.replace(/\|/g, "\\|")}\``;
}

/* `npx tsx test/helpers/events-table.ts`: the rows, ready to paste (the last column is for people to write) */
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of eventRows()) console.log(`| ${codeCell(r.name)} | ${r.sentAs} | ${codeCell(r.payload)} | ${codeCell(r.reply)} | |`);
}
