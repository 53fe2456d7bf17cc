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

/**
 * Terminate `w`, settling once it has stopped, or after `graceMs` at most:
 * a thread blocked in a system call (a plugin's synchronous read of a pipe)
 * does not stop until the call returns, and a watchdog must not wait for it
 * (the process's exit ends it).
 */
export function stopWorker(w: Worker, graceMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, graceMs);
    timer.unref();
    void w.terminate().then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * On a worker thread: what this thread writes to stdout and stderr (a
 * plugin's console.log) goes to `post` instead, as it is written, on the
 * same channel as the thread's other messages, so it arrives before the
 * message that says the work is done, however that ends.
 */
export function postOutput(post: (text: string) => void): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      post(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      const done = rest.find((r): r is () => void => typeof r === "function");
      done?.();
      return true;
    }) as typeof stream.write;
  }
}
