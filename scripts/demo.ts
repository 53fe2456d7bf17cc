/**
 * `npm run demo`: the library API on a built-in platform: one S1 domain
 * shared by a GPU with ATS behind smmu0 and a NIC behind smmu1, mapped, used,
 * unmapped; prints every command each SMMU received, the domain's
 * invalidation array and the oracle's verdict.
 */
import { hex, Simulator } from "../src/index.js";
import { formatCmd } from "../src/model/commands.js";
import type { Topology } from "../src/model/topology.js";

const topology: Topology = {
  smmus: [
    { name: "smmu0", features: ["range_inv", "ats"] },
    { name: "smmu1", features: ["ats"] },
  ],
  devices: [
    { name: "gpu0", smmu: "smmu0", sids: [0x100, 0x101], ats: true },
    { name: "nic0", smmu: "smmu1", sids: [0x200] },
  ],
  domains: [{ name: "d1", stage: "s1" }],
};

const variant = process.argv[2] ?? "mainline";
const sim = new Simulator(topology, { driver: { variant } });
const step = (what: string, f: () => unknown): void => {
  sim.clearCommands();
  const ret = f();
  console.log(`\n== ${what}${typeof ret === "number" ? ` -> ${ret}` : ""}`);
  for (const smmu of sim.platform.smmus()) {
    for (const cmd of sim.commands(smmu.name)) console.log(`  ${smmu.name}  ${formatCmd(cmd)}`);
  }
};

console.log(`driver-invs (${sim.driver.variant})`);
step("attach gpu0 d1", () => sim.attach("gpu0", "d1"));
step("attach nic0 d1", () => sim.attach("nic0", "d1"));
step("map d1 0x10000 size 0x4000", () => sim.map("d1", 0x10000, 0x4000));
step("dma gpu0 read 0x10000", () => sim.dma("gpu0", "read", 0x10000));
step("unmap d1 0x10000 size 0x4000", () => sim.unmap("d1", 0x10000, 0x4000));

console.log("\n== invs d1");
for (const e of sim.invs("d1")?.entries ?? []) console.log(`  ${e.smmu} ${e.type} ${hex(e.id)} ssid ${e.ssid} users ${e.users}`);
console.log(`\n== oracle: ${sim.violations.length === 0 ? "no stale translation" : sim.violations.map((v) => v.message).join("\n")}`);
