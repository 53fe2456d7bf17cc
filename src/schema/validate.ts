/**
 * Validating a topology: against schemas/topology.schema.json, against the
 * schema of each node's plugin, and against the rules JSON Schema cannot
 * express (references between nodes, unique names and StreamIDs, what each
 * kind of domain may carry). Every problem becomes a Diagnostic positioned
 * in the user's file through `locate`, worded for people rather than as
 * ajv's raw output.
 */
import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import topologySchema from "../../schemas/topology.schema.json" with { type: "json" };
import { countRepeats, diagnostic, sortDiagnostics, type Diagnostic, type Span } from "../core/diagnostics.js";
import { didYouMean } from "../core/suggest.js";
import { jsonSchemaCompiler } from "../core/json-schema.js";
import { pluginValidator } from "../plugin/schema.js";
import { show, Words, type Syntax } from "./words.js";
import { type Plugin, type PluginKind } from "../plugin/api.js";
import { DOMAIN_STAGES, DRIVER_NODE, NODE_KINDS, type DomainStage, type DriverSpec, type NodeKind } from "../model/topology.js";
import { DEFAULT_PLUGIN, type PluginRegistry } from "../plugin/registry.js";
import { hex } from "../model/hex.js";

/** Which part of an object member a pointer's span should cover: its key or (the default) its value. */
export type PointerPart = "key" | "value";

/**
 * Maps a JSON Pointer into the validated value (as ajv's `instancePath`
 * spells it, e.g. "/devices/1/sids/0") to where it came from. May return
 * undefined; the nearest parent pointer it knows is used instead. Callers
 * that only have value spans can ignore `part`.
 */
export type Locate = (pointer: string, part?: PointerPart) => Span | undefined;

/** The topology schema's $id, a JSON topology's `$schema` (export). */
export const TOPOLOGY_SCHEMA_ID: string = topologySchema.$id;

/** The pattern every node and domain name matches (schemas/topology.schema.json#/$defs/name). */
const NAME_PATTERN: string = topologySchema.$defs.name.pattern;

/** One instance for every schema: strict, so a schema typo is an error, and allErrors, so users see every problem at once. */

let compiledTopology: ValidateFunction | undefined;

/** The compiled topology schema (registered under its $id); compiled on first use, then the same function every time. */
export function topologyValidator(): ValidateFunction {
  return (compiledTopology ??= jsonSchemaCompiler().compile(topologySchema));
}

/** What is wrong with a driver choice: which part (the plugin, its variant, one of its options) and why. */
export interface DriverProblem {
  field: "plugin" | "variant" | "option";
  message: string;
  hint?: string;
  /** the option concerned, when field is "option" */
  option?: string;
}

/** A plugin and the plugins it extends, nearest first. */
function extendsChain(plugin: Plugin, registry: PluginRegistry): Plugin[] {
  const chain = [plugin];
  for (let base = plugin.extends && registry.get(plugin.extends); base; base = base.extends && registry.get(base.extends)) chain.push(base);
  return chain;
}

/** Driver options are written alike on the command line, in a .smmu driver line and in JSON: as named. */
const OPTION_WORDS = new Words("smmu");

/** A driver choice checked before a run: the plugin, its variant, its options against its schemas (and those it extends). */
export function driverProblem(spec: DriverSpec, registry: PluginRegistry): DriverProblem | null {
  const want = spec.plugin ?? DEFAULT_PLUGIN.driver;
  const drivers = registry.list().filter((p) => p.kind === "driver");
  const plugin = drivers.find((p) => p.name === want);
  if (!plugin || plugin.kind !== "driver") {
    const names = drivers.map((p) => p.name);
    return { field: "plugin", message: `no driver plugin "${want}"${didYouMean(want, names)}; loaded: ${names.join(", ")}` };
  }
  if (spec.variant !== undefined && !plugin.variants.includes(spec.variant)) {
    return { field: "variant", message: `${want} has no variant "${spec.variant}"${didYouMean(spec.variant, plugin.variants)}; it has ${plugin.variants.join(", ")}` };
  }
  const node = { ...(spec.variant !== undefined ? { variant: spec.variant } : {}), ...(spec.options ? { options: spec.options } : {}) };
  const chain = extendsChain(plugin, registry);
  const problems: Problem[] = [];
  for (const p of chain) {
    const compiled = pluginValidator(p);
    if (!compiled.ok) return { field: "plugin", message: `plugin "${p.name}" has an invalid schema: ${compiled.error}` };
    if (!compiled.validate(node)) problems.push(...schemaProblems(compiled.validate.errors ?? [], "", OPTION_WORDS));
  }
  problems.push(...undeclared(node, "", "options", chain));
  const first = problems[0];
  if (!first) return null;
  const option = /^\/options\/([^/]+)/.exec(first.pointer)?.[1];
  return { field: "option", message: first.message, ...(first.hint ? { hint: first.hint } : {}), ...(option ? { option } : {}) };
}

