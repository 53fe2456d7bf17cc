/**
 * arm-smmu-v3: not a plugin, but the library the two driver plugins build
 * on, holding what the kernel's driver shares between v7.0 (driver-legacy)
 * and v7.1 (driver-invs): the command queue and batches, range and ATC
 * encoding, the STE/CD makers and writer, masters, domains, the mm, the
 * vSMMU, and the attach sequence with hooks for the steps that differ.
 * These are the pieces the drivers use.
 */
export { type AttachEnv, type AttachHooks, type AttachState } from "./attach.js";
export { batchAdd, batchInit, batchSubmit, CmdqBatch, insertCmdlist, issueCmd, type PendingSync, pollSync } from "./cmdq.js";
export { BASE_ALLOC_SITES, DriverContext, type Mutation } from "./context.js";
export { type IdAllocator, type IommuDomain, NestedDomain, SmmuDomain, SvaProcess, toSmmuDomainDevices } from "./domain.js";
export { ArmSmmuDriver } from "./driver.js";
export { writeReleasedSvaCds } from "./install.js";
export { Master, probeMasters } from "./master.js";
export { atcInvToCmd, batchAddRange, invSizeTooBig, IOMMU_NO_PASID, SIZE_MAX, U64 } from "./range.js";
