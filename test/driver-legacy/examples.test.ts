/**
 * Every example run under the driver before the series (`run --driver
 * legacy`): which scenarios pass, why each other one fails (its first
 * failure, exactly), and what the stale-translation oracle found. What
 * legacy cannot express fails with the kernel's error (a domain on a second
 * SMMU: -EINVAL, as under mainline; the examples that share one say
 * `driver invs share;`) or with "keeps no invalidation array": a scenario
 * whose first failure is such a lack is skipped; nothing crashes, and
 * the oracle finds nothing stale that the scenario does not expect. A new
 * example must say here how it fares under legacy. The run's report, with
 * its failures, diffs and violations, validates against
 * schemas/report.schema.json as `run --json` prints it.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, test } from "vitest";
import reportSchema from "../../schemas/report.schema.json" with { type: "json" };
import { loadSmmuWithPlugins } from "../../src/engine/load.js";
import { runFile } from "../../src/engine/runner.js";
import { builtinRegistry } from "../../src/index.js";
import { jsonReport } from "../../src/report/json.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));
const FILES = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith(".smmu"))
  .sort();

const validateReport = new Ajv2020({ strict: true, allErrors: true }).compile(reportSchema);

const noArray = (what: string): string => `driver-legacy keeps no invalidation array: ${what} needs a driver that has one (driver-invs)`;

interface Outcome {
  /** null: the scenario passes or is skipped; else its first failure, "line:column: message" */
  first: string | null;
  /** skipped (nothing failed, but legacy lacks what it needs): where and why, "line:column: reason" */
  skipped?: string;
  /** the kinds of what the oracle found */
  violations: string[];
}

const pass = (violations: string[] = []): Outcome => ({ first: null, violations });
const VSMMU1_REFUSED = "s2_parent->smmu != smmu (vsmmu1: its S2 parent s2 is on smmu0, not smmu1)";
const fail = (first: string): Outcome => ({ first, violations: [] });
const skip = (at: string): Outcome => ({ first: null, skipped: at, violations: [] });

