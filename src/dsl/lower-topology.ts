/**
 * Lowering the topology half of a file: smmu / device / vsmmu / domain blocks
 * into the Topology JSON form, recording where each piece was written (by
 * JSON Pointer) so schema diagnostics can point back into the .smmu text.
 */
import type { IToken } from "chevrotain";
import type { Span } from "../core/diagnostics.js";
import { NODE_KINDS, type DeviceSpec, type DomainSpec, type JsonValue, type NodeKind, type SmmuSpec, type Topology, type VsmmuSpec } from "../model/topology.js";
import { didYouMean } from "../core/suggest.js";
import { KEYS, type ValueKind } from "../model/properties.js";
import { stringValue, type LowerBase } from "./lower-core.js";
import { isString, type Name, type Property, type Value } from "./syntax.js";

/** `obj[key] = value` as an own property, whatever the key ("__proto__" too). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export class TopologyBuilder {
  readonly topology: Topology = { smmus: [], devices: [], vsmmus: [], domains: [] };
  readonly locations = new Map<string, Span>();

  constructor(private readonly lo: LowerBase) {}

  /** One smmu / device / vsmmu / domain block. */
  node(kindTok: IToken, nameNode: Name, properties: readonly Property[]): void {
    const kind = kindTok.image as NodeKind;
    const name = this.lo.nameText(nameNode);
    if (name === undefined) return;
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
      return;
    }
    const [json, type] = keys[key.image]!;
    const at = `${ptr}/${json}`;
    this.locations.set(at, this.lo.spanOf(values[0]!));
    const many = type === "symbols" || type === "ints";
    if (!many && values.length > 1) {
      this.lo.error(values[1]!, "type", `"${key.image}" takes one value`);
      return;
    }
    const out: JsonValue[] = [];
    values.forEach((v, i) => {
      this.locations.set(`${at}/${i}`, this.lo.spanOf(v));
      const x = this.typed(v, type, key.image);
      if (x !== undefined) out.push(x);
    });
    if (out.length !== values.length) return;
    node[json] = many ? out : out[0];
  }

  /** A value of a known property, read as its type says. */
  private typed(v: Value, type: ValueKind, key: string): JsonValue | undefined {
    if (type === "string") return isString(v) ? stringValue(v) : this.lo.error(v, "type", `"${key}" takes a string, e.g. "${key === "plugin" ? "smmu-v3" : "..."}"`);
    if (isString(v)) return this.lo.error(v, "type", `"${key}" does not take a string`);
    if (type === "int" || type === "ints") return this.lo.int(v, key === "sids" ? "StreamID" : key, 0n);
    const name = this.lo.asName(v);
    if (!name) return this.lo.error(v, "type", type === "bool" ? `"${key}" takes true or false` : `"${key}" takes a name, not an expression`);
    const text = this.lo.nameText(name);
    if (text === undefined) return undefined;
    if (type === "bool") {
      if (text === "true" || text === "false") return text === "true";
      return this.lo.error(v, "type", `"${key}" takes true or false, not "${text}"`);
    }
    return text;
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
