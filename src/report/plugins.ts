/**
 * What `smmu-emu plugins` shows of each plugin: identity and the properties
 * its schema takes. With --json, the document schemas/plugins.schema.json
 * describes (these types are that schema in TypeScript).
 */
import { writtenName } from "../model/properties.js";
import type { Plugin, PluginKind } from "../plugin/api.js";
import { REPORT_FORMAT_VERSION } from "./json.js";

interface PluginDescription {
  name: string;
  version: string;
  kind: PluginKind;
  apiVersions: number[];
  extends?: string;
  description: string;
  variants?: string[];
  properties: { name: string; type: string; description?: string }[];
}

type SchemaNode = { type?: string | string[]; enum?: unknown[]; items?: SchemaNode; description?: string; properties?: Record<string, SchemaNode> };

/** A property's type in a few words: "one of a, b", "list of one of ...", "integer". */
function typeOf(s: SchemaNode | undefined): string {
  if (!s) return "any";
  if (s.enum) return `one of ${s.enum.map(String).join(", ")}`;
  if (s.type === "array") return `list of ${typeOf(s.items)}`;
  if (Array.isArray(s.type)) return s.type.join(" or ");
  return s.type ?? "any";
}

function describePlugins(plugins: readonly Plugin[]): PluginDescription[] {
  return plugins.map((p) => {
    const props = (p.schema as SchemaNode).properties ?? {};
    return {
      name: p.name,
      version: p.version,
      kind: p.kind,
      apiVersions: [...p.apiVersions],
      ...(p.extends ? { extends: p.extends } : {}),
      description: p.description,
      ...(p.kind === "driver" ? { variants: [...p.variants] } : {}),
      /* a plugin's own properties live under props; in a .smmu file they are written like the others, and the core ones as the language spells them */
      properties: [
        ...Object.entries(props)
          .filter(([name]) => name !== "name" && name !== "props" && name !== "options")
          .map(([name, s]) => [writtenName(p.kind, name), s] as const),
        ...Object.entries(props.props?.properties ?? {}),
        /* a driver's options, written in its `driver` block or with --driver-option */
        ...(p.kind === "driver" ? Object.entries(props.options?.properties ?? {}) : []),
      ].map(([name, s]) => ({ name, type: typeOf(s), ...(s.description ? { description: s.description } : {}) })),
    };
  });
}

/** `plugins --json`: every loaded plugin, in the order they were registered. */
export interface PluginsReport {
  formatVersion: typeof REPORT_FORMAT_VERSION;
  tool: "smmu-emu";
  version: string;
  plugins: PluginDescription[];
}

export function pluginsReport(plugins: readonly Plugin[], version: string): PluginsReport {
  return { formatVersion: REPORT_FORMAT_VERSION, tool: "smmu-emu", version, plugins: describePlugins(plugins) };
}
