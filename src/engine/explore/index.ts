/**
 * The schedule explorer (`smmu-emu explore`): systematic and sampled search
 * over the interleavings of a Program's agents. See docs/explore.md.
 */
export type { Program, ProgramFactory } from "./program.js";
export { explore, merge, type ExploreOptions, type Summary } from "./explore.js";
export { exploreParallel, ExplorePool, SearchStalled } from "./parallel.js";
export type { StalledPlace } from "./watched.js";
export { replay, encodeSchedule, decodeSchedule, ScheduleError } from "./schedule.js";
export type { Bound, FailureReport } from "./tally.js";
export { ToyProgram, parseThread, type ToySpec } from "./toy.js";
