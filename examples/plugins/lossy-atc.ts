/**
 * An endpoint whose ATC drops one invalidation: it answers the Nth ATC
 * Invalidate Request it receives (property `drop`, 1 by default) as
 * completed but keeps its entries. The stale-translation oracle catches the
 * next DMA served from the entry that should have gone. Extends pcie-ats.
 */
import { definePlugin } from "smmu-emu";

export default definePlugin({
  kind: "device",
  name: "lossy-atc",
  version: "1.0.0",
  apiVersions: [1],
  extends: "pcie-ats",
  description: "pcie-ats whose ATC silently drops one ATC_INV (the Nth, property drop)",
  schema: {
    type: "object",
    properties: {
      props: {
        type: "object",
        properties: { drop: { type: "integer", minimum: 1, description: "which ATC_INV to drop, counting from 1" } },
        additionalProperties: false,
      },
    },
  },
  setup(ctx, base) {
    const drop = (ctx.spec.props?.drop as number | undefined) ?? 1;
    let seen = 0;
    ctx.state.set("dropped", 0);
    ctx.intercept("ep:atc-inv", ctx.node, (req, next) => {
      if (++seen !== drop) return next(req);
      ctx.state.set("dropped", 1);
      return { completed: true };
    });
    return base!;
  },
});
