export type { Random } from "./random.js";
export { between, seededRandom } from "./random.js";
export type { Expected, ExpectedIntent, GivenEvent } from "./scenario.js";
export { SCENARIO_EPOCH, Scenario, scenario, Then } from "./scenario.js";
export { acceptedWrite, rejectionWrite, STEP_EPOCH } from "./step-writes.js";
export type { ConformanceOptions, TestApi } from "./store-conformance.js";
export { runStoreConformance } from "./store-conformance.js";
export { TALLY_LIMIT, TallyId, TallyRejection, tallyMachine } from "./tally-machine.js";