/** A problem before it has a position. */
interface Problem {
  pointer: string;
  part: PointerPart;
  code: "schema" | "topology";
  message: string;
  hint?: string;
  /** What the problem is about, when it is not at `pointer`: a missing property's own pointer. */
  about?: string;
}

/**
 * Every problem with `topology`, sorted by position: schema violations
 * (code "schema") and broken cross-references and rules (code "topology").
 * An empty array means the topology can be simulated.
 */
export function validateTopology(topology: unknown, registry: PluginRegistry, locate: Locate, syntax: Syntax = "json", unknown?: (pointer: string) => boolean): Diagnostic[] {
  const w = new Words(syntax);
  const problems: Problem[] = [];
  const validate = topologyValidator();
  if (!validate(topology)) problems.push(...schemaProblems(validate.errors ?? [], "", w));
  problems.push(...pluginProblems(topology, registry, w));
  problems.push(...semanticProblems(topology, locate, w));

  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const p of problems) {
    /* a value the file gave that could not be read (reported already) is neither wrong nor missing here */
    if (unknown && underUnknown(p.about ?? p.pointer, unknown)) continue;
    const key = `${p.code}\0${p.pointer}\0${p.part}\0${p.message}`;
    if (seen.has(key)) continue; // e.g. a plugin schema repeating a constraint of the topology schema
    seen.add(key);
    out.push(diagnostic(spanOf(locate, p.pointer, p.part), p.code, p.message, p.hint));
  }
  /* nodes a .smmu loop made share their position: the same problem in each is one diagnostic, with its count */
  return sortDiagnostics(countRepeats(out));
}

/** Whether `pointer` or one of its parents is `unknown`. */
function underUnknown(pointer: string, unknown: (pointer: string) => boolean): boolean {
  for (let p = pointer; p !== ""; p = parentPointer(p)) if (unknown(p)) return true;
  return false;
}

/** `locate(pointer)`, or of its nearest parent that `locate` knows. */
function spanOf(locate: Locate, pointer: string, part: PointerPart): Span {
  let p = pointer;
  for (;;) {
    const span = locate(p, p === pointer ? part : "value");
    if (span) return span;
    if (p === "") return { file: "<topology>", line: 1, column: 1 };
    p = parentPointer(p);
  }
}

function parentPointer(pointer: string): string {
  const i = pointer.lastIndexOf("/");
  return i <= 0 ? "" : pointer.slice(0, i);
}

/** RFC 6901 escaping of one reference token. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

// ---------------------------------------------------------------------------
// JSON Schema errors, reworded

/** ajv's errors as problems: shadow errors dropped, each at the most precise pointer. */
function schemaProblems(errors: readonly ErrorObject[], base: string, w: Words): Problem[] {
  const kept = errors.filter((e) => {
    if (e.keyword === "if") return false; // always accompanied by the failing then/else
    if (e.keyword === "anyOf" || e.keyword === "oneOf") {
      // A parent whose branches reported their own errors says nothing more.
      return !errors.some((c) => c !== e && c.schemaPath.startsWith(`${e.schemaPath}/`));
    }
    return true;
  });

  // Type errors from several branches at one place merge into "must be X or Y".
  const types = new Map<string, string[]>();
  for (const e of kept) {
    if (e.keyword !== "type") continue;
    const list = types.get(e.instancePath) ?? [];
    for (const t of typeList(e.params.type)) if (!list.includes(t)) list.push(t);
    types.set(e.instancePath, list);
  }

  const out: Problem[] = [];
  for (const e of kept) {
    if (e.keyword === "type") {
      const list = types.get(e.instancePath);
      if (!list) continue; // already reported with an earlier branch
      types.delete(e.instancePath);
      out.push(typeProblem(base + e.instancePath, list, e.data, w));
      continue;
    }
    out.push(schemaProblem(e, base, w));
  }
  return out;
}

