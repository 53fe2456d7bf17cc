/** The built-in plugins, registered through the same API as a user's (the drivers before, then with, the series). */
import type { Plugin } from "../src/plugin/api.js";
import driverInvs from "./driver-invs/index.js";
import driverLegacy from "./driver-legacy/index.js";
import pcieAts from "./pcie-ats/index.js";
import smmuV3 from "./smmu-v3/index.js";
import vsmmu from "./vsmmu/index.js";

export const BUILTIN_PLUGINS: readonly Plugin[] = [smmuV3, pcieAts, vsmmu, driverLegacy, driverInvs];
