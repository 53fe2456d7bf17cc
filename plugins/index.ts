/**
 * The built-in plugins, written against the same exported API as a user's
 * (the drivers before, then with, the series). A function, not a constant:
 * src/index.ts (the composition root) and these modules import each other,
 * and the list is only read once every module has been evaluated.
 */
import type { Plugin } from "../src/index.js";
import driverInvs from "./driver-invs/index.js";
import driverLegacy from "./driver-legacy/index.js";
import pcieAts from "./pcie-ats/index.js";
import smmuV3 from "./smmu-v3/index.js";
import vsmmu from "./vsmmu/index.js";

export function builtinPlugins(): readonly Plugin[] {
  return [smmuV3, pcieAts, vsmmu, driverLegacy, driverInvs];
}