function typeList(t: unknown): string[] {
  if (Array.isArray(t)) return t.map(String);
  return typeof t === "string" ? t.split(",") : [];
}

function schemaProblem(e: ErrorObject, base: string, w: Words): Problem {
  const pointer = base + e.instancePath;
  const at = (message: string, hint?: string, p = pointer, part: PointerPart = "value"): Problem => ({
    pointer: p,
    part,
    code: "schema",
    message,
    ...(hint ? { hint } : {}),
  });
  const params = e.params as Record<string, unknown>;
  const subject = w.subject(pointer);
  const value = w.value(pointer, e.data);
  switch (e.keyword) {
    case "required":
      return { ...at(`missing property "${String(params.missingProperty)}"`), about: `${pointer}/${escapePointerToken(String(params.missingProperty))}` };
    case "dependentRequired":
      return at(`missing property "${String(params.missingProperty)}", which "${String(params.property)}" needs`);
    case "additionalProperties":
    case "unevaluatedProperties": {
      const name = String(params.additionalProperty ?? params.unevaluatedProperty);
      const present = isObject(e.data) ? Object.keys(e.data) : [];
      const known = isObject(e.parentSchema) && isObject(e.parentSchema.properties) ? Object.keys(e.parentSchema.properties) : [];
      const candidates = known.filter((k) => !present.includes(k));
      const guess = didYouMean(name, candidates);
      const hint = !guess && known.length > 0 ? `known properties: ${known.join(", ")}` : undefined;
      return at(`unknown property "${name}"${guess}`, hint, `${pointer}/${escapePointerToken(name)}`, "key");
    }
    case "enum": {
      const allowed = Array.isArray(params.allowedValues) ? (params.allowedValues as unknown[]) : [];
      const guess = typeof e.data === "string" ? didYouMean(e.data, allowed.filter((v): v is string => typeof v === "string")) : "";
      return at(`${subject}: ${value} is not one of: ${allowed.map((v) => (typeof v === "number" ? w.value(pointer, v) : listed(v))).join(", ")}${guess}`);
    }
    case "const":
      return at(`${subject} must be ${w.value(pointer, params.allowedValue)}, not ${value}`);
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum": {
      const limit = Number(params.limit);
      const wide = Math.abs(limit) >= 0x10000;
      const bound = { minimum: "at least", maximum: "at most", exclusiveMinimum: "more than", exclusiveMaximum: "less than" }[e.keyword];
      return at(`${subject} must be ${bound} ${num(limit, wide)}, not ${num(Number(e.data), wide)}`);
    }
    case "multipleOf":
      return at(`${subject} must be a multiple of ${String(params.multipleOf)}, not ${value}`);
    case "minItems":
    case "maxItems": {
      const limit = Number(params.limit);
      const bound = e.keyword === "minItems" ? "at least" : "at most";
      return at(`${subject} must have ${bound} ${plural(limit, "item")}, not ${Array.isArray(e.data) ? e.data.length : "?"}`);
    }
    case "minProperties":
    case "maxProperties": {
      const limit = Number(params.limit);
      const bound = e.keyword === "minProperties" ? "at least" : "at most";
      return at(`${subject} must have ${bound} ${plural(limit, "property", "properties")}`);
    }
    case "minLength":
    case "maxLength": {
      const limit = Number(params.limit);
      const bound = e.keyword === "minLength" ? "at least" : "at most";
      return at(`${subject} must be ${bound} ${plural(limit, "character")} long`);
    }
    case "uniqueItems": {
      const i = Number(params.i);
      const j = Number(params.j);
      const [first, again] = i < j ? [i, j] : [j, i];
      const item = Array.isArray(e.data) ? (e.data as unknown[])[again] : undefined;
      return at(`${show(item)} is listed twice in ${subject} (also at index ${first})`, undefined, `${pointer}/${again}`);
    }
    case "pattern":
      if (params.pattern === NAME_PATTERN) {
        return at(
          `${show(e.data)} is not a valid name`,
          `names use letters, digits, "_", "." and "-", and start with a letter or "_"`,
        );
      }
      return at(`${show(e.data)} does not match the pattern /${String(params.pattern)}/`);
    case "format":
      return at(`${show(e.data)} is not a valid ${String(params.format)}`);
    case "false schema":
      return at(`${subject} is not allowed here`);
    case "not":
      return at(`${subject} must not match the schema at ${e.schemaPath}`);
    case "anyOf":
    case "oneOf":
      if (params.passingSchemas) {
        return at(`${subject} matches more than one of the allowed forms (${String(params.passingSchemas)})`);
      }
      return at(`${subject} matches none of the allowed forms`);
    default:
      return at(`${subject} ${e.message ?? `fails "${e.keyword}"`}`);
  }
}

