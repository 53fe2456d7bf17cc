/**
 * Topology validation: exact messages at exact line:column positions in
 * .json inputs, for JSON syntax, JSON Schema (the topology's and the
 * plugins'), and the cross-reference rules between nodes.
 */
import { describe, expect, test } from "vitest";
import { formatDiagnostic, InputError, type Span } from "../../src/core/diagnostics.js";
import { builtinRegistry, Simulator } from "../../src/index.js";
import { definePlugin } from "../../src/plugin/api.js";
import { PluginRegistry } from "../../src/plugin/registry.js";
import { loadTopologyJson, parseJsonSource } from "../../src/schema/json-source.js";
import { topologyValidator, validateTopology } from "../../src/schema/validate.js";
import { pluginValidator } from "../../src/plugin/schema.js";
import smmuV3 from "../../plugins/smmu-v3/index.js";

const registry = builtinRegistry();

/** Every diagnostic `loadTopologyJson` reports for `text`, formatted; [] when it loads. */
function problems(text: string, reg: PluginRegistry = registry): string[] {
  try {
    loadTopologyJson(text, "topo.json", reg);
    return [];
  } catch (e) {
    if (e instanceof InputError) return e.diagnostics.map(formatDiagnostic);
    throw e;
  }
}

/** The diagnostics' codes, in order. */
function codes(text: string): string[] {
  const { value, locate } = parseJsonSource(text, "topo.json");
  return validateTopology(value, registry, locate).map((d) => d.code);
}

const VALID = `{
  "$schema": "https://smmu-emu.dev/schemas/topology.schema.json",
  "smmus": [
    { "name": "smmu0", "features": ["range_inv", "ats", "nesting"] },
    { "name": "smmu1", "features": [], "options": ["skip_prefetch"] }
  ],
  "devices": [
    { "name": "gpu0", "smmu": "smmu0", "sids": [256], "ats": true, "pasidBits": 5 },
    { "name": "nic0", "smmu": "smmu1", "sids": [256, 257], "pci": false }
  ],
  "vsmmus": [{ "name": "v0", "smmu": "smmu0", "parent": "s2" }],
  "domains": [
    { "name": "s2", "stage": "s2", "nestParent": true, "vmid": 7 },
    { "name": "d1", "stage": "s1", "asid": 5, "pageSize": 16384 },
    { "name": "n0", "stage": "nested", "vsmmu": "v0", "asid": 5, "ats": false }
  ],
  "driver": { "variant": "v9" }
}`;

describe("a valid topology", () => {
  test("gives no diagnostics and loads into a simulator", () => {
    expect(problems(VALID)).toEqual([]);
    const topology = loadTopologyJson(VALID, "topo.json", registry);
    expect(topology).not.toHaveProperty("$schema");
    expect(topology.devices[1]).toEqual({ name: "nic0", smmu: "smmu1", sids: [256, 257], pci: false });
    expect(() => new Simulator(topology, { registry })).not.toThrow();
  });
});

