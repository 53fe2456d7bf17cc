/**
 * An SMMU with an erratum, and the driver workaround it needs: the
 * workaround proposed for Tegra264, where every list of TLBI_* and CFGI_*
 * commands is issued twice, each time followed by CMD_SYNC. A full batch of
 * 64 that the driver would issue without a sync when it rolls over must
 * sync too. The plugin extends the built-in smmu-v3 and wraps its queue.
 *
 * Use it from a .smmu file with `use "./plugins/tegra264-smmu.ts";` and
 * `smmu smmu0 { plugin: "tegra264-smmu"; ... }`, or with
 * `smmu-emu run --plugin examples/plugins/tegra264-smmu.ts ...`.
 */
import { definePlugin } from "smmu-emu";

/** The commands the erratum needs issued twice. */
const affected = (op: string): boolean => op.startsWith("TLBI_") || op.startsWith("CFGI_");

export default definePlugin({
  kind: "smmu",
  name: "tegra264-smmu",
  version: "1.0.0",
  apiVersions: [1],
  extends: "smmu-v3",
  description: "smmu-v3 with the Tegra264 erratum workaround: TLBI/CFGI lists issued twice, each with CMD_SYNC",
  schema: { type: "object" },
  setup(ctx, base) {
    let doubled = 0;
    ctx.state.set("doubled", 0);
    ctx.intercept("smmu:cmdq", ctx.node, (req, next) => {
      if (!req.cmds.some((c) => affected(c.op))) return next(req);
      /* twice, each with its CMD_SYNC, whether or not the driver asked for one */
      const first = next({ ...req, sync: true });
      const second = next({ ...req, sync: true });
      ctx.state.set("doubled", ++doubled);
      /* the second reply says when the second CMD_SYNC completed: the CPU waits until then */
      return { ...second, synced: first.synced && second.synced };
    });
    return base!;
  },
});
