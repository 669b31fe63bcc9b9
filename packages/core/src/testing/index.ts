export type { Random } from "../random.js";
export { between, seededRandom } from "../random.js";
export { alarmMachine } from "./alarm-machine.js";
export type { ClaimSeen, ConformanceOptions, TestApi } from "./conformance/index.js";
export {
  assertClaimRaceSettled,
  commitAll,
  commitClaimRace,
  raceEntities,
  runStoreConformance,
} from "./conformance/index.js";
export { LedgerId, LedgerRejection, ledgerMachine } from "./ledger-machine.js";
export { MemoryTokenVault } from "./memory-token-vault.js";
export type { Expected, ExpectedIntent, GivenEvent } from "./scenario.js";
export { Migrated, migrationScenario, SCENARIO_EPOCH, Scenario, scenario, Then } from "./scenario.js";
export {
  checkStateNameUpgrade,
  checkWritesAfterStateNameUpgrade,
  stateNameFixtureSteps,
} from "./state-name-upgrade.js";
export type { TimerSpec } from "./step-writes.js";
export { acceptedWrite, queueWrite, rejectionWrite, STEP_EPOCH, timerWrite } from "./step-writes.js";
export { TALLY_LIMIT, TallyId, TallyRejection, tallyMachine } from "./tally-machine.js";
export type { OutboxView, TestApp, TestAppOptions } from "./test-app.js";
export { testApp } from "./test-app.js";
export { TestClock } from "./test-clock.js";
export type { Answer, HandledIntent, IntentBody } from "./test-effects.js";
export { answers } from "./test-effects.js";
export { checkTimerKeysUpgrade } from "./timer-keys-upgrade.js";
export type { TokenVaultConformanceOptions } from "./token-vault-conformance.js";
export { runTokenVaultConformance, storedToken } from "./token-vault-conformance.js";
export { checkTraceContextUpgrade } from "./trace-context-upgrade.js";
export type { TransitionRecorder } from "./transitions.js";
export { recordTransitions } from "./transitions.js";
export { checkVersionUpgrade } from "./version-upgrade.js";
