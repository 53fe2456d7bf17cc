/** Topologies more than one driver's tests run. */
import type { Topology } from "../../src/model/topology.js";

/** An SVA process p1; acc0 and acc1 (ATS, 20 PASID bits) behind smmu0, which has SVA; acc2 behind smmu1, which does not. */
export const SVA_TWO_ON_ONE_SMMU: Topology = {
  smmus: [
    { name: "smmu0", features: ["ats", "sva", "cd2l"] },
    { name: "smmu1", features: ["ats", "cd2l"] },
  ],
  devices: [
    { name: "acc0", smmu: "smmu0", sids: [0x100], ats: true, pasidBits: 20 },
    { name: "acc1", smmu: "smmu0", sids: [0x200], ats: true, pasidBits: 20 },
    { name: "acc2", smmu: "smmu1", sids: [0x300], ats: true, pasidBits: 20 },
  ],
  domains: [{ name: "p1", stage: "sva" }],
};
