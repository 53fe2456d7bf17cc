/**
 * chevrotain as one module: its package's entry point (lib/src/api.js) loads
 * some 700 files (lodash-es one function per file), which costs a cold start
 * more than everything else it does; the package also ships the same release
 * bundled into lib/chevrotain.mjs, loaded here by its path beside the entry
 * point (the package's "exports" name only the entry). Every value the
 * language takes from chevrotain comes through this module, so there is one
 * copy of it; types come from "chevrotain" itself.
 */
import type * as Chevrotain from "chevrotain";
import { resolve } from "import-meta-resolve";

const bundle = new URL("../chevrotain.mjs", resolve("chevrotain", import.meta.url)).href;
const chevrotain = (await import(bundle)) as typeof Chevrotain;

export const { createToken, EmbeddedActionsParser, LLkLookaheadStrategy } = chevrotain;
