/** A plugin's own JSON Schema for its node's properties, compiled once and checked when the plugin is loaded. */
import type { ValidateFunction } from "ajv/dist/2020.js";
import { jsonSchemaCompiler } from "../core/json-schema.js";
import type { Plugin } from "./api.js";

/** A plugin's compiled schema, or why it does not compile. */
export type PluginValidator = { ok: true; validate: ValidateFunction } | { ok: false; error: string };

/** Keyed by the schema object itself: plugins are frozen, and two registries may hold different plugins of the same name. */
const pluginValidators = new WeakMap<object, PluginValidator>();

/** `plugin`'s compiled schema, compiled once per schema object (a failure is remembered too). */
export function pluginValidator(plugin: Plugin): PluginValidator {
  const cached = pluginValidators.get(plugin.schema);
  if (cached) return cached;
  let result: PluginValidator;
  try {
    result = { ok: true, validate: jsonSchemaCompiler().compile(plugin.schema) };
  } catch (e) {
    result = { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  pluginValidators.set(plugin.schema, result);
  return result;
}
