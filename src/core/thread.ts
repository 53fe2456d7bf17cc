/**
 * Starting a worker thread on one of smmu-emu's modules, wherever it runs
 * from: the compiled .js as it is; the .ts source (tests, scripts under tsx)
 * through tsx's loader, registered in the worker before the module is
 * imported.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * tsx's ESM API. Where import.meta.resolve is missing (vitest's module
 * runner, which runs the global setup), read from tsx's package.json: its
 * "import" export (require would find the CommonJS one).
 */
function tsxApi(): string {
  try {
    return import.meta.resolve("tsx/esm/api");
  } catch {
    const manifest = createRequire(import.meta.url).resolve("tsx/package.json");
    const { exports } = JSON.parse(readFileSync(manifest, "utf8")) as { exports: Record<string, { import: { default: string } }> };
    return new URL(exports["./esm/api"]!.import.default, pathToFileURL(manifest)).href;
  }
}

/**
 * A worker running `entry`, the URL of a module's compiled .js beside the
 * caller (`new URL("./x.js", import.meta.url)`); run from the sources, its .ts.
 */
export function startWorker(entry: URL, options: WorkerOptions = {}): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(entry, options);
  const source = new URL(entry.href.replace(/\.js$/, ".ts"));
  const code = `import(${JSON.stringify(tsxApi())}).then((m) => { m.register(); return import(${JSON.stringify(source.href)}); });`;
  return new Worker(code, { ...options, eval: true });
}