/** What a .smmu file writes for a JSON type: its numbers are integers, its booleans the words true and false. */
const SMMU_TYPES: Readonly<Record<string, string>> = { integer: "a number", number: "a number", boolean: "true or false", string: "a string" };

function typeProblem(pointer: string, expected: readonly string[], data: unknown, w: Words): Problem {
  const smmu = w.syntax === "smmu" && expected.every((t) => Object.hasOwn(SMMU_TYPES, t));
  if (smmu) return { pointer, part: "value", code: "schema", message: `${w.subject(pointer)} takes ${[...new Set(expected.map((t) => SMMU_TYPES[t]))].join(" or ")}, not ${describe(data, w)}` };
  const want = expected.map((t) => `${article(t)} ${t}`).join(" or ");
  const numeric = expected.includes("integer") || expected.includes("number");
  const hint =
    numeric && typeof data === "string" && /^\s*0x[0-9a-f]+\s*$/i.test(data)
      ? `JSON has no hexadecimal numbers: write ${Number.parseInt(data, 16)}`
      : undefined;
  return { pointer, part: "value", code: "schema", message: `${w.subject(pointer)} must be ${want}, not ${describe(data, w)}`, ...(hint ? { hint } : {}) };
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? "an" : "a";
}

/** "an SMMU", "a vSMMU", "a device": by sound, not spelling. */
function aKind(label: string): string {
  return `${/^(SMMU|[aeiou])/.test(label) ? "an" : "a"} ${label}`;
}

/** A value of the wrong type, said as what it is: "the boolean true", "the number 3"; a string as a .smmu file may have written it, bare or quoted. */
function describe(v: unknown, w: Words): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return w.syntax === "smmu" ? show(v) : `a string (${show(v)})`;
  if (typeof v === "number") return `the number ${v}`;
  if (typeof v === "boolean") return `the boolean ${v}`;
  return typeof v;
}