describe("JSON syntax errors", () => {
  test("a missing comma between properties, at the next property", () => {
    const text = `{
  "smmus": [],
  "devices": []
  "domains": []
}`;
    expect(problems(text)).toEqual([
      `topo.json:4:3: error: expected "," or "}", found the string "domains"\n  hint: a "," is missing between two properties?`,
    ]);
  });

  test("a trailing comma, at the comma", () => {
    const text = `{
  "smmus": [
    { "name": "smmu0", "features": [] },
  ],
  "devices": [],
  "domains": []
}`;
    expect(problems(text)).toEqual([
      `topo.json:3:40: error: trailing comma before "]"\n  hint: JSON does not allow a comma after the last item`,
    ]);
  });

  test("the end of the file inside an array", () => {
    const text = `{
  "smmus": [
    { "name": "smmu0", "features": [] }
`;
    expect(problems(text)).toEqual([
      `topo.json:3:40: error: unexpected end of file\n  hint: the "[" at line 2, column 12 is not closed`,
    ]);
  });

  test("a comment, single quotes, and an unterminated string", () => {
    expect(problems(`{\n  // SMMUs\n  "smmus": []\n}`)).toEqual([`topo.json:2:3: error: unexpected "/"\n  hint: JSON has no comments`]);
    expect(problems(`{\n  "smmus": ['a']\n}`)).toEqual([
      `topo.json:2:13: error: unexpected "'"\n  hint: JSON strings and property names need double quotes`,
    ]);
    expect(problems(`{\n  "smmus": [],\n  "devices: []\n}`)).toEqual([
      `topo.json:3:3: error: unterminated string\n  hint: a string ends with '"' on the line it starts on`,
    ]);
  });

  test("a syntax error is a single diagnostic with code json", () => {
    try {
      parseJsonSource(`[1 2]`, "x.json");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).diagnostics).toEqual([
        expect.objectContaining({ file: "x.json", line: 1, column: 4, code: "json", severity: "error" }),
      ]);
    }
  });

  test("a repeated property name (JSON.parse would keep only the last)", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": [], "name": "smmu1" }],
  "devices": [],
  "domains": []
}`;
    expect(problems(text)).toEqual([
      `topo.json:2:48: error: duplicate property "name" (first at line 2)\n  hint: JSON keeps only the last one; remove or rename one of them`,
    ]);
  });
});

describe("JSON Schema errors", () => {
  test("a missing required property, at the object", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": [] }],
  "devices": [
    { "name": "gpu0", "sids": [1] }
  ],
  "domains": []
}`;
    expect(problems(text)).toEqual([`topo.json:4:5: error: missing property "smmu"`]);
    expect(codes(text)).toEqual(["schema"]);
  });

  test("an unknown property, at its name, with a did-you-mean", () => {
    const text = `{
  "smmus": [
    { "name": "smmu0", "featurs": ["ats"] }
  ],
  "devices": [],
  "domains": []
}`;
    expect(problems(text)).toEqual([
      `topo.json:3:5: error: missing property "features"`,
      `topo.json:3:24: error: unknown property "featurs" (did you mean "features"?)`,
    ]);
  });

  test("an unknown property with nothing close lists the known ones", () => {
    const text = `{
  "smmus": [], "devices": [], "domains": [],
  "platform": "juno"
}`;
    expect(problems(text)).toEqual([
      `topo.json:3:3: error: unknown property "platform"\n  hint: known properties: $schema, smmus, devices, vsmmus, domains, driver`,
    ]);
  });

  test("a wrong type, at the value, saying what was expected", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": "ats" }],
  "devices": [
    { "name": "gpu0", "smmu": "smmu0", "sids": ["0x100"], "ats": "yes" }
  ],
  "domains": []
}`;
    expect(problems(text)).toEqual([
      `topo.json:2:44: error: "features" must be an array, not a string ("ats")`,
      `topo.json:4:49: error: sids[0] must be an integer, not a string ("0x100")\n  hint: JSON has no hexadecimal numbers: write 256`,
      `topo.json:4:66: error: "ats" must be a boolean, not a string ("yes")`,
    ]);
  });

  test("a bad enum value in a plugin's schema (smmu-v3's features), with a did-you-mean", () => {
    const text = `{
  "smmus": [
    { "name": "smmu0", "features": ["ats", "rangeinv"] }
  ],
  "devices": [],
  "domains": []
}`;
    expect(problems(text)).toEqual([
      `topo.json:3:44: error: features[1]: "rangeinv" is not one of: range_inv, e2h, ats, sva, nesting, cd2l, attr_types_ovr (did you mean "range_inv"?)`,
    ]);
    expect(codes(text)).toEqual(["schema"]);
  });

  test("an enum value with nothing close, and a repeated feature", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": ["ats", "ats"] }],
  "devices": [],
  "domains": [{ "name": "d0", "stage": "s1", "pageSize": 8192 }]
}`;
    expect(problems(text)).toEqual([
      `topo.json:2:52: error: "ats" is listed twice in "features" (also at index 0)`,
      `topo.json:4:58: error: "pageSize": 8192 is not one of: 4096, 16384, 65536`,
    ]);
  });

  test("a StreamID out of range, and an empty sids", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": [] }],
  "devices": [
    { "name": "gpu0", "smmu": "smmu0", "sids": [0, 2147483648] },
    { "name": "gpu1", "smmu": "smmu0", "sids": [] }
  ],
  "domains": []
}`;
    expect(problems(text)).toEqual([
      `topo.json:4:52: error: sids[1] must be at most 2147483647 (0x7fffffff), not 2147483648 (0x80000000)`,
      `topo.json:5:48: error: "sids" must have at least 1 item, not 0`,
    ]);
  });

  test("an invalid name", () => {
    const text = `{
  "smmus": [{ "name": "0smmu", "features": [] }],
  "devices": [],
  "domains": []
}`;
    expect(problems(text)).toEqual([
      `topo.json:2:23: error: "0smmu" is not a valid name\n  hint: names use letters, digits, "_", "." and "-", and start with a letter or "_"`,
    ]);
  });

  test("a driver variant the plugin does not have", () => {
    const text = `{
  "smmus": [], "devices": [], "domains": [],
  "driver": { "variant": "v8" }
}`;
    expect(problems(text)).toEqual([`topo.json:3:26: error: "variant": "v8" is not one of: mainline, v9, share (did you mean "v9"?)`]);
  });

  test("the whole file of the wrong type", () => {
    expect(problems(`[]`)).toEqual([`topo.json:1:1: error: the topology must be an object, not an array`]);
  });
});

describe("references and rules between nodes", () => {
  test("an unknown SMMU, with a did-you-mean", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": [] }],
  "devices": [
    { "name": "gpu0", "smmu": "smmu9", "sids": [1] }
  ],
  "domains": []
}`;
    expect(problems(text)).toEqual([`topo.json:4:31: error: unknown SMMU "smmu9" (did you mean "smmu0"?)`]);
    expect(codes(text)).toEqual(["topology"]);
  });

  test("a reference to a node of another kind", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": [] }],
  "devices": [{ "name": "gpu0", "smmu": "smmu0", "sids": [1] }],
  "vsmmus": [{ "name": "v0", "smmu": "gpu0", "parent": "s2" }],
  "domains": [{ "name": "s2", "stage": "s2", "nestParent": true }]
}`;
    expect(problems(text)).toEqual([`topo.json:4:38: error: "gpu0" is a device, not an SMMU`]);
  });

  test("a duplicate name, across node kinds, at the second", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": [] }],
  "devices": [
    { "name": "gpu0", "smmu": "smmu0", "sids": [1] }
  ],
  "domains": [
    { "name": "gpu0", "stage": "s1" }
  ]
}`;
    expect(problems(text)).toEqual([`topo.json:7:15: error: duplicate name "gpu0" (already the name of the device at line 4)`]);
  });

  test("a StreamID claimed twice on one SMMU, at the second claim", () => {
    const text = `{
  "smmus": [
    { "name": "smmu0", "features": [] },
    { "name": "smmu1", "features": [] }
  ],
  "devices": [
    { "name": "gpu0", "smmu": "smmu0", "sids": [256, 256] },
    { "name": "gpu1", "smmu": "smmu1", "sids": [256] },
    { "name": "gpu2", "smmu": "smmu0", "sids": [1, 256] }
  ],
  "domains": []
}`;
    expect(problems(text)).toEqual([`topo.json:9:52: error: device "gpu2": StreamID 0x100 is already claimed by "gpu0" on smmu0`]);
  });

  test("ATS and PASID on a device that is not PCI, at the property", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": [] }],
  "devices": [
    { "name": "dma0", "smmu": "smmu0", "sids": [1], "pci": false, "ats": true, "pasidBits": 8 },
    { "name": "dma1", "smmu": "smmu0", "sids": [2], "pci": false, "ats": false, "pasidBits": 0 }
  ],
  "domains": []
}`;
    expect(problems(text)).toEqual([
      `topo.json:4:67: error: device "dma0": "ats" needs a PCI device, but "pci" is false`,
      `topo.json:4:80: error: device "dma0": "pasidBits" needs a PCI device, but "pci" is false`,
    ]);
  });

  test("a vSMMU whose parent is not a nest parent, or not stage 2, or no domain", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": ["nesting"] }],
  "devices": [],
  "vsmmus": [
    { "name": "v0", "smmu": "smmu0", "parent": "s2" },
    { "name": "v1", "smmu": "smmu0", "parent": "d1" },
    { "name": "v2", "smmu": "smmu0", "parent": "s3" }
  ],
  "domains": [
    { "name": "s2", "stage": "s2" },
    { "name": "d1", "stage": "s1" }
  ]
}`;
    expect(problems(text)).toEqual([
      `topo.json:5:48: error: vSMMU "v0": parent "s2" is not a nest parent\n  hint: give domain "s2" "nestParent": true`,
      `topo.json:6:48: error: vSMMU "v1": parent "d1" is a stage s1 domain, but a vSMMU's parent must be a stage s2 domain with "nestParent": true`,
      `topo.json:7:48: error: unknown domain "s3" (did you mean "s2"?)`,
    ]);
  });

  test("a nested domain without a vSMMU, or naming none", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": ["nesting"] }],
  "devices": [],
  "vsmmus": [{ "name": "v0", "smmu": "smmu0", "parent": "s2" }],
  "domains": [
    { "name": "s2", "stage": "s2", "nestParent": true },
    { "name": "n0", "stage": "nested" },
    { "name": "n1", "stage": "nested", "vsmmu": "v1" }
  ]
}`;
    expect(problems(text)).toEqual([
      `topo.json:7:5: error: domain "n0": a nested domain needs a "vsmmu"\n  hint: name the vSMMU whose guest owns it`,
      `topo.json:8:49: error: unknown vSMMU "v1" (did you mean "v0"?)`,
    ]);
  });

  test("properties a domain's stage does not take, at the property", () => {
    const text = `{
  "smmus": [], "devices": [],
  "domains": [
    { "name": "d1", "stage": "s1", "nestParent": false, "vsmmu": "v0", "ats": true, "vmid": 3 },
    { "name": "s2", "stage": "s2", "asid": 3 }
  ]
}`;
    expect(problems(text)).toEqual([
      `topo.json:4:36: error: domain "d1": only stage s2 domains take "nestParent" (it is a stage s1 domain)`,
      `topo.json:4:57: error: domain "d1": only nested domains take "vsmmu" (it is a stage s1 domain)`,
      `topo.json:4:72: error: domain "d1": only nested domains take "ats" (it is a stage s1 domain)`,
      `topo.json:4:85: error: domain "d1": a stage s1 domain has no VMID\n  hint: pin its ASID with "asid"`,
      `topo.json:5:36: error: domain "s2": a stage s2 domain has no ASID\n  hint: pin its VMID with "vmid"`,
    ]);
  });

  test("two domains pinning one ASID: the host's space, and each vSMMU's own", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "features": ["nesting"] }],
  "devices": [],
  "vsmmus": [
    { "name": "v0", "smmu": "smmu0", "parent": "s2" },
    { "name": "v1", "smmu": "smmu0", "parent": "s2" }
  ],
  "domains": [
    { "name": "s2", "stage": "s2", "nestParent": true },
    { "name": "d1", "stage": "s1", "asid": 9 },
    { "name": "d2", "stage": "sva", "asid": 9 },
    { "name": "n0", "stage": "nested", "vsmmu": "v0", "asid": 9 },
    { "name": "n1", "stage": "nested", "vsmmu": "v1", "asid": 9 },
    { "name": "n2", "stage": "nested", "vsmmu": "v0", "asid": 9 }
  ]
}`;
    expect(problems(text)).toEqual([
      `topo.json:11:45: error: domain "d2": ASID 9 is already pinned by "d1"`,
      `topo.json:14:63: error: domain "n2": ASID 9 is already pinned by "n0" on vSMMU "v0"`,
    ]);
  });
});

