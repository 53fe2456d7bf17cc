/** Every schema this project ships compiles under ajv's strict mode, with the others it references registered. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";

const DIR = fileURLToPath(new URL("../../schemas/", import.meta.url));
const SCHEMAS = readdirSync(DIR)
  .filter((f) => f.endsWith(".schema.json"))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(join(DIR, f), "utf8")) as { $id: string }] as const);

describe("schemas/*.schema.json", () => {
  test("there are the seven the README names", () => {
    expect(SCHEMAS.map(([f]) => f)).toEqual(["compare.schema.json", "explore.schema.json", "list.schema.json", "plugins.schema.json", "report.schema.json", "topology.schema.json", "trace-event.schema.json"]);
  });

  test.each(SCHEMAS)("%s compiles under strict mode", (_, schema) => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    for (const [, other] of SCHEMAS) if (other !== schema) ajv.addSchema(other);
    expect(() => ajv.compile(schema)).not.toThrow();
  });
});

describe("the topology schema lists the built-in vocabulary, for editors to complete", () => {
  const topology = SCHEMAS.find(([f]) => f === "topology.schema.json")![1] as unknown as { $defs: Record<string, { properties: Record<string, { description: string; items?: { enum: string[] }; properties?: Record<string, unknown> }> }> };
  const smmu = topology.$defs.smmu!.properties;

  test("every SMMU feature and option the model knows, each described", async () => {
    const { SMMU_FEATURES, SMMU_OPTIONS } = await import("../../src/model/topology.js");
    expect(smmu.features!.items!.enum).toEqual(Object.keys(SMMU_FEATURES));
    expect(smmu.options!.items!.enum).toEqual(Object.keys(SMMU_OPTIONS));
    for (const [k, v] of Object.entries(SMMU_FEATURES)) expect(smmu.features!.description).toContain(`${k} (${v})`);
    for (const [k, v] of Object.entries(SMMU_OPTIONS)) expect(smmu.options!.description).toContain(`${k} (${v})`);
  });

  test("every domain stage the model knows", async () => {
    const { DOMAIN_STAGES } = await import("../../src/model/topology.js");
    expect((topology.$defs.domain!.properties.stage as unknown as { enum: string[] }).enum).toEqual(DOMAIN_STAGES);
  });

  test("the built-in SMMU and device plugins' properties, as their own schemas declare them", async () => {
    const { builtinRegistry } = await import("../../src/index.js");
    const registry = builtinRegistry();
    const propsOf = (name: string): unknown => (registry.get(name)!.schema.properties as { props: { properties: unknown } }).props.properties;
    expect(smmu.props!.properties).toEqual(propsOf("smmu-v3"));
    expect(topology.$defs.device!.properties.props!.properties).toEqual(propsOf("pcie-ats"));
  });
});
