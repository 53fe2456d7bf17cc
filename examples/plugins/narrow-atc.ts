/**
 * An endpoint whose ATC decodes only part of the range of an ATS Invalidate
 * Request. The driver asks for the right span (arm_smmu_atc_inv_to_cmd()
 * rounds it up to a power of two of 4 KiB pages, the command's `size`), the
 * SMMU sends it encoded in the address with the S bit, and the device takes
 * any span wider than 2^max_size pages as its first 2^max_size pages. It
 * still answers "completed", so the CMD_SYNC completes and the unmap returns
 * while the rest of the range stays in the ATC; the stale-translation
 * oracle catches the first DMA served from it. A whole-ATC invalidation
 * (ATC_INV_SIZE_ALL, what arm_smmu_atc_inv_master() sends around attach and
 * flush_iotlb_all) has its own all-ones encoding and is honoured. Extends
 * pcie-ats: the ATC itself is the built-in one.
 */
import { ATC_INV_SIZE_ALL, definePlugin } from "smmu-emu";

export default definePlugin({
  kind: "device",
  name: "narrow-atc",
  version: "1.0.0",
  apiVersions: [1],
  extends: "pcie-ats",
  description: "pcie-ats whose ATC invalidates at most 2^max_size pages of a ranged ATC_INV",
  schema: {
    type: "object",
    properties: {
      props: {
        type: "object",
        properties: {
          max_size: {
            type: "integer",
            minimum: 0,
            maximum: ATC_INV_SIZE_ALL - 1,
            description: "the widest span it decodes, as log2 of 4 KiB pages (0 by default: one page)",
          },
        },
      },
    },
  },
  setup(ctx, base) {
    const maxSize = (ctx.spec.props?.max_size as number | undefined) ?? 0;
    let narrowed = 0;
    ctx.state.set("narrowed", 0);
    ctx.intercept("ep:atc-inv", ctx.node, (req, next) => {
      if (req.size <= maxSize || req.size === ATC_INV_SIZE_ALL) return next(req);
      /* the first 2^max_size pages of the span go; the device says it is done */
      ctx.state.set("narrowed", ++narrowed);
      return next({ ...req, size: maxSize });
    });
    return base!;
  },
});