describe("plugins", () => {
  test("an unknown plugin name, at the plugin property, with a did-you-mean among that kind's plugins", () => {
    const text = `{
  "smmus": [
    { "name": "smmu0", "plugin": "smmu-v2", "features": [] }
  ],
  "devices": [{ "name": "gpu0", "smmu": "smmu0", "sids": [1], "plugin": "nvme" }],
  "domains": []
}`;
    expect(problems(text)).toEqual([
      `topo.json:3:34: error: unknown plugin "smmu-v2" (did you mean "smmu-v3"?)`,
      `topo.json:5:73: error: unknown plugin "nvme"\n  hint: loaded device plugins: pcie-ats`,
    ]);
    expect(codes(text)).toEqual(["topology", "topology"]);
  });

  test("a plugin of another kind", () => {
    const text = `{
  "smmus": [{ "name": "smmu0", "plugin": "pcie-ats", "features": [] }],
  "devices": [], "domains": []
}`;
    expect(problems(text)).toEqual([`topo.json:2:42: error: plugin "pcie-ats" models a device, not an SMMU`]);
  });

  test("a missing default plugin is reported at the node", () => {
    const reg = new PluginRegistry();
    reg.register(smmuV3);
    const text = `{
  "smmus": [{ "name": "smmu0", "features": [] }],
  "devices": [{ "name": "gpu0", "smmu": "smmu0", "sids": [1] }],
  "domains": []
}`;
    expect(problems(text, reg)).toEqual([
      `topo.json:3:15: error: no plugin named "pcie-ats" is loaded (the default for a device)\n  hint: name a loaded plugin with "plugin"`,
    ]);
  });

  test("a plugin with an invalid schema is named once, at its first node", () => {
    const bad = definePlugin({
      kind: "device",
      name: "bad-schema",
      version: "0.0.1",
      apiVersions: [1],
      description: "a device plugin whose schema has a typo",
      schema: { type: "object", requird: ["name"] },
      setup(): never {
        throw new Error("not for simulating");
      },
    });
    const reg = builtinRegistry();
    reg.register(bad);
    const text = `{
  "smmus": [{ "name": "smmu0", "features": [] }],
  "devices": [
    { "name": "gpu0", "plugin": "bad-schema", "smmu": "smmu0", "sids": [1] },
    { "name": "gpu1", "plugin": "bad-schema", "smmu": "smmu0", "sids": [2] }
  ],
  "domains": []
}`;
    expect(problems(text, reg)).toEqual([
      `topo.json:4:33: error: plugin "bad-schema" has an invalid schema: strict mode: unknown keyword: "requird"`,
    ]);
    const compiled = pluginValidator(bad);
    expect(compiled.ok).toBe(false);
    expect(pluginValidator(bad)).toBe(compiled);
  });

  test("a plugin's own constraints on a node's props", () => {
    const strict = definePlugin({
      kind: "device",
      name: "fixed-sid",
      version: "0.0.1",
      apiVersions: [1],
      description: "a device with one StreamID and a queue depth",
      schema: {
        type: "object",
        properties: {
          sids: { type: "array", maxItems: 1 },
          props: {
            type: "object",
            properties: { depth: { type: "integer", minimum: 1 } },
            required: ["depth"],
            additionalProperties: false,
          },
        },
        required: ["props"],
      },
      setup(): never {
        throw new Error("not for simulating");
      },
    });
    const reg = builtinRegistry();
    reg.register(strict);
    const text = `{
  "smmus": [{ "name": "smmu0", "features": [] }],
  "devices": [
    { "name": "q0", "plugin": "fixed-sid", "smmu": "smmu0", "sids": [1, 2],
      "props": { "dept": 0 } }
  ],
  "domains": []
}`;
    expect(problems(text, reg)).toEqual([
      `topo.json:4:69: error: "sids" must have at most 1 item, not 2`,
      `topo.json:5:16: error: missing property "depth"`,
      `topo.json:5:18: error: unknown property "dept" (did you mean "depth"?)`,
    ]);
  });
});