/** An enum member in a list: strings bare, anything else as JSON. */
function listed(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** `n`, and when `wide` its hex too: "65536 (0x10000)". */
function num(n: number, wide: boolean): string {
  return wide && Number.isInteger(n) ? `${n} (${n < 0 ? "-" : ""}${hex(Math.abs(n))})` : String(n);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

// ---------------------------------------------------------------------------
// Plugins: each node against its plugin's schema

const KIND_LABEL: Readonly<Record<PluginKind, string>> = { smmu: NODE_KINDS.smmu.label, device: NODE_KINDS.device.label, vsmmu: NODE_KINDS.vsmmu.label, driver: "driver" };

/** The nodes a plugin models, by the list that holds them. */
const SECTIONS = (["smmu", "device", "vsmmu"] as const).map((kind) => ({ key: NODE_KINDS[kind].list, kind }));

function pluginProblems(topology: unknown, registry: PluginRegistry, w: Words): Problem[] {
  if (!isObject(topology)) return [];
  const out: Problem[] = [];
  const brokenReported = new Set<string>();
  const check = (node: unknown, pointer: string, kind: PluginKind): void => {
    if (!isObject(node)) return;
    const before = out.length;
    const named = node.plugin;
    if (named !== undefined && typeof named !== "string") return; // a schema error already
    const name = named ?? DEFAULT_PLUGIN[kind];
    const at = named === undefined ? pointer : `${pointer}/plugin`;
    const problem = (message: string, hint?: string): Problem => ({ pointer: at, part: "value", code: "topology", message, ...(hint ? { hint } : {}) });
    const plugin = registry.get(name);
    if (!plugin) {
      if (named === undefined) {
        out.push(problem(`no plugin named "${name}" is loaded (the default for ${aKind(KIND_LABEL[kind])})`, `name a loaded plugin with "plugin"`));
      } else {
        const ofKind = registry
          .list()
          .filter((p) => p.kind === kind)
          .map((p) => p.name)
          .sort();
        const guess = didYouMean(name, ofKind);
        out.push(problem(`unknown plugin "${name}"${guess}`, guess ? undefined : pluginsHint(ofKind, kind)));
      }
      return;
    }
    if (plugin.kind !== kind) {
      out.push(problem(`plugin "${name}" models ${aKind(KIND_LABEL[plugin.kind])}, not ${aKind(KIND_LABEL[kind])}`));
      return;
    }
    const compiled = pluginValidator(plugin);
    if (!compiled.ok) {
      if (!brokenReported.has(plugin.name)) {
        brokenReported.add(plugin.name);
        out.push({ pointer: at, part: "value", code: "schema", message: `plugin "${plugin.name}" has an invalid schema: ${compiled.error}` });
      }
      return;
    }
    if (!compiled.validate(node)) out.push(...schemaProblems(compiled.validate.errors ?? [], pointer, w));
    /* a plugin that extends another takes that one's properties too */
    const chain = extendsChain(plugin, registry);
    for (const base of chain.slice(1)) {
      const b = pluginValidator(base);
      if (b.ok && !b.validate(node)) out.push(...schemaProblems(b.validate.errors ?? [], pointer, w));
    }
    /* a plugin schema closed with additionalProperties has said so already */
    const reported = new Set(out.slice(before).map((p) => p.pointer));
    out.push(...undeclared(node, pointer, kind === "driver" ? "options" : "props", chain).filter((p) => !reported.has(p.pointer)));
  };
  for (const { key, kind } of SECTIONS) {
    const nodes = topology[key];
    if (Array.isArray(nodes)) nodes.forEach((node, i) => check(node, `/${key}/${i}`, kind));
  }
  if (topology.driver !== undefined) check(topology.driver, "/driver", "driver");
  return out;
}

/**
 * Plugin properties no plugin of the chain declares (under its schema's
 * `properties.props`, or `properties.options` for a driver): a misspelt
 * `cmd_ns` would otherwise silently keep its default.
 */
function undeclared(node: Record<string, unknown>, pointer: string, section: "props" | "options", chain: readonly Plugin[]): Problem[] {
  const given = node[section];
  if (!isObject(given)) return [];
  const declared = new Set<string>();
  for (const p of chain) {
    const sectionSchema = (p.schema.properties as Record<string, unknown> | undefined)?.[section];
    const props = isObject(sectionSchema) ? sectionSchema.properties : undefined;
    if (isObject(props)) for (const k of Object.keys(props)) declared.add(k);
  }
  const names = [...declared].sort();
  const takes = names.length ? `${chain[0]!.name} takes ${names.join(", ")}` : `${chain[0]!.name} takes no ${section === "props" ? "properties" : "options"}`;
  return Object.keys(given)
    .filter((k) => !declared.has(k))
    .map((k) => {
      const guess = didYouMean(k, names);
      return { pointer: `${pointer}/${section}/${k}`, part: "key", code: "topology", message: `unknown ${section === "props" ? "property" : "option"} "${k}"${guess}`, ...(guess ? {} : { hint: takes }) };
    });
}

function pluginsHint(names: readonly string[], kind: PluginKind): string {
  return names.length > 0 ? `loaded ${KIND_LABEL[kind]} plugins: ${names.join(", ")}` : `no ${KIND_LABEL[kind]} plugin is loaded`;
}

// ---------------------------------------------------------------------------
// The rules JSON Schema cannot express

interface Named {
  kind: NodeKind;
  pointer: string;
  node: Record<string, unknown>;
}


function semanticProblems(topology: unknown, locate: Locate, w: Words): Problem[] {
  if (!isObject(topology)) return [];
  const out: Problem[] = [];
  const problem = (pointer: string, message: string, part: PointerPart = "value", hint?: string): void => {
    out.push({ pointer, part, code: "topology", message, ...(hint ? { hint } : {}) });
  };

  // Names: one namespace for every node and domain.
  const names = new Map<string, Named>();
  for (const [kind, { list: key }] of Object.entries(NODE_KINDS) as [NodeKind, (typeof NODE_KINDS)[NodeKind]][]) {
    entries(topology[key]).forEach(([node, i]) => {
      const pointer = `/${key}/${i}`;
      if (typeof node.name !== "string") return;
      const first = names.get(node.name);
      if (node.name === DRIVER_NODE && key !== "domains") {
        problem(`${pointer}/name`, `${aKind(NODE_KINDS[kind].label)} cannot be called "${DRIVER_NODE}": that is the driver's name (\`expect state ${DRIVER_NODE} ...\` reads the driver's state)`);
      } else if (first) {
        problem(`${pointer}/name`, `duplicate name "${node.name}" (already the name of the ${NODE_KINDS[first.kind].label} at ${where(locate, first.pointer, pointer)})`);
      } else {
        names.set(node.name, { kind, pointer, node });
      }
    });
  }
  /* each kind's names once, and each suggestion once: a loop may make thousands of nodes with the same bad reference */
  const namesOf = new Map<NodeKind, string[]>();
  const ofKind = (kind: NodeKind): string[] => {
    let list = namesOf.get(kind);
    if (!list) namesOf.set(kind, (list = [...names].filter(([, n]) => n.kind === kind).map(([name]) => name)));
    return list;
  };
  const suggestions = new Map<string, string>();
  const suggest = (ref: string, kind: NodeKind): string => {
    const key = `${kind}\0${ref}`;
    let s = suggestions.get(key);
    if (s === undefined) suggestions.set(key, (s = didYouMean(ref, ofKind(kind))));
    return s;
  };

  /** Checks that `ref` names a `kind`; the node it names, if it does. */
  const reference = (ref: unknown, kind: NodeKind, pointer: string): Named | undefined => {
    if (typeof ref !== "string") return undefined;
    const target = names.get(ref);
    if (target?.kind === kind) return target;
    if (target) problem(pointer, `"${ref}" is ${aKind(NODE_KINDS[target.kind].label)}, not ${aKind(NODE_KINDS[kind].label)}`);
    else problem(pointer, `unknown ${NODE_KINDS[kind].label} "${ref}"${suggest(ref, kind)}`);
    return undefined;
  };

  // Devices: their SMMU, StreamIDs unique per SMMU, PCI capabilities.
  const streams = new Map<string, string>();
  entries(topology.devices).forEach(([dev, i]) => {
    const pointer = `/devices/${i}`;
    const label = typeof dev.name === "string" ? `device "${dev.name}"` : `devices[${i}]`;
    reference(dev.smmu, "smmu", `${pointer}/smmu`);
    if (typeof dev.smmu === "string" && Array.isArray(dev.sids)) {
      const smmu = dev.smmu;
      const mine = new Set<number>(); // the kernel tolerates a device repeating its own StreamID
      (dev.sids as unknown[]).forEach((sid, k) => {
        if (!isStreamId(sid) || mine.has(sid)) return;
        mine.add(sid);
        const key = `${smmu}\0${sid}`;
        const owner = streams.get(key);
        if (owner === undefined) streams.set(key, typeof dev.name === "string" ? dev.name : label);
        else problem(`${pointer}/sids/${k}`, `${label}: StreamID ${hex(sid)} is already claimed by "${owner}" on ${smmu}`);
      });
    }
    if (dev.pci === false) {
      if (dev.ats === true) problem(`${pointer}/ats`, `${label}: ${w.prop("device", "ats")} needs a PCI device, but ${w.prop("device", "pci")} is false`, "key");
      if (typeof dev.pasidBits === "number" && dev.pasidBits > 0) {
        problem(`${pointer}/pasidBits`, `${label}: ${w.prop("device", "pasidBits")} needs a PCI device, but ${w.prop("device", "pci")} is false`, "key");
      }
    }
  });

  // vSMMUs: their SMMU and their nest-parent S2 domain.
  entries(topology.vsmmus).forEach(([v, i]) => {
    const pointer = `/vsmmus/${i}`;
    const label = typeof v.name === "string" ? `vSMMU "${v.name}"` : `vsmmus[${i}]`;
    reference(v.smmu, "smmu", `${pointer}/smmu`);
    const parent = reference(v.parent, "domain", `${pointer}/parent`);
    if (!parent) return;
    const stage = stageOf(parent.node);
    const need = `a vSMMU's parent must be a stage s2 domain with ${w.setting("domain", "nestParent", "true")}`;
    if (stage !== undefined && stage !== "s2") {
      problem(`${pointer}/parent`, `${label}: parent "${String(v.parent)}" is ${aStage(stage)}, but ${need}`);
    } else if (stage === "s2" && parent.node.nestParent !== true) {
      problem(`${pointer}/parent`, `${label}: parent "${String(v.parent)}" is not a nest parent`, "value", `give domain "${String(v.parent)}" ${w.setting("domain", "nestParent", "true")}`);
    }
  });

  // Domains: what each stage may carry, and pinned ASIDs.
  const hostAsids = new Map<number, string>();
  /* a pinned VMID is the domain's on every SMMU it is attached to (the drivers' modelling choice): one owner each */
  const vmids = new Map<number, string>();
  const guestAsids = new Map<string, Map<number, string>>();
  entries(topology.domains).forEach(([d, i]) => {
    const pointer = `/domains/${i}`;
    const label = typeof d.name === "string" ? `domain "${d.name}"` : `domains[${i}]`;
    const stage = stageOf(d);
    if (stage === undefined) return; // a schema error already
    const not = (prop: string, only: string, hint?: string): void => {
      problem(`${pointer}/${prop}`, `${label}: only ${only} take ${w.prop("domain", prop)} (it is ${aStage(stage)})`, "key", hint);
    };
    if (d.nestParent !== undefined && stage !== "s2") not("nestParent", "stage s2 domains");
    if (stage === "nested") {
      if (d.vsmmu === undefined) problem(pointer, `${label}: a nested domain needs a ${w.prop("domain", "vsmmu")}`, "value", "name the vSMMU whose guest owns it");
      else reference(d.vsmmu, "vsmmu", `${pointer}/vsmmu`);
    } else {
      if (d.vsmmu !== undefined) not("vsmmu", "nested domains");
      if (d.ats !== undefined) not("ats", "nested domains");
    }
    if (d.asid !== undefined && stage === "s2") {
      problem(`${pointer}/asid`, `${label}: ${aStage(stage)} has no ASID`, "key", `pin its VMID with ${w.prop("domain", "vmid")}`);
    }
    if (d.vmid !== undefined && stage !== "s2") {
      const hint = stage === "nested" ? "a nested domain uses the VMID of its vSMMU's parent S2 domain" : `pin its ASID with ${w.prop("domain", "asid")}`;
      problem(`${pointer}/vmid`, `${label}: ${aStage(stage)} has no VMID`, "key", hint);
    }
    if (typeof d.asid === "number" && stage !== "s2") {
      // s1 and SVA domains share the host's ASID space; a nested domain's ASID is its guest's, one space per vSMMU.
      let space = hostAsids;
      let where = "";
      if (stage === "nested") {
        if (typeof d.vsmmu !== "string") return;
        space = guestAsids.get(d.vsmmu) ?? new Map<number, string>();
        guestAsids.set(d.vsmmu, space);
        where = ` on vSMMU "${d.vsmmu}"`;
      }
      const owner = space.get(d.asid);
      const name = typeof d.name === "string" ? d.name : label;
      if (owner === undefined) space.set(d.asid, name);
      else problem(`${pointer}/asid`, `${label}: ASID ${d.asid} is already pinned by "${owner}"${where}`);
    }
    if (typeof d.vmid === "number" && stage === "s2") {
      const owner = vmids.get(d.vmid);
      if (owner === undefined) vmids.set(d.vmid, typeof d.name === "string" ? d.name : label);
      else problem(`${pointer}/vmid`, `${label}: VMID ${d.vmid} is already pinned by "${owner}"`);
    }
  });
  return out;
}

/** The objects of an array-valued section, with their indices (anything else is a schema error already). */
function entries(section: unknown): Array<[Record<string, unknown>, number]> {
  if (!Array.isArray(section)) return [];
  const out: Array<[Record<string, unknown>, number]> = [];
  section.forEach((node: unknown, i) => {
    if (isObject(node)) out.push([node, i]);
  });
  return out;
}

function aStage(stage: DomainStage): string {
  return { s1: "a stage s1 domain", s2: "a stage s2 domain", sva: "an SVA domain", nested: "a nested domain" }[stage];
}

function stageOf(d: Record<string, unknown>): DomainStage | undefined {
  return DOMAIN_STAGES.find((s) => s === d.stage);
}

function isStreamId(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0x7fffffff;
}

/** "line 5" for `pointer` as seen from `from` ("file:5" when in another file). */
function where(locate: Locate, pointer: string, from: string): string {
  const a = spanOf(locate, pointer, "value");
  const b = spanOf(locate, from, "value");
  return a.file === b.file ? `line ${a.line}` : `${a.file}:${a.line}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
