import type * as port from "@drover/core";
import { CommitOutcomeKind, DecisionKind, OutboxStatus } from "@drover/core";
import type Database from "better-sqlite3";
import { rows } from "./rows.js";
import type { Statements } from "./statements.js";
import { isUnavailable } from "./unavailable.js";

const COMMITTED: port.CommitOutcome = Object.freeze({ kind: CommitOutcomeKind.Committed });
const NOTHING: port.LoadResult = Object.freeze({ entity: undefined, inbox: undefined });

/** Runs a batch of items in one `BEGIN IMMEDIATE` transaction: one outcome per item, in order. */
type Batch<Item> = (items: readonly Item[]) => port.CommitOutcome[];

/**
 * The write side of a step: {@link StepWriter.commit} applies steps decided on an earlier
 * load, {@link StepWriter.transact} loads, decides and applies each step inside the write
 * transaction (one transaction per batch instead of a read and a write per step; nothing else
 * writes meanwhile, so no step can conflict). Synchronous: the store translates errors.
 */
export class StepWriter {
  readonly #sql: Statements;
  readonly commit: Batch<port.StepWrite>;
  readonly transact: Batch<port.StepRequest>;

  constructor(db: Database.Database, statements: Statements) {
    this.#sql = statements;
    this.commit = batches(db, (step: port.StepWrite) => this.#apply(step));
    this.transact = batches(db, (request: port.StepRequest) => this.#decideAndApply(request));
  }

  /** A step decided on an earlier load: its event id may have been recorded since. */
  #apply(step: port.StepWrite): port.CommitOutcome {
    const seen = this.#sql.inbox.get(step.eventId, step.eventId);
    if (seen !== undefined) return { kind: CommitOutcomeKind.Duplicate, record: rows.toInbox(seen) };
    return this.#write(step);
  }

  /**
   * An entity and the inbox record of an event id, in one statement (so one read snapshot): the
   * store's `load`, and each step's read inside {@link transact}.
   */
  load(ref: port.EntityRef, eventId: string): port.LoadResult {
    const row = this.#sql.load.get({ machine: ref.machine, id: ref.id, eventId });
    return row === undefined ? NOTHING : rows.fromLoadRow(row, ref, eventId);
  }

  /** Load inside the transaction and ask the step: what it reads here is what it writes on. */
  #decideAndApply(request: port.StepRequest): port.CommitOutcome {
    const loaded = this.load(request.ref, request.eventId);
    let step: port.StepWrite | undefined;
    try {
      step = request.decide(loaded);
    } catch (error) {
      // A bug of the machine's: nothing was written for this step, its neighbours go on.
      return { kind: CommitOutcomeKind.Failed, error };
    }
    return step === undefined ? COMMITTED : this.#write(step);
  }

  /** The version-checked writes of a step whose event id is not in the inbox. */
  #write(step: port.StepWrite): port.CommitOutcome {
    const sql = this.#sql;
    const { machine, id } = step.ref;

    if (step.kind === DecisionKind.Rejected) {
      const current = sql.version.get(machine, id) ?? 0;
      if (current !== step.expectedVersion) return { kind: CommitOutcomeKind.Conflict, currentVersion: current };
      sql.insertRefusal.run(step.eventId, machine, id, step.fingerprint, JSON.stringify(step.result), step.at);
      return COMMITTED;
    }

    const state = JSON.stringify(step.state);
    const moved =
      step.expectedVersion === 0
        ? sql.createEntity.run(machine, id, state, step.stateName, step.stateVersion, step.at, step.at)
        : sql.updateEntity.run(state, step.stateName, step.stateVersion, step.at, machine, id, step.expectedVersion);
    if (moved.changes === 0) {
      return { kind: CommitOutcomeKind.Conflict, currentVersion: sql.version.get(machine, id) ?? 0 };
    }
    this.#writeAccepted(step, state);
    return COMMITTED;
  }

  #writeAccepted(step: port.AcceptedWrite, state: string): void {
    const sql = this.#sql;
    const { machine, id } = step.ref;
    const version = step.expectedVersion + 1;
    const { at } = step;
    // Opaque to the store: the runtime writes a valid traceparent or none.
    const traceParent = step.traceParent ?? null;
    // The journal row is also the event's inbox record: step.result is read back from its
    // columns (see statements.ts), so it is not written a second time.
    sql.insertJournal.run(
      machine,
      id,
      version,
      step.eventId,
      step.fingerprint,
      JSON.stringify(step.event),
      step.eventVersion,
      state,
      step.stateVersion,
      JSON.stringify(step.intents),
      at,
    );
    for (const item of step.outbox) {
      const intent = JSON.stringify(item.intent);
      sql.insertOutbox.run(item.intentId, machine, id, intent, OutboxStatus.Pending, at, at, traceParent);
    }
    // Cancels first, then the new timers, each replacing the entity's pending timer of its key:
    // all in the step's transaction, so a step that fails cancels nothing.
    for (const name of step.cancelTimers ?? []) {
      sql.cancelTimersByKey.run(machine, id, name);
      sql.cancelTimerById.run(name, machine, id);
    }
    for (const item of step.timers) {
      const key = item.key ?? null;
      if (key !== null) sql.cancelTimersByKey.run(machine, id, key);
      const event = JSON.stringify(item.event);
      sql.insertTimer.run(
        item.timerId,
        key,
        machine,
        id,
        event,
        item.eventVersion,
        item.dueAt,
        item.dueAt,
        traceParent,
      );
    }
  }
}

/**
 * One transaction for a batch. One item needs no savepoint: the transaction itself is its
 * all-or-nothing boundary. Items that conflict or are duplicates write nothing, so a batch
 * needs savepoints only when an item throws halfway: it is tried without (a savepoint per
 * item costs ~10% here), and when one throws, the whole transaction is rolled back and made
 * again with a savepoint per item, so that the failing one rolls back alone.
 */
function batches<Item>(db: Database.Database, apply: (item: Item) => port.CommitOutcome): Batch<Item> {
  // Called inside `withSavepoints`, the same function runs in a savepoint.
  const one = db.transaction(apply);
  const failedAlone = (item: Item, run: (item: Item) => port.CommitOutcome): port.CommitOutcome => {
    try {
      return run(item);
    } catch (error) {
      if (isUnavailable(error)) throw error;
      return { kind: CommitOutcomeKind.Failed, error };
    }
  };
  const withSavepoints = db.transaction((items: readonly Item[]) => items.map((item) => failedAlone(item, one)));
  const withoutSavepoints = db.transaction((items: readonly Item[]) => items.map(apply));
  return (items) => {
    const [first] = items;
    if (first === undefined) return [];
    if (items.length === 1) return [failedAlone(first, one.immediate)];
    try {
      return withoutSavepoints.immediate(items);
    } catch (error) {
      if (isUnavailable(error)) throw error;
    }
    return withSavepoints.immediate(items);
  };
}
