/**
 * arm_smmu_domain_inv_range() over arrays of 1 to 4096 entries: the
 * driver's stepped path straight through, with the SMMUs' queues replaced by
 * counters so that only the driver is measured. The arrays look like a
 * domain shared by many masters: per SMMU an S1_ASID entry followed by ATS
 * entries, over up to 16 SMMUs (RANGE_INV on). Each operation invalidates
 * one 4 KiB leaf.
 */
import { Clock } from "../src/core/clock.js";
import { Bus } from "../src/core/bus.js";
import { Memory } from "../src/core/memory.js";
import { runSteps } from "../src/core/steps.js";
import { CMDQ_OP } from "../src/model/commands.js";
import type { SmmuNode } from "../src/model/nodes.js";
import { StreamTable } from "../src/model/tables.js";
import { Platform } from "../src/plugin/platform.js";
import { InvsContext } from "../plugins/driver-invs/context.js";
import { InvsDomain } from "../plugins/driver-invs/domain.js";
import { domainInvRange } from "../plugins/driver-invs/inv-range.js";
import { ATS, invsFrom, S1_ASID, type InvInit } from "../plugins/driver-invs/invs.js";
import { MAINLINE } from "../plugins/driver-invs/variant.js";

export interface InvRangeRow {
  entries: number;
  smmus: number;
  commandsPerOp: number;
  opsPerSec: number;
  nsPerOp: number;
}

function smmuNode(index: number): SmmuNode {
  return {
    kind: "smmu",
    name: `smmu${index}`,
    index,
    features: new Set(["range_inv", "ats"]),
    options: new Set(),
    asidBits: 16,
    vmidBits: 16,
    ssidBits: 20,
    pgsizeBitmap: 0x1000 | 0x20_0000 | 0x4000_0000,
    strtab: new StreamTable(),
  };
}

/** The array: `n` entries spread over min(16, n) SMMUs, each an S1_ASID then ATS entries. */
function entries(n: number): { list: InvInit[]; smmus: number } {
  const smmus = Math.min(16, n);
  const list: InvInit[] = [];
  for (let s = 0; s < smmus; s++) {
    const count = Math.floor(n / smmus) + (s < n % smmus ? 1 : 0);
    list.push({ smmu: s, type: S1_ASID, id: 1, pgsize: 12, sizeOpcode: CMDQ_OP.TLBI_NH_VA, nsizeOpcode: CMDQ_OP.TLBI_NH_ASID, users: 1 });
    for (let k = 1; k < count; k++) {
      list.push({ smmu: s, type: ATS, id: 0x1000 * s + k, ssid: 0, sizeOpcode: CMDQ_OP.ATC_INV, nsizeOpcode: CMDQ_OP.ATC_INV, users: 1 });
    }
  }
  return { list, smmus };
}

export function benchInvRange(sizes = [1, 4, 16, 64, 256, 1024, 4096], minMs = 300): InvRangeRow[] {
  const rows: InvRangeRow[] = [];
  for (const n of sizes) {
    const { list, smmus } = entries(n);
    const bus = new Bus();
    const platform = new Platform();
    let commands = 0;
    for (let s = 0; s < smmus; s++) {
      const node = smmuNode(s);
      platform.add(node);
      bus.serve("smmu:cmdq", node.name, "bench", (req) => {
        commands += req.cmds.length + (req.sync ? 1 : 0);
        return { synced: true };
      });
    }
    const memory = new Memory();
    const port = { emit: bus.emit.bind(bus), request: bus.request.bind(bus) };
    const ctx = new InvsContext(port, platform, memory, new Clock(), MAINLINE, { parallelSyncs: false });
    const domain = new InvsDomain("d1", { name: "d1", stage: "s1" }, memory);
    const invs = invsFrom(list);
    invs.hasAts = n > smmus;
    domain.invs.assign(invs);

    const once = (): void => runSteps(domainInvRange(ctx, domain, 0x10000n, 0x1000n, 0x1000, true));
    for (let i = 0; i < 50; i++) once();
    commands = 0;
    let ops = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < minMs) {
      for (let i = 0; i < 20; i++) once();
      ops += 20;
      t = performance.now();
    }
    const ms = t - t0;
    rows.push({ entries: n, smmus, commandsPerOp: commands / ops, opsPerSec: (ops * 1000) / ms, nsPerOp: (ms * 1e6) / ops });
  }
  return rows;
}
