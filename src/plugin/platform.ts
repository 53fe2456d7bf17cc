/** The nodes of one emulated platform, by name. */
import type { EndpointNode, PlatformNode, SmmuNode, VsmmuNode } from "../model/nodes.js";

export class Platform {
  private readonly nodes = new Map<string, PlatformNode>();
  /** Per SMMU, the endpoint owning each StreamID. */
  private readonly bySid = new Map<string, Map<number, EndpointNode>>();

  add(node: PlatformNode): void {
    if (this.nodes.has(node.name)) throw new Error(`duplicate node name "${node.name}"`);
    this.nodes.set(node.name, node);
    this.sortedSmmus = undefined;
    if (node.kind === "device") {
      let sids = this.bySid.get(node.smmu);
      if (!sids) this.bySid.set(node.smmu, (sids = new Map()));
      for (const sid of node.sids) sids.set(sid, node);
    }
  }

  has(name: string): boolean {
    return this.nodes.has(name);
  }

  smmu(name: string): SmmuNode {
    return this.get(name, "smmu");
  }

  device(name: string): EndpointNode {
    return this.get(name, "device");
  }

  vsmmu(name: string): VsmmuNode {
    return this.get(name, "vsmmu");
  }

  /** SMMUs in platform order (their `index`). */
  smmus(): readonly SmmuNode[] {
    return (this.sortedSmmus ??= this.all("smmu").sort((a, b) => a.index - b.index));
  }

  private sortedSmmus: SmmuNode[] | undefined;

  devices(): EndpointNode[] {
    return this.all("device");
  }

  vsmmus(): VsmmuNode[] {
    return this.all("vsmmu");
  }

  /** The endpoint that owns `sid` behind `smmu`. */
  endpointFor(smmu: string, sid: number): EndpointNode | undefined {
    return this.bySid.get(smmu)?.get(sid);
  }

  private get<K extends PlatformNode["kind"]>(name: string, kind: K): Extract<PlatformNode, { kind: K }> {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no ${kind} named "${name}"`);
    if (node.kind !== kind) throw new Error(`"${name}" is a ${node.kind}, not a ${kind}`);
    return node as Extract<PlatformNode, { kind: K }>;
  }

  private all<K extends PlatformNode["kind"]>(kind: K): Extract<PlatformNode, { kind: K }>[] {
    return [...this.nodes.values()].filter((n): n is Extract<PlatformNode, { kind: K }> => n.kind === kind);
  }
}
