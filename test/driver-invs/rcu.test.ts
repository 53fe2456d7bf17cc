/**
 * RCU on the invalidation array: a reader that still holds a replaced array
 * keeps it alive; touching freed memory or an ERR_PTR is caught; v9's purge
 * failure publishes an ERR_PTR where mainline puts the purge off.
 */
import { describe, expect, test } from "vitest";
import { KernelOopsError, UseAfterFreeError } from "../../src/core/rcu.js";
import type { Step, Steps } from "../../src/model/step.js";
import type { Topology } from "../../src/model/topology.js";
import type { InvsDomain } from "../../plugins/driver-invs/domain.js";
import type { InvsDriver } from "../../plugins/driver-invs/index.js";
import { domainInvRange } from "../../plugins/driver-invs/inv-range.js";
import type { Invs } from "../../plugins/driver-invs/invs.js";
import { nhVa, SYNC } from "../helpers/cmds.js";
import { sim } from "../helpers/sim.js";

const topo: Topology = {
  smmus: [{ name: "smmu0", features: ["ats"] }],
  devices: [
    { name: "dev0", smmu: "smmu0", sids: [0x10], ats: true },
    { name: "dev1", smmu: "smmu0", sids: [0x20], ats: true },
  ],
  domains: [{ name: "d1", stage: "s1" }],
};

/** Advance `path` until it yields a step at `access`. */
function stepTo(path: Steps, access: string): Step {
  for (;;) {
    const r = path.next();
    if (r.done) throw new Error(`path ended before "${access}"`);
    if (r.value.access === access) return r.value;
  }
}

function finish(path: Steps): void {
  while (!path.next().done);
}

function reader(s: ReturnType<typeof sim>): { path: Steps; held: () => Invs; domain: InvsDomain } {
  const drv = s.driver as InvsDriver;
  const domain = drv.domain("d1") as InvsDomain;
  const path = domainInvRange(drv.ctx, domain, 0x10000n, 0x1000n, 0x1000, true);
  /* past rcu_dereference(): the reader now holds the array that was published */
  stepTo(path, "READ_ONCE(invs->num_invs)");
  return { path, held: () => domain.invs.protected_() as Invs, domain };
}

describe("kfree_rcu of a replaced array", () => {
  test("a reader holding the old array keeps it alive until it leaves its critical section", () => {
    const s = sim(topo);
    s.attach("dev0", "d1");
    const r = reader(s);
    const old = r.held();
    expect(s.attach("dev1", "d1")).toBe(0);
    expect(r.held()).not.toBe(old);
    expect(old.freed).toBe(false);
    s.clearCommands();
    finish(r.path);
    expect(old.freed).toBe(true);
    /* the reader invalidated for what its array held: dev0's entries only */
    expect(s.commands("smmu0")).toEqual([
      nhVa(1, 0x10000n),
      SYNC,
      { op: "ATC_INV", sid: 0x10, ssid: 0, ssv: false, global: false, size: 0, addr: 0x10000n },
      SYNC,
    ]);
  });

  test("an array freed under a reader (kfree instead of kfree_rcu) is a use after free", () => {
    const s = sim(topo);
    s.attach("dev0", "d1");
    const r = reader(s);
    const drv = s.driver as InvsDriver;
    drv.ctx.rcu.kfree(r.held());
    expect(() => finish(r.path)).toThrow(UseAfterFreeError);
  });

  test("the writer's rwlock waits for a reader on the ATS path", () => {
    const s = sim(topo);
    s.attach("dev0", "d1");
    s.attach("dev1", "d1");
    const r = reader(s);
    expect(r.held().readers).toBe(1);
    finish(r.path);
    expect(r.held().readers).toBe(0);
  });
});

describe("purge failing to allocate", () => {
  /* dev0 leaves: its ATS entry becomes trash between two live entries, so purge must allocate */
  const leave = (variant: string) => {
    const s = sim(topo, { driver: { variant } });
    s.attach("dev0", "d1");
    s.attach("dev1", "d1");
    s.map("d1", 0x10000, 0x1000);
    s.failAllocs("invs");
    s.attach("dev0", "blocked");
    return s;
  };

  test("mainline: purge returns NULL and is put off; the trash stays and invalidation skips it", () => {
    const s = leave("mainline");
    expect(s.invs("d1")).toEqual({
      entries: [
        { smmu: "smmu0", type: "S1_ASID", id: 1, ssid: 0, users: 1 },
        { smmu: "smmu0", type: "ATS", id: 0x10, ssid: 0, users: 0 },
        { smmu: "smmu0", type: "ATS", id: 0x20, ssid: 0, users: 1 },
      ],
      trashes: 1,
      hasAts: true,
    });
    s.clearCommands();
    s.unmap("d1", 0x10000, 0x1000);
    expect(s.commands("smmu0")).toEqual([
      nhVa(1, 0x10000n),
      SYNC,
      { op: "ATC_INV", sid: 0x20, ssid: 0, ssv: false, global: false, size: 0, addr: 0x10000n },
      SYNC,
    ]);
  });

  test("v9: purge returns ERR_PTR(-ENOMEM), which is published, and the next invalidation oopses", () => {
    const s = leave("v9");
    expect(s.invs("d1")?.error).toBe("ERR_PTR(-ENOMEM)");
    expect(() => s.unmap("d1", 0x10000, 0x1000)).toThrow(KernelOopsError);
    expect(() => s.invalidateAll("d1")).toThrow(
      "Unable to handle kernel paging request: arm_smmu_domain_inv_range dereferenced d1->invs = ERR_PTR(-ENOMEM)",
    );
  });
});
