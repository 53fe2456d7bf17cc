/**
 * Topology problems in the words of the file they came from: a .smmu file
 * writes `pasid_bits: 20;` and `page_size: 16K;`, a JSON topology
 * `"pasidBits": 20` and `"pageSize": 16384`. Messages name properties and
 * show values the way the user wrote them.
 */
import { KEYS, writtenName } from "../model/properties.js";
import { NODE_KINDS, type NodeKind } from "../model/topology.js";

export type Syntax = "json" | "smmu";

const KIND_OF_LIST: ReadonlyMap<string, NodeKind> = new Map(Object.entries(NODE_KINDS).map(([kind, { list }]) => [list, kind as NodeKind]));

/** JSON properties whose values are byte sizes (a .smmu file writes them as 4K, 16K, 2M). */
const SIZES = new Set(Object.values(KEYS).flatMap((keys) => Object.entries(keys).filter(([w]) => w === "page_size").map(([, [json]]) => json)));

function unescapePointerToken(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** `n` as a .smmu file would write it: 4K, 16K, 2M, 1G when it is a whole number of those. */
function sizeText(n: number): string {
  for (const [unit, bytes] of [["G", 2 ** 30], ["M", 2 ** 20], ["K", 2 ** 10]] as const) {
    if (n >= bytes && n % bytes === 0) return `${n / bytes}${unit}`;
  }
  return String(n);
}

/** A value as it would appear in JSON, shortened. */
export function show(v: unknown): string {
  const s = v === undefined ? "undefined" : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

export class Words {
  constructor(readonly syntax: Syntax) {}

  /** The property `json` of a `kind` block: `"pasidBits"`, or `"pasid_bits"` in a .smmu file. */
  prop(kind: NodeKind, json: string): string {
    return `"${this.syntax === "smmu" ? writtenName(kind, json) : json}"`;
  }

  /** A property set to a value: `"nestParent": true`, or `nest_parent: true;`. */
  setting(kind: NodeKind, json: string, value: string): string {
    return this.syntax === "smmu" ? `${writtenName(kind, json)}: ${value};` : `"${json}": ${value}`;
  }

  /** What a JSON Pointer names: `"pasidBits"` (`"pasid_bits"` in a .smmu file), `sids[0]`, `devices[1]`, or the topology itself. */
  subject(pointer: string): string {
    if (pointer === "") return "the topology";
    const tokens = pointer.slice(1).split("/").map(unescapePointerToken);
    const last = tokens[tokens.length - 1] ?? "";
    if (/^(0|[1-9][0-9]*)$/.test(last)) {
      const owner = tokens[tokens.length - 2];
      if (owner === undefined || /^[0-9]+$/.test(owner)) return `item ${last}`;
      return `${this.named(tokens.slice(0, -1), owner)}[${last}]`;
    }
    return `"${this.named(tokens, last)}"`;
  }

  /** The value at `pointer` as the user wrote it: sizes with their unit in a .smmu file. */
  value(pointer: string, v: unknown): string {
    const prop = pointer.slice(pointer.lastIndexOf("/") + 1);
    if (this.syntax === "smmu" && typeof v === "number" && SIZES.has(prop)) return sizeText(v);
    return show(v);
  }

  /** The name of property `token` at `path` (its tokens, ending with it) in this syntax, unquoted. */
  private named(path: readonly string[], token: string): string {
    const kind = KIND_OF_LIST.get(path[0] ?? "");
    /* a node's own property (not a plugin's props/options, which are written as they are named) */
    return this.syntax === "smmu" && kind !== undefined && path.length === 3 ? writtenName(kind, token) : token;
  }
}
