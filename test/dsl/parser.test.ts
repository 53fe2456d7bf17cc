/**
 * The parser's start-up: its grammar is built on the first parse, once, and
 * never when a module is imported (a CLI --version imports the front end and
 * must not pay for it).
 */
/* the class the parser extends: chevrotain as the front end loads it (src/dsl/chevrotain.ts) */
import { EmbeddedActionsParser } from "../../src/dsl/chevrotain.js";
import { expect, test, vi } from "vitest";

test("importing the front end builds no grammar; the first parse builds it, later ones reuse it", async () => {
  /* fresh modules: with isolate: false another test file in this worker may have parsed already */
  vi.resetModules();
  const build = vi.spyOn(EmbeddedActionsParser.prototype as unknown as { performSelfAnalysis(): void }, "performSelfAnalysis");
  const { compileSmmu } = await import("../../src/dsl/compile.js");
  await import("../../src/engine/load.js");
  expect(build).not.toHaveBeenCalled();
  compileSmmu("smmu smmu0 { }\n", "a.smmu");
  expect(build).toHaveBeenCalledTimes(1);
  compileSmmu("smmu smmu1 { }\n", "b.smmu");
  expect(build).toHaveBeenCalledTimes(1);
});
