/**
 * The schedule explorer (`smmu-emu explore`): systematic and sampled search
 * over the interleavings of a Program's agents. See docs/explore.md.
 */
export type { Access, AccessKind, Choice, Execution, Failure, Program, ProgramFactory, Result, StepInfo, Waiting } from "./program.js";
export { conflicts } from "./program.js";
export { explore, merge, normalize, type ExploreMode, type ExploreOptions, type NormalizedOptions, type OnUnit, type Summary } from "./explore.js";
export { exploreParallel } from "./parallel.js";
export { replay, encodeSchedule, decodeSchedule, ScheduleError, type Decision, type Replayed } from "./schedule.js";
export type { Bound, FailureReport } from "./tally.js";
export { ToyProgram, toyProgram, parseThread, type ToySpec, type ToyOp } from "./toy.js";
