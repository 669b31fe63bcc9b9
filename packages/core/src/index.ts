export type { AppObserver, AppOptions, ResultReport } from "./app.js";
export { App } from "./app.js";
export { randomIds, systemClock, uuidv7 } from "./clock.js";
export type { Component, ComponentHealth, MetricFamily } from "./component.js";
export type { AttemptReport, DispatcherOptions, DispatcherSettings, RunFunction } from "./dispatcher.js";
export { AttemptOutcome, Dispatcher } from "./dispatcher.js";
export type { EffectLimit } from "./effect-limits.js";
export type { EffectContext, EffectHandler, EffectHandlers, EffectLimits, Effects, FollowUp } from "./effects.js";
export { declaredEventTypes, declaredIntentTypes, defineEffects, followUp } from "./effects.js";
export {
  ConfigurationError,
  DroverError,
  EffectTimeoutError,
  FollowUpError,
  ImpurityError,
  LeaseLostError,
  MachineContractError,
  PermanentEffectError,
  StoreUnavailableError,
} from "./errors.js";
export type { Migration, Migrations, Reading, Unreadable, Versioned } from "./evolution.js";
export { migrateVersioned, readVersioned, UnreadableReason, VersionedSubject } from "./evolution.js";
export type { IntentFailed } from "./intent-failed.js";
export { INTENT_FAILED, IntentFailedEvent, intentFailedEventId } from "./intent-failed.js";
export type { Json } from "./json.js";
export { fingerprint, stableStringify } from "./json.js";
export { KeyedQueue } from "./key-queue.js";
export { checkInstanceName, LeaseIdentity } from "./lease-owner.js";
export type { Logger } from "./logger.js";
export { jsonLogger, silentLogger, traceFields } from "./logger.js";
export type {
  Accepted,
  AnyMachine,
  Decision,
  Machine,
  MachineDefinition,
  MachineEvent,
  MachineEventInput,
  MachineId,
  MachineIdInput,
  MachineIntent,
  MachineRejection,
  MachineState,
  Rejected,
  StepContext,
  Typed,
} from "./machine.js";
export { accept, DecisionKind, defineMachine, reject } from "./machine.js";
export { MemoryStore } from "./memory-store.js";
export type {
  AcceptedWrite,
  AttemptFailure,
  ClaimQuery,
  Clock,
  CommitOutcome,
  EntityCount,
  EntityRef,
  IdGenerator,
  InboxRecord,
  IntentControls,
  JournalEntry,
  LeaseRelease,
  ListQuery,
  LoadResult,
  OutboxItem,
  OutboxQuery,
  OutboxQueue,
  OutboxRecord,
  PausedIntentType,
  ReadModel,
  RejectionWrite,
  ReleasedLeases,
  SlotRequest,
  StateRewrite,
  StateVersionCount,
  StepRequest,
  StepWrite,
  Store,
  StoredEntity,
  TimerItem,
  TimerQuery,
  TimerQueue,
  TimerRecord,
  TokenRequest,
  UnitOfWork,
  WorkQueue,
} from "./ports.js";
export { CommitOutcomeKind, noTimerRows, OutboxStatus, TimerStatus } from "./ports.js";
export type { RecurringOptions, RecurringSchedule } from "./recurring.js";
export { RecurringEvents } from "./recurring.js";
export type { Divergence } from "./replay.js";
export { DivergenceKind, replayJournal } from "./replay.js";
export type {
  Conflict,
  Duplicate,
  IntentRecord,
  Invalid,
  Issue,
  NotFound,
  Outcome,
  Processed,
  RejectedResult,
  RunResult,
  UnreadableResult,
} from "./result.js";
export { InvalidReason, RunResultKind } from "./result.js";
export type { RunOptions } from "./run-options.js";
export type { RuntimeOptions } from "./runtime.js";
export { Runtime } from "./runtime.js";
export type { CancelSchedule, Schedule } from "./schedule.js";
export {
  CANCEL_SCHEDULE,
  CancelScheduleIntent,
  cancelSchedule,
  Instant,
  isCancelSchedule,
  isSchedule,
  MAX_EVENT_TIME,
  SCHEDULE,
  schedule,
  scheduleSchema,
  TimerKey,
} from "./schedule.js";
export type { SchedulerOptions, SchedulerSettings, TimerReport } from "./scheduler.js";
export { Scheduler, TimerOutcome } from "./scheduler.js";
export { conventionalStateName } from "./state-name.js";
export type { StepOutcome } from "./step.js";
export { decide, decideChecked, PurityMode } from "./step.js";
export type { StoredToken, TokenSnapshot, TokenVault } from "./token-vault.js";
export {
  contextOfTraceParent,
  droverTracer,
  SpanName,
  TRACER_NAME,
  TraceAttr,
  traceParentOf,
} from "./tracing.js";
export type { TypedClient, TypedRunResult } from "./typed-client.js";
export type { UpgradeFailure, UpgradeOptions, UpgradeReport, UpgradeStore, VersionTally } from "./upgrade.js";
export { UpgradeFailureKind, upgradeMachine } from "./upgrade.js";
export { eventSchemaOf, migrateEvent, readState, stateSchemaOf } from "./versions.js";
export type { Backoff, LoopProgress } from "./work-loop.js";
export { DEFAULT_LEASE_MS } from "./work-loop.js";