/** Per example, per scenario. */
const UNDER_LEGACY: Record<string, Record<string, Outcome>> = {
  "ats-reattach.smmu": {
    /* nothing fails but its three `expect invs`, which legacy cannot check: the streams are the same as mainline's */
    "ATS off, then on again": skip(`17:3: ${noArray("expect invs s2")}`),
  },
  "failed-attach.smmu": {
    /* there is no array allocation to fail; the scenario stops there */
    "kzalloc of the merged array fails": skip(`16:3: ${noArray("fail alloc invs")}`),
    /* -ENOMEM as mainline; then only its two `expect invs` cannot be checked */
    "kzalloc of the master_domain fails after the merge": skip(`33:3: ${noArray("expect invs d2")}`),
  },
  "kunit-invs.smmu": {
    "mainline: arm_smmu_v3_invs_test (11 steps)": skip(`9:3: ${noArray("an array statement")}`),
    "v9: arm_smmu_v3_invs_test (7 steps)": skip(`43:3: ${noArray("an array statement")}`),
  },
  "inside.smmu": {
    /* `show invs` says legacy keeps no array, and is no failure; the TLB and the ATC are as under mainline */
    "what the platform holds after a DMA": pass(),
  },
  "invalidation-latency.smmu": {
    /* the pre-series SVA: a domain (and an ASID) per SMMU, the same commands, the same latency */
    "munmap of one page, 8 SMMUs with ATS": pass(),
    "unmap of one page of a domain shared by 8 SMMUs": skip("48:25: attach acc1 dom failed: -EINVAL (arm_smmu_attach_dev: smmu_domain->smmu != master->smmu)"),
  },
  "large-generated.smmu": {
    /* one domain, one SMMU: the first device behind smmu1 is refused (and every one after it): skipped there */
    "1024 devices behind 16 SMMUs share one domain": skip("23:36: attach dev64 shared failed: -EINVAL (arm_smmu_attach_dev: smmu_domain->smmu != master->smmu)"),
  },
  "litmus.smmu": {
    /* memory alone: no driver runs */
    SB: pass(),
    "SB+mbs": pass(),
    MP: pass(),
    "MP+wmb": pass(),
    "MP+release": pass(),
  },
  "lossy-atc.smmu": {
    /* the dropped ATC_INV is caught as under mainline, and expected */
    "the second ATC_INV is dropped": pass(["stale-translation"]),
  },
  "narrow-atc.smmu": {
    "an 8K unmap leaves the second page in the ATC": pass(["stale-translation"]),
    "two pages decoded, four unmapped": pass(["stale-translation"]),
  },
  "nested-8-vsmmus.smmu": {
    /* arm_vsmmu_init() refuses vsmmu1..7 (their S2 parent is on smmu0), so their guests cannot attach */
    "one S2 shared by 8 vSMMUs": skip(`26:25: attach gpu1 guest1 failed: -EINVAL (arm_vsmmu_init: ${VSMMU1_REFUSED})`),
    "a guest's own invalidation reaches only its SMMU": skip(`61:25: attach gpu1 guest1 failed: -EINVAL (arm_vsmmu_init: ${VSMMU1_REFUSED})`),
    /* vsmmu0 is on its S2 parent's SMMU: arm_vsmmu_cache_invalidate() is the same before the series */
    "the guest's own commands, as the host forwards them": pass(),
  },
  "race-ats-off.smmu": {
    /* `run` takes an interleaving without the drop; only the `expect invs` cannot be checked */
    "unmap races the detach that turns ATS off": skip(`23:3: ${noArray("expect invs d1")}`),
  },
  "race-attach-unmap.smmu": {
    /* nothing fails; only the `expect invs` cannot be checked: the interleavings leave nothing stale before the series either */
    "unmap races an attach to the same domain": skip(`28:3: ${noArray("expect invs d1")}`),
    "unmap races a detach of the last device": skip(`40:3: ${noArray("expect invs d1")}`),
    /* the old driver invalidates every master's ATC under the devices list's lock: nothing left stale */
    "unmap races a device leaving the domain": pass(),
    "unmap races a device leaving a purged array": pass(),
    "unmap races a DMA through the ATC": pass(),
  },
  "race-shared-domain.smmu": {
    /* one domain, one SMMU before the series: the second SMMU's attach is refused */
    "unmap races an attach on another SMMU, and its DMA": skip("25:5: attach gpu1 d1 failed: -EINVAL (arm_smmu_attach_dev: smmu_domain->smmu != master->smmu)"),
    "unmap races a move to the domain (a new CD)": skip("39:5: attach gpu1 d1 failed: -EINVAL (arm_smmu_attach_dev: smmu_domain->smmu != master->smmu)"),
    "unmap races a move away from the domain": skip("50:3: attach gpu1 d1 failed: -EINVAL (arm_smmu_attach_dev: smmu_domain->smmu != master->smmu)"),
  },
  "s1-shared.smmu": {
    "one S1 domain on two SMMUs": skip("22:3: attach nic0 d1 failed: -EINVAL (arm_smmu_attach_dev: smmu_domain->smmu != master->smmu)"),
  },
  "sva-4-smmus.smmu": {
    /* an SVA domain per SMMU with its own ASID, as mainline: its `expect invs` cannot be checked */
    "bind, munmap, release, unbind": skip(`22:3: ${noArray("expect invs proc")}`),
  },
  "sva-mm-exit.smmu": {
    /* the exit, the oops and -EOPNOTSUPP as mainline; the unbind flushes the ASID at arm_smmu_sva_domain_free(), after the STE */
    "the process exits, then a bind of its mm": fail("45:3: commands on smmu0 differ"),
  },
  "tegra264-erratum.smmu": {
    /* a domain per SMMU, as mainline needs too */
    "TLBI and CFGI lists twice, each with a sync": pass(),
    "a full batch rolling over syncs too": pass(),
  },
  "v9-as-posted.smmu": {
    /* v9's bugs are not the old driver's: no livelock, no shared ATS entry, no array to purge */
    "v9: a full flush of a nest parent never ends": fail("17:3: expected livelock, but nothing failed"),
    "v9: one domain at two PASIDs shares one ATS entry": skip(`26:3: ${noArray("expect invs d1")}`),
    "v9: a failed purge publishes ERR_PTR(-ENOMEM)": skip(`38:3: ${noArray("fail alloc invs")}`),
  },
};

test("every example says how it fares under driver-legacy", () => {
  expect(Object.keys(UNDER_LEGACY).sort()).toEqual(FILES);
});

describe("every example under --driver legacy", () => {
  test.each(FILES)("%s", async (name) => {
    const path = join(EXAMPLES, name);
    const registry = builtinRegistry();
    const results = runFile(await loadSmmuWithPlugins(path, registry), { registry, driver: { plugin: "driver-legacy" } });
    const got = Object.fromEntries(
      results.map((r) => {
        expect(r.driver).toEqual({ plugin: "driver-legacy", variant: "v7.0" });
        expect(r.passed).toBe(r.failures.length === 0);
        const s = r.skipped;
        /* a skipped scenario's first failure is its lack: the skip says it */
        const f = s ? undefined : r.failures[0];
        expect(s && [s.span, s.reason, s.lacks]).toEqual(s && [r.failures[0]!.span, r.failures[0]!.message, r.failures[0]!.lacks]);
        const outcome: Outcome = {
          first: f ? `${f.span.line}:${f.span.column}: ${f.message}` : null,
          ...(s ? { skipped: `${s.span.line}:${s.span.column}: ${s.reason}` } : {}),
          violations: r.violations.map((v) => v.kind),
        };
        return [r.name, outcome];
      }),
    );
    expect(got).toEqual(UNDER_LEGACY[name]);
    const doc: unknown = JSON.parse(JSON.stringify(jsonReport([{ file: path, scenarios: results }], [], "0.0.0")));
    expect(validateReport(doc), JSON.stringify(validateReport.errors, null, 2)).toBe(true);
  });
});
