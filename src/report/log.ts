/**
 * `run --log cmds,dma,atc,tlb,walk,invs`: what the platform did, as QEMU's
 * `-trace` prints it: one line per event, as it happens, each with the
 * simulated time (ns) and the CPU whose operation caused it, then the event
 * and its fields:
 *
 *       1520 cpu0 dma gpu0 sid 0x100 read 0x10000: ok via walk pa 0x1000000000
 *       1520 cpu0 cmd smmu0 TLBI_NH_VA asid 1 vmid 0 num 0 scale 1 leaf 1 ttl 3 tg 1 addr 0x10000 (until 1540)
 *       1540 cpu0 invalidate smmu0.iotlb by TLBI_NH_VA: 1 entry
 *
 * A command's time is when its queue started it and its CPU the one (or the
 * vSMMU) that queued it; a cache invalidation's is when its command took
 * effect, and its CPU the command's (under a schedule the queue runs beside
 * the CPUs, so the CPU that ran last may be another); everything else
 * happens at the running CPU's time.
 * A scenario's lines follow a `# FILE: "SCENARIO"` line. The events are the
 * bus's (src/model/events.ts), so a plugin's SMMU or endpoint is logged as
 * the built-in ones are.
 */
import type { Simulator } from "../engine/simulator.js";
import { formatCmd } from "../model/commands.js";
import { hex } from "../model/hex.js";
import { formatTranslation } from "../model/translation.js";

/** What can be logged: the command line's --log takes these (src/cli/options.ts LOG_CATEGORIES, which the CLI's start loads on its own). */
export type LogCategory = "cmds" | "dma" | "atc" | "tlb" | "walk" | "invs";

/** The category of a cache's events, by its name's suffix ("smmu0.iotlb", "smmu0.walk", "gpu0.atc"); null for a cache of another kind. */
function cacheCategory(cache: string): LogCategory | null {
  if (cache.endsWith(".iotlb")) return "tlb";
  if (cache.endsWith(".walk")) return "walk";
  if (cache.endsWith(".atc")) return "atc";
  return null;
}

/** Log the events of `categories` of one scenario's platform, each line to `write`, after a line naming the scenario. */
export function logScenario(sim: Simulator, file: string, scenario: string, categories: readonly LogCategory[], write: (line: string) => void): void {
  const on = new Set(categories);
  const line = (t: number, cpu: string, text: string): void => write(`${String(t).padStart(10)} ${cpu} ${text}`);
  const now = (text: string): void => line(sim.clock.cpuNow, sim.clock.cpu, text);
  const { bus } = sim;
  write(`# ${file}: ${JSON.stringify(scenario)}`);
  if (on.has("cmds")) bus.on("cmd:queued", "log", (e) => line(e.start, e.source, `cmd ${e.smmu} ${formatCmd(e.cmd)} (until ${e.end})`));
  if (on.has("dma")) {
    bus.on("dma:done", "log", (e) => {
      const how = e.result === "ok" ? `ok via ${e.via} pa ${hex(e.pa!)}` : e.result === "fault" ? `fault ${e.event}: ${e.detail}` : `abort: ${e.detail}`;
      now(`dma ${e.device} sid ${hex(e.sid)}${e.pasid === null ? "" : ` pasid ${e.pasid}`} ${e.access} ${hex(e.iova)}: ${how}`);
    });
  }
  const cached = (cache: string): boolean => {
    const c = cacheCategory(cache);
    return c !== null && on.has(c);
  };
  bus.on("cache:lookup", "log", (e) => {
    if (cached(e.cache)) now(`lookup ${e.cache} ${e.tag} ${hex(e.addr)}: ${e.hit ? "hit" : "miss"}`);
  });
  bus.on("cache:fill", "log", (e) => {
    if (cached(e.cache)) now(`fill ${e.cache} ${e.tag}: ${formatTranslation(e.t)}`);
  });
  bus.on("cache:invalidate", "log", (e) => {
    if (cached(e.cache)) line(e.at, e.source ?? sim.clock.cpu, `invalidate ${e.cache} by ${e.by}: ${e.entries} entr${e.entries === 1 ? "y" : "ies"}`);
  });
  if (on.has("atc")) {
    bus.on("ep:ats", "log", (e) => now(`ats ${e.device} ${e.enabled ? `enabled stu ${e.stu}` : "disabled"}`));
    bus.on("ep:atc-inv-done", "log", (e) => line(e.start, e.source ?? sim.clock.cpu, `atc-inv ${e.device} sid ${hex(e.sid)}: ${e.completed ? `completed at ${e.end}` : "no completion"}`));
  }
  if (on.has("walk")) {
    bus.on("walk:cached", "log", (e) => now(`walk ${e.smmu} sid ${hex(e.sid)} ${hex(e.iova)}: from ${e.cache} level ${e.level} ${hex(e.base)} -> table ${hex(e.next)}`));
    bus.on("walk:done", "log", (e) => now(`walk ${e.smmu} sid ${hex(e.sid)}${e.ssid === null ? "" : ` ssid ${e.ssid}`} ${hex(e.iova)} stage ${e.stage}: ${e.reads} read${e.reads === 1 ? "" : "s"}, ${e.ok ? "ok" : "fault"}`));
  }
  if (on.has("invs")) {
    bus.on("invs:publish", "log", (e) => now(`invs ${e.domain} published: ${e.entries} entr${e.entries === 1 ? "y" : "ies"}`));
    bus.on("invs:trim", "log", (e) => now(`invs ${e.domain} trimmed: ${e.walkers} walker${e.walkers === 1 ? "" : "s"} out${e.ats ? ", an ATS entry's last user" : ""}`));
  }
}
