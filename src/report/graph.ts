/**
 * `smmu-emu graph`: a topology, and optionally what one scenario attaches, as
 * a Graphviz graph (src/report/dot.ts writes it).
 *
 * Each SMMU is a box in a cluster that also holds the devices and vSMMUs
 * behind it; domains stand outside, since one may span SMMUs. Edges run from
 * the platform to the domains: vSMMU -> its S2 parent ("S2 parent"), vSMMU ->
 * each nested domain on it ("nested"), device -> domain for an attachment.
 * Labels use the language's words (features:, sids:, stage:, ...).
 *
 * Attachments come from the scenario's text, not from running it: every
 * attach, detach and sva bind/unbind, numbered in the order written (a
 * `concurrently` block's in its written order too). An edge is solid when
 * it is what that device (or that PASID of it) is attached to at the end,
 * dotted when a later statement replaced it, and dashed when it sits in an
 * `expect error` block, which expects it to fail and so to change nothing.
 */
import type { Span } from "../core/diagnostics.js";
import type { Scenario, Stmt } from "../dsl/ast.js";
import type { DeviceSpec, DomainSpec, SmmuSpec, Topology, VsmmuSpec } from "../model/topology.js";
import { assertNever } from "../model/assert-never.js";
import { DEFAULT_PLUGIN } from "../plugin/registry.js";
import { renderDot, type DotAttrs, type DotEdge, type DotGraph, type DotNode } from "./dot.js";
import { hex } from "../model/hex.js";

export interface GraphInput {
  /** the file as named on the command line: the graph's title */
  file: string;
  topology: Topology;
  /** draw this scenario's attachments too */
  scenario?: Scenario;
}

/** Node ids: a kind and a name, so an SMMU and a domain of the same name stay apart. */
const id = {
  smmu: (name: string) => `smmu/${name}`,
  cluster: (name: string) => `cluster_smmu/${name}`,
  device: (name: string) => `device/${name}`,
  vsmmu: (name: string) => `vsmmu/${name}`,
  domain: (name: string) => `domain/${name}`,
  /** blocked and identity, the static domains */
  static: (name: string) => `static/${name}`,
};

const STATIC_DOMAINS = new Set(["blocked", "identity"]);


