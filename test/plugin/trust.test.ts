/**
 * Which plugins' events are shape-checked: a user's always; a built-in one
 * (registered as such) only with checkPlugins, which `run --check-plugins`
 * turns on, and under which every example runs as it does without.
 */
import { describe, expect, test } from "vitest";
import { main, type Io } from "../../src/cli/main.js";
import { MalformedEventError } from "../../src/core/bus.js";
import { builtinRegistry } from "../../src/index.js";
import { definePlugin, type DevicePlugin } from "../../src/plugin/api.js";
import type { Topology } from "../../src/model/topology.js";
import pcieAts from "../../plugins/pcie-ats/index.js";
import { sim } from "../helpers/sim.js";

/** pcie-ats, but every ATS enable also sends a `driver:warn` without its `cond`. */
const sloppy: DevicePlugin = definePlugin({
  ...pcieAts,
  name: "sloppy-ats",
  setup(ctx) {
    ctx.on("ep:ats", () => ctx.emit("driver:warn", { fn: "x" } as never));
    return pcieAts.setup(ctx);
  },
});

const topology: Topology = {
  smmus: [{ name: "smmu0", features: ["ats"] }],
  devices: [{ name: "dev0", smmu: "smmu0", sids: [0x10], ats: true, plugin: "sloppy-ats" }],
  domains: [{ name: "d1", stage: "s1" }],
};

function attach(builtin: boolean, checkPlugins: boolean): unknown {
  const registry = builtinRegistry();
  registry.register(sloppy, { builtin });
  try {
    return sim(topology, { registry, checkPlugins }).attach("dev0", "d1");
  } catch (err) {
    return err;
  }
}

describe("shape checks", () => {
  const malformed = new MalformedEventError("sloppy-ats", "driver:warn", "cond is missing");

  test("a user's plugin is always checked: the error names it, the event and the field", () => {
    expect(attach(false, false)).toEqual(malformed);
    expect(attach(false, true)).toEqual(malformed);
  });

  test("a built-in plugin is trusted, unless every plugin is to be checked", () => {
    expect(attach(true, false)).toBe(0);
    expect(attach(true, true)).toEqual(malformed);
  });

  test("run --check-plugins: every example runs as without it", async () => {
    const run = async (...argv: string[]): Promise<string> => {
      let out = "";
      const io: Io = { out: (t) => void (out += `${t}\n`), err: (t) => void (out += `${t}\n`), tty: false };
      out += `status ${await main(argv, io)}\n`;
      return out;
    };
    const examples = ["examples/s1-shared.smmu", "examples/sva-4-smmus.smmu", "examples/nested-8-vsmmus.smmu", "examples/race-attach-unmap.smmu", "examples/lossy-atc.smmu"];
    expect(await run("run", "--check-plugins", ...examples)).toBe(await run("run", ...examples));
  });
});
