/**
 * Lowering the topology half of a file: smmu / device / vsmmu / domain blocks
 * into the Topology JSON form, recording where each piece was written (by
 * JSON Pointer) so schema diagnostics can point back into the .smmu text.
 */
import type { IToken } from "chevrotain";
import type { Diagnostic, Span } from "../core/diagnostics.js";
import { NODE_KINDS, type DeviceSpec, type DomainSpec, type JsonValue, type NodeKind, type SmmuSpec, type Topology, type VsmmuSpec } from "../model/topology.js";
import { didYouMean } from "../core/suggest.js";
import { KEYS, type ValueKind } from "../model/properties.js";
import { isBoolean, stringValue, whatValue, type LowerBase } from "./lower-core.js";
import { isString, type Name, type Property, type Value } from "./syntax.js";

/** `obj[key] = value` as an own property, whatever the key ("__proto__" too). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A topology written as JSON, read and checked on its own (as `validate` checks one), with where each of its values is. */
export interface JsonTopology {
  /** What the file holds, as it is: a topology when `diagnostics` has no error. */
  topology: Topology;
  /** Where the value at a JSON Pointer into `topology` is in its file. */
  locate: (pointer: string) => Span;
  /** Its problems, as `validate` reports them. */
  diagnostics: Diagnostic[];
}

export class TopologyBuilder {
  readonly topology: Topology = { smmus: [], devices: [], vsmmus: [], domains: [] };
  readonly locations = new Map<string, Span>();
  /** Pointers of the properties whose values could not be read (each reported): the schema is not asked about them. */
  readonly unreadable = new Set<string>();

  constructor(private readonly lo: LowerBase) {}

  /** One smmu / device / vsmmu / domain block. */
  node(kindTok: IToken, nameNode: Name, properties: readonly Property[]): void {
    const kind = kindTok.image as NodeKind;
    const name = this.lo.nameText(nameNode);
    if (name === undefined) {
      this.lo.missing = true;
      return;
    }
    const list = this.topology[NODE_KINDS[kind].list] as unknown as Record<string, unknown>[];
    const ptr = `/${NODE_KINDS[kind].list}/${list.length}`;
    const node: Record<string, unknown> = { name };
    this.locations.set(ptr, this.lo.spanOf(nameNode));
    this.locations.set(`${ptr}/name`, this.lo.spanOf(nameNode));
    if (kind === "smmu") node.features = [];

    const seen = new Set<string>();
    for (const prop of properties) {
      const key = prop.key;
      if (seen.has(key.image)) {
        this.lo.error(key, "duplicate", `property "${key.image}" is given twice`);
        continue;
      }
      seen.add(key.image);
      this.property(kind, node, ptr, key, prop.values);
    }
    list.push(node);
  }

  private property(kind: NodeKind, node: Record<string, unknown>, ptr: string, key: IToken, values: readonly Value[]): void {
    const keys = KEYS[kind];
    if (!Object.hasOwn(keys, key.image)) {
      const near = didYouMean(key.image, Object.keys(keys));
      if (kind === "domain" || near !== "") {
        this.lo.error(key, "unknown-property", `unknown ${kind} property "${key.image}"${near}`);
        return;
      }
      /* anything else belongs to the node's plugin, whose schema checks it */
      const props = (node.props ??= {}) as Record<string, JsonValue>;
      this.locations.set(`${ptr}/props/${key.image}`, this.lo.spanOf(key));
      const v = this.lo.looseValues(values);
      if (v !== undefined) setOwn(props, key.image, v);
      else this.unreadable.add(`${ptr}/props/${key.image}`);
      return;
    }
    const [json, type] = keys[key.image]!;
    const at = `${ptr}/${json}`;
    this.locations.set(at, this.lo.spanOf(values[0]!));
    const many = type === "symbols" || type === "ints";
    if (!many && values.length > 1) {
      this.lo.error(values[1]!, "type", `"${key.image}" takes one value`);
      this.unreadable.add(at);
      return;
    }
    const out: JsonValue[] = [];
    values.forEach((v, i) => {
      this.locations.set(`${at}/${i}`, this.lo.spanOf(v));
      const x = this.typed(v, type, key.image);
      if (x !== undefined) out.push(x);
    });
    if (out.length !== values.length) {
      this.unreadable.add(at);
      return;
    }
    node[json] = many ? out : out[0];
  }

  /** A value of a known property, read as its type says; one of another kind is named as what it is ("not the boolean true"). */
  private typed(v: Value, type: ValueKind, key: string): JsonValue | undefined {
    const wrong = (takes: string): undefined => this.lo.error(v, "type", `"${key}" takes ${takes}, not ${whatValue(v)}`);
    if (type === "string") return isString(v) ? stringValue(v) : wrong(`a string in quotes, e.g. "${key === "plugin" ? "smmu-v3" : "..."}"`);
    if (type === "int" || type === "ints") {
      if (isString(v) || (isBoolean(v) && this.lo.lookup(v.image) === undefined)) return wrong("a number");
      return this.lo.int(v, key === "sids" ? "StreamID" : key, 0n);
    }
    if (type === "bool") {
      if (isBoolean(v)) return v.image === "true";
      return wrong("true or false");
    }
    const name = isString(v) ? undefined : this.lo.asName(v);
    if (!name) return wrong("a name");
    return this.lo.nameText(name);
  }

  /**
   * The nodes (and driver) of a topology written as JSON, checked already,
   * after those declared so far: each value keeps where the JSON file has
   * it. `at` is the include, for a second driver.
   */
  merge(json: JsonTopology, at: IToken | Span): void {
    const { topology, locate } = json;
    for (const { list } of Object.values(NODE_KINDS)) {
      const into = (this.topology[list] ??= []) as unknown[];
      const nodes: unknown = topology[list];
      if (!Array.isArray(nodes)) continue;
      nodes.forEach((node: unknown, i) => {
        /* a file with problems (reported) may hold anything: only its named nodes are of use */
        if (node === null || typeof node !== "object" || typeof (node as { name?: unknown }).name !== "string") return;
        this.place(`/${list}/${into.length}`, `/${list}/${i}`, node, locate);
        into.push(node);
      });
    }
    if (!topology.driver) return;
    if (this.topology.driver) {
      this.lo.error(at, "duplicate", "the topology's driver is already chosen by another topology written as JSON");
      return;
    }
    this.place("/driver", "/driver", topology.driver, locate);
    this.topology.driver = topology.driver;
  }

  /** Where `value` (at `from` in its JSON file) and everything in it are, at `to` in this topology. */
  private place(to: string, from: string, value: unknown, locate: JsonTopology["locate"]): void {
    this.locations.set(to, locate(from));
    if (value === null || typeof value !== "object") return;
    for (const [k, v] of Object.entries(value)) {
      const token = k.replace(/~/g, "~0").replace(/\//g, "~1");
      this.place(`${to}/${token}`, `${from}/${token}`, v, locate);
    }
  }

  get smmus(): SmmuSpec[] {
    return this.topology.smmus;
  }
  get devices(): DeviceSpec[] {
    return this.topology.devices;
  }
  get vsmmus(): VsmmuSpec[] {
    return this.topology.vsmmus ?? [];
  }
  get domains(): DomainSpec[] {
    return this.topology.domains;
  }
}