describe("several problems at once", () => {
  test("are all reported, sorted by position, each with its code", () => {
    const text = `{
  "smmus": [
    { "name": "smmu0", "features": ["range_inv", "e2hh"] },
    { "name": "smmu0", "features": [], "option": [] }
  ],
  "devices": [
    { "name": "gpu0", "smmu": "smmu1", "sids": [256] },
    { "name": "gpu1", "smmu": "smmu0", "sids": [256, -1] }
  ],
  "vsmmus": [{ "name": "v0", "smmu": "smmu0", "parent": "d0" }],
  "domains": [
    { "name": "d0", "stage": "s1", "asid": 0 },
    { "name": "n0", "stage": "nested" }
  ]
}`;
    expect(problems(text)).toEqual([
      `topo.json:3:50: error: features[1]: "e2hh" is not one of: range_inv, e2h, ats, sva, nesting, cd2l, attr_types_ovr (did you mean "e2h"?)`,
      `topo.json:4:15: error: duplicate name "smmu0" (already the name of the SMMU at line 3)`,
      `topo.json:4:40: error: unknown property "option" (did you mean "options"?)`,
      `topo.json:7:31: error: unknown SMMU "smmu1" (did you mean "smmu0"?)`,
      `topo.json:8:54: error: sids[1] must be at least 0, not -1`,
      `topo.json:10:57: error: vSMMU "v0": parent "d0" is a stage s1 domain, but a vSMMU's parent must be a stage s2 domain with "nestParent": true`,
      `topo.json:12:44: error: "asid" must be at least 1, not 0`,
      `topo.json:13:5: error: domain "n0": a nested domain needs a "vsmmu"\n  hint: name the vSMMU whose guest owns it`,
    ]);
    expect(codes(text)).toEqual(["schema", "topology", "schema", "topology", "schema", "topology", "schema", "topology"]);
  });

  test("the same input gives the same diagnostics every time", () => {
    const text = `{ "smmus": [{ "name": "a", "features": ["x", "y"], "b": 1, "c": 2 }], "devices": [{}], "domains": [{}] }`;
    const first = problems(text);
    expect(first.length).toBeGreaterThan(5);
    for (let i = 0; i < 3; i++) expect(problems(text)).toEqual(first);
  });
});

