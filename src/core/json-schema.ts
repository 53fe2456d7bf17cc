/** The one JSON Schema compiler (ajv, draft 2020-12) for the topology schema and every plugin's. */
import { Ajv2020 } from "ajv/dist/2020.js";

let ajv: Ajv2020 | undefined;

/** Strict, so a schema typo is an error, and allErrors, so users see every problem at once; built on first use. */
export function jsonSchemaCompiler(): Ajv2020 {
  return (ajv ??= new Ajv2020({ strict: true, allErrors: true, verbose: true }));
}