function sizeName(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024}K` : String(bytes);
}

function propLines(props: Record<string, unknown> | undefined): string[] {
  return Object.entries(props ?? {}).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
}

/** "plugin: NAME" when the node is not modelled by its kind's default plugin. */
function pluginLine(kind: keyof typeof DEFAULT_PLUGIN, plugin: string | undefined): string[] {
  return plugin !== undefined && plugin !== DEFAULT_PLUGIN[kind] ? [`plugin: ${plugin}`] : [];
}

function label(lines: readonly string[]): string {
  return lines.join("\n");
}

function smmuNode(s: SmmuSpec): DotNode {
  const lines = [
    s.name,
    `features: ${s.features.length ? s.features.join(", ") : "none"}`,
    ...(s.options?.length ? [`options: ${s.options.join(", ")}`] : []),
    ...pluginLine("smmu", s.plugin),
    ...propLines(s.props),
  ];
  return { id: id.smmu(s.name), attrs: { label: label(lines), shape: "box3d" } };
}

function deviceNode(d: DeviceSpec): DotNode {
  const lines = [
    d.name,
    `sids: ${d.sids.map(hex).join(", ")}`,
    ...(d.ats ? ["ats: true"] : []),
    ...(d.pasidBits ? [`pasid_bits: ${d.pasidBits}`] : []),
    ...(d.pci === false ? ["pci: false"] : []),
    ...pluginLine("device", d.plugin),
    ...propLines(d.props),
  ];
  return { id: id.device(d.name), attrs: { label: label(lines), shape: "box", style: "rounded" } };
}

function vsmmuNode(v: VsmmuSpec): DotNode {
  const lines = [v.name, "vSMMU", ...pluginLine("vsmmu", v.plugin), ...propLines(v.props)];
  return { id: id.vsmmu(v.name), attrs: { label: label(lines), shape: "hexagon" } };
}

function domainNode(d: DomainSpec): DotNode {
  const lines = [
    d.name,
    `stage: ${d.stage}`,
    ...(d.nestParent ? ["nest_parent: true"] : []),
    ...(d.pageSize !== undefined ? [`page_size: ${sizeName(d.pageSize)}`] : []),
    ...(d.asid !== undefined ? [`asid: ${d.asid}`] : []),
    ...(d.vmid !== undefined ? [`vmid: ${d.vmid}`] : []),
    ...(d.ats === false ? ["ats: false"] : []),
  ];
  return { id: id.domain(d.name), attrs: { label: label(lines), shape: "ellipse" } };
}

/** One attach, detach or sva bind/unbind statement, with whether an `expect error` wraps it. */
interface AttachStmt {
  device: string;
  /** a domain, "blocked" or "identity" */
  target: string;
  pasid?: number;
  span: Span;
  expectsError: boolean;
}

/** The scenario's attach statements in the order written, through `concurrently` and `expect error` blocks. */
function attachStatements(body: readonly Stmt[], expectsError = false): AttachStmt[] {
  return body.flatMap((s): AttachStmt[] => {
    switch (s.kind) {
      case "attach":
        return [{ device: s.device, target: s.target, ...(s.pasid !== undefined ? { pasid: s.pasid } : {}), span: s.span, expectsError }];
      case "detach":
        /* `detach DEV pasid N` / `sva unbind`: the blocked domain's set_dev_pasid() */
        return [{ device: s.device, target: "blocked", ...(s.pasid !== undefined ? { pasid: s.pasid } : {}), span: s.span, expectsError }];
      case "concurrently":
      case "expect-warn":
        return attachStatements(s.body, expectsError);
      case "expect-error":
        return attachStatements(s.body, true);
      case "map":
      case "unmap":
      case "flush":
      case "dma":
      case "mm-invalidate":
      case "mm-release":
      case "vsmmu-invalidate":
      case "fail-alloc":
      case "fault":
      case "expect-commands":
      case "expect-count":
      case "expect-invs":
      case "expect-stale":
      case "array-set":
      case "array-alloc":
      case "array-merge":
      case "array-purge":
      case "array-unref":
      case "expect-array":
      case "expect-state":
      case "thread":
      case "expect-cond":
      case "show":
        return [];
      default:
        return assertNever(s);
    }
  });
}

function attachEdges(file: string, scenario: Scenario): { edges: DotEdge[]; statics: string[] } {
  const stmts = attachStatements(scenario.body);
  /* what each device (or PASID of it) ends attached to: the last statement for it an `expect error` does not wrap */
  const last = new Map<string, number>();
  stmts.forEach((a, i) => {
    if (!a.expectsError) last.set(`${a.device}\0${a.pasid ?? ""}`, i);
  });
  const statics = [...new Set(stmts.map((a) => a.target).filter((t) => STATIC_DOMAINS.has(t)))];
  const edges = stmts.map((a, i): DotEdge => {
    const at = a.span.file === file ? `line ${a.span.line}` : `${a.span.file}:${a.span.line}`;
    const words = [`#${i + 1}`, ...(a.pasid !== undefined ? [`pasid ${a.pasid}`] : []), `(${at})`];
    const attrs: DotAttrs = a.expectsError
      ? { label: `${words.join(" ")}\nexpect error`, style: "dashed", color: "red", fontcolor: "red" }
      : last.get(`${a.device}\0${a.pasid ?? ""}`) === i
        ? { label: words.join(" "), style: "solid", penwidth: "2" }
        : { label: words.join(" "), style: "dotted", color: "gray50", fontcolor: "gray50" };
    return { from: id.device(a.device), to: STATIC_DOMAINS.has(a.target) ? id.static(a.target) : id.domain(a.target), attrs };
  });
  return { edges, statics };
}

/** The graph model of `input`: clusters in SMMU order, nodes and edges in the order the topology declares them. */
function topologyGraph(input: GraphInput): DotGraph {
  const t = input.topology;
  const vsmmus = t.vsmmus ?? [];
  const subgraphs = t.smmus.map((s) => ({
    id: id.cluster(s.name),
    attrs: { label: "", style: "rounded", color: "gray60" },
    nodes: [smmuNode(s), ...t.devices.filter((d) => d.smmu === s.name).map(deviceNode), ...vsmmus.filter((v) => v.smmu === s.name).map(vsmmuNode)],
  }));
  const edges: DotEdge[] = [
    ...vsmmus.map((v): DotEdge => ({ from: id.vsmmu(v.name), to: id.domain(v.parent), attrs: { label: "S2 parent", style: "dashed" } })),
    ...t.domains.flatMap((d): DotEdge[] =>
      d.stage === "nested" && d.vsmmu !== undefined ? [{ from: id.vsmmu(d.vsmmu), to: id.domain(d.name), attrs: { label: "nested", style: "dashed" } }] : [],
    ),
  ];
  const nodes = t.domains.map(domainNode);
  const title = [input.file];
  if (input.scenario) {
    const attached = attachEdges(input.file, input.scenario);
    for (const s of attached.statics) nodes.push({ id: id.static(s), attrs: { label: label([s, "static domain"]), shape: "ellipse", style: "dashed" } });
    /* one by one: a scenario may attach more often than a call takes arguments */
    for (const e of attached.edges) edges.push(e);
    title.push(`scenario "${input.scenario.name}"`);
  }
  return {
    id: "smmu-emu",
    graph: { label: label(title), labelloc: "t", rankdir: "LR" },
    subgraphs,
    nodes,
    edges,
  };
}

/** topologyGraph() as DOT text. */
export function topologyDot(input: GraphInput): string {
  return renderDot(topologyGraph(input));
}