describe("positions", () => {
  test("locate points at a member's key or value, and walks up for pointers the file lacks", () => {
    const { locate } = parseJsonSource(`{\n  "smmus": [\n    { "name": "s/0~" }\n  ]\n}`, "t.json");
    const at = (s: Span): string => `${s.line}:${s.column}`;
    expect(at(locate("/smmus/0/name"))).toBe("3:15");
    expect(at(locate("/smmus/0/name", "key"))).toBe("3:7");
    expect(at(locate("/smmus/0/features"))).toBe("3:5");
    expect(at(locate("/smmus/7/name", "key"))).toBe("2:12");
    expect(at(locate(""))).toBe("1:1");
    expect(locate("/smmus/0/name")).toEqual({ file: "t.json", line: 3, column: 15, endLine: 3, endColumn: 21 });
  });

  test("a locate that knows only some pointers (as the DSL's map) gets the nearest parent", () => {
    const spans = new Map<string, Span>([
      ["", { file: "t.smmu", line: 1, column: 1 }],
      ["/devices/0", { file: "t.smmu", line: 4, column: 3 }],
    ]);
    const topology = { smmus: [], devices: [{ name: "gpu0", smmu: "smmu0", sids: [1] }], domains: [] };
    const ds = validateTopology(topology, registry, (p) => spans.get(p));
    expect(ds.map(formatDiagnostic)).toEqual([`t.smmu:4:3: error: unknown SMMU "smmu0"`]);
  });
});

describe("schemas compile once", () => {
  test("the topology schema's validator is the same function every time", () => {
    const v = topologyValidator();
    validateTopology(JSON.parse(VALID), registry, () => undefined);
    expect(topologyValidator()).toBe(v);
  });

  test("a plugin's validator is the same function every time", () => {
    const first = pluginValidator(smmuV3);
    if (!first.ok) throw new Error(first.error);
    problems(VALID);
    const again = pluginValidator(smmuV3);
    expect(again).toBe(first);
    expect(again.ok && again.validate).toBe(first.validate);
  });
});
