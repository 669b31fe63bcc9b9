import { randomIds, systemClock } from "./clock.js";
import { GroupCommitter } from "./committer.js";
import { ConfigurationError } from "./errors.js";
import type { Unreadable } from "./evolution.js";
import { toIssues } from "./issues.js";
import type { Json } from "./json.js";
import { fingerprint as hash } from "./json.js";
import { KeyedQueue } from "./key-queue.js";
import type { AnyMachine, Typed } from "./machine.js";
import { DecisionKind } from "./machine.js";
import type {
  Clock,
  CommitOutcome,
  EntityRef,
  IdGenerator,
  InboxRecord,
  LoadResult,
  OutboxItem,
  StepRequest,
  StepWrite,
  TimerItem,
  UnitOfWork,
} from "./ports.js";
import { CommitOutcomeKind } from "./ports.js";
import type {
  Conflict,
  IntentRecord,
  Invalid,
  Issue,
  Outcome,
  Processed,
  RejectedResult,
  RunResult,
  UnreadableResult,
} from "./result.js";
import { InvalidReason, RunResultKind } from "./result.js";
import { isSchedule, MAX_EVENT_TIME } from "./schedule.js";
import { decideChecked, PurityMode } from "./step.js";
import { migrateEvent, readState } from "./versions.js";

/** What {@link Runtime} is built from. */
export interface RuntimeOptions {
  readonly store: UnitOfWork;
  readonly machines: readonly AnyMachine[];
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  /** Loads and decisions per event before giving up with `conflict` (default 10). */
  readonly maxAttempts?: number;
  /** Run each step twice on frozen input to catch impure machines (default `off`). */
  readonly purity?: PurityMode;
  /**
   * Group commit (default on): steps of different entities decided in the same turn of the
   * event loop are saved in one transaction, each with its own version, journal row, inbox
   * row and result; a step that fails fails alone. `false` commits every step on its own.
   */
  readonly groupCommit?: boolean | { readonly maxBatch?: number };
}

/** Per-call options of {@link Runtime.run}. */
export interface RunOptions {
  /** The event's id (idempotency key). A fresh one is generated when absent. */
  readonly eventId?: string;
  /** The event's time, epoch ms. Defaults to the clock's now. */
  readonly at?: number;
  /**
   * Apply the event only if the entity is at this version, or at one of these versions (0:
   * does not exist yet; an empty list matches nothing); otherwise answer `conflict` with
   * `expectedVersion` and `currentVersion` (HTTP's `If-Match`). Checked after the inbox on
   * every attempt, so a retried event is still answered as a duplicate.
   */
  readonly expectedVersion?: number | readonly number[];
  /**
   * The version of the machine's event schema `event` is written at (default: the current
   * `Machine.eventVersion`). An older event is migrated through `eventMigrations` before it is
   * parsed (the scheduler passes a timer's); a newer one is answered `unreadable`.
   */
  readonly eventVersion?: number;
}

const EVENT_ID = /^[\x21-\x7e]{1,255}$/;

/**
 * The loop: Load → Step (the pure machine decides) → Save, one unit of work per event.
 *
 * Steps on one entity are serialised in-process; a version conflict with another writer
 * is retried from Load. The runtime holds no business rule: it only looks at result kinds.
 *
 * @example
 * const runtime = new Runtime({ store: new MemoryStore(), machines: [doors] });
 * const result = await runtime.run({ machine: "doors", id: "door_1" }, { type: "Install" });
 * if (result.kind === RunResultKind.Processed) console.log(result.version); // 1
 */
export class Runtime {
  readonly #store: UnitOfWork;
  readonly #machines: ReadonlyMap<string, AnyMachine>;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #maxAttempts: number;
  readonly #purity: PurityMode;
  readonly #queue = new KeyedQueue();
  readonly #commit: (step: StepWrite) => Promise<CommitOutcome | undefined>;
  /** The store's {@link UnitOfWork.transact}, grouped like commits, when it has one. */
  readonly #transact: ((request: StepRequest) => Promise<CommitOutcome | undefined>) | undefined;

  constructor(options: RuntimeOptions) {
    const machines = new Map<string, AnyMachine>();
    for (const machine of options.machines) {
      if (machines.has(machine.name)) throw new ConfigurationError(`two machines are named "${machine.name}"`);
      machines.set(machine.name, machine);
    }
    const maxAttempts = options.maxAttempts ?? 10;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new ConfigurationError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
    }
    this.#store = options.store;
    this.#machines = machines;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? randomIds;
    this.#maxAttempts = maxAttempts;
    this.#purity = options.purity ?? PurityMode.Off;
    const group = options.groupCommit ?? true;
    const store = options.store;
    const transact = store.transact?.bind(store);
    if (group === false) {
      this.#commit = async (step) => (await store.commit([step]))[0];
      this.#transact = transact && (async (request) => (await transact([request]))[0]);
    } else {
      const maxBatch = group === true ? 256 : (group.maxBatch ?? 256);
      if (!Number.isInteger(maxBatch) || maxBatch < 1) {
        throw new ConfigurationError(`groupCommit.maxBatch must be a positive integer, got ${maxBatch}`);
      }
      const concurrency = store.commitConcurrency ?? 1;
      if (!Number.isInteger(concurrency) || concurrency < 1) {
        throw new ConfigurationError(`the store's commitConcurrency must be a positive integer, got ${concurrency}`);
      }
      // With batches in flight together, a queue of an eighth of a batch goes at once (32 of
      // 256): on PostgreSQL with 64 callers, 32 steps commit while the other 32 are decided
      // (bench/: ~10,000 -> ~12,000 steps/s; at 16 or with 3 in flight, more commits and less).
      const flushAt = Math.max(1, Math.ceil(maxBatch / 8));
      const committer = new GroupCommitter<StepWrite>((steps) => store.commit(steps), maxBatch, concurrency, flushAt);
      this.#commit = (step) => committer.commit(step);
      if (transact === undefined) this.#transact = undefined;
      else {
        const requests = new GroupCommitter<StepRequest>(transact, maxBatch);
        this.#transact = (request) => requests.commit(request);
      }
    }
  }

  /** The registered machines, by name. */
  get machines(): ReadonlyMap<string, AnyMachine> {
    return this.#machines;
  }

  /**
   * Apply one event to one entity. Never throws for bad input or a domain refusal: those
   * are results. Throws only for bugs (an impure machine, one that breaks its schemas) and
   * for an unavailable store; then nothing of the step was written.
   */
  async run(
    ref: { readonly machine: string; readonly id: string },
    event: unknown,
    options: RunOptions = {},
  ): Promise<RunResult> {
    const machine = this.#machines.get(ref.machine);
    if (machine === undefined) {
      const known = [...this.#machines.keys()].join(", ");
      return invalid(InvalidReason.UnknownMachine, `unknown machine "${ref.machine}" (known: ${known})`, []);
    }
    const id = machine.schemas.id.safeParse(ref.id);
    if (!id.success) {
      return invalid(
        InvalidReason.InvalidId,
        `invalid ${machine.name} id ${JSON.stringify(ref.id)}`,
        toIssues(id.error),
      );
    }
    const migrated = migrateEvent(machine, event, options.eventVersion ?? machine.eventVersion);
    if (!migrated.ok) return unreadable(machine.name, id.data, options.eventId ?? this.#ids.next(), migrated);
    const parsed = machine.schemas.event.safeParse(migrated.value);
    if (!parsed.success) {
      return invalid(InvalidReason.InvalidEvent, `invalid ${machine.name} event`, toIssues(parsed.error));
    }
    const eventId = options.eventId ?? this.#ids.next();
    if (!EVENT_ID.test(eventId)) {
      return invalid(
        InvalidReason.InvalidEventId,
        "an event id must be 1 to 255 printable ASCII characters without spaces",
        [],
      );
    }
    const at = options.at ?? this.#clock.now();
    if (!Number.isSafeInteger(at) || at < 0 || at > MAX_EVENT_TIME) {
      return invalid(
        InvalidReason.InvalidTime,
        `event time must be integer epoch milliseconds between 1970 and 9999, got ${at}`,
        [],
      );
    }
    const expectedVersion = options.expectedVersion;
    const wrong =
      expectedVersion === undefined
        ? undefined
        : [expectedVersion].flat().find((v) => !Number.isSafeInteger(v) || v < 0);
    if (wrong !== undefined) {
      return invalid(InvalidReason.InvalidVersion, `an expected version must be a whole number ≥ 0, got ${wrong}`, []);
    }
    const entity: EntityRef = { machine: machine.name, id: id.data };
    const input: Step = {
      machine,
      expectedVersion,
      ref: entity,
      event: parsed.data,
      eventId,
      at,
      fingerprint: hash([entity.machine, entity.id, parsed.data]),
    };
    return this.#queue.run(`${entity.machine}\u0000${entity.id}`, () => this.#step(input));
  }

  async #step(step: Step): Promise<RunResult> {
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      let decided: Decided;
      let committed: CommitOutcome | undefined;
      const transact = this.#transact;
      if (transact === undefined) {
        const loaded = await this.#store.load(step.ref, step.eventId);
        decided = this.#decide(step, loaded, attempt);
        if (decided.write === undefined) return decided.answer;
        committed = await this.#commit(decided.write);
      } else {
        // Decided inside the store's write transaction, on what it read there. A holder
        // object, because the store calls back: a closure's assignment is invisible to TS.
        const held: { decided?: Decided } = {};
        committed = await transact({
          ref: step.ref,
          eventId: step.eventId,
          decide: (loaded) => {
            held.decided = this.#decide(step, loaded, attempt);
            return held.decided.write;
          },
        });
        if (committed?.kind === CommitOutcomeKind.Failed) throw committed.error;
        if (held.decided === undefined) throw new Error("store.transact did not ask a step to decide");
        decided = held.decided;
        if (decided.write === undefined) return decided.answer;
      }
      switch (committed?.kind) {
        case CommitOutcomeKind.Committed:
          return decided.write.result;
        case CommitOutcomeKind.Duplicate:
          return replay(committed.record, step);
        case CommitOutcomeKind.Conflict:
          continue;
        case CommitOutcomeKind.Failed:
          throw committed.error;
        case undefined:
          throw new Error("the store returned no outcome for a step");
        default: {
          const exhaustive: never = committed;
          throw new Error(`unknown commit outcome ${JSON.stringify(exhaustive)}`);
        }
      }
    }
    const conflict: Conflict = {
      kind: RunResultKind.Conflict,
      machine: step.ref.machine,
      id: step.ref.id,
      eventId: step.eventId,
      attempts: this.#maxAttempts,
    };
    return conflict;
  }

  /**
   * What a step comes to on what was loaded: an answer that writes nothing, or the write to
   * commit. Synchronous and pure but for the machine's own checks (which throw on a bug), so
   * that a store may call it inside its write transaction.
   */
  #decide(step: Step, loaded: LoadResult, attempt: number): Decided {
    if (loaded.inbox !== undefined) return { answer: replay(loaded.inbox, step) };

    const current = loaded.entity;
    const expectedVersion = current?.version ?? 0;
    if (step.expectedVersion !== undefined && ![step.expectedVersion].flat().includes(expectedVersion)) {
      const mismatch: Conflict = {
        kind: RunResultKind.Conflict,
        machine: step.ref.machine,
        id: step.ref.id,
        eventId: step.eventId,
        attempts: attempt,
        expectedVersion: step.expectedVersion,
        currentVersion: expectedVersion,
      };
      return { answer: mismatch };
    }
    let state: unknown;
    if (current !== undefined) {
      const reading = readState(step.machine, current.state, current.stateVersion);
      if (!reading.ok) return { answer: unreadable(step.ref.machine, step.ref.id, step.eventId, reading) };
      state = reading.value;
    }
    const ctx = { entityId: step.ref.id, eventId: step.eventId, at: step.at };
    const outcome = decideChecked(step.machine, state, current !== undefined, step.event, ctx, this.#purity);
    switch (outcome.kind) {
      case RunResultKind.NotFound:
        return {
          answer: { kind: RunResultKind.NotFound, machine: step.ref.machine, id: step.ref.id, eventId: step.eventId },
        };
      case DecisionKind.Rejected:
        return { write: rejectionWrite(step, expectedVersion, outcome.reason, outcome.detail) };
      case DecisionKind.Accepted:
        return { write: acceptedWrite(step, expectedVersion, outcome.state as Json, outcome.intents) };
      default: {
        const exhaustive: never = outcome;
        throw new Error(`unknown decision ${JSON.stringify(exhaustive)}`);
      }
    }
  }
}

/** A step's decision: an answer that writes nothing, or a write (whose result is the answer once committed). */
type Decided =
  | { readonly answer: RunResult; readonly write?: undefined }
  | { readonly write: StepWrite; readonly answer?: undefined };

interface Step {
  readonly machine: AnyMachine;
  readonly ref: EntityRef;
  readonly event: Typed;
  readonly eventId: string;
  readonly at: number;
  readonly fingerprint: string;
  readonly expectedVersion: number | readonly number[] | undefined;
}

function invalid(reason: InvalidReason, message: string, issues: readonly Issue[]): Invalid {
  return { kind: RunResultKind.Invalid, reason, message, issues };
}

function unreadable(machine: string, id: string, eventId: string, reading: Unreadable): UnreadableResult {
  return {
    kind: RunResultKind.Unreadable,
    machine,
    id,
    eventId,
    subject: reading.subject,
    reason: reading.reason,
    storedVersion: reading.storedVersion,
    expectedVersion: reading.expectedVersion,
    message: `${machine}/${id}: ${reading.message}`,
    issues: reading.issues,
  };
}

/** A known event id: the same request is a duplicate; a different one reuses the key. */
function replay(record: InboxRecord, step: Step): RunResult {
  if (record.fingerprint !== step.fingerprint) {
    return invalid(
      InvalidReason.IdempotencyKeyReused,
      `event id "${step.eventId}" was already used for a different request; use a new id for a new event`,
      [],
    );
  }
  const original: Outcome = record.result;
  return { kind: RunResultKind.Duplicate, eventId: step.eventId, original };
}

function rejectionWrite(step: Step, expectedVersion: number, reason: string, detail: string | undefined): StepWrite {
  const result: RejectedResult = {
    kind: RunResultKind.Rejected,
    machine: step.ref.machine,
    id: step.ref.id,
    eventId: step.eventId,
    version: expectedVersion,
    reason,
    ...(detail === undefined ? {} : { detail }),
  };
  return {
    kind: DecisionKind.Rejected,
    ref: step.ref,
    eventId: step.eventId,
    fingerprint: step.fingerprint,
    at: step.at,
    expectedVersion,
    result,
  };
}

function acceptedWrite(step: Step, expectedVersion: number, state: Json, decided: readonly Typed[]): StepWrite {
  const version = expectedVersion + 1;
  const prefix = `${step.ref.machine}/${step.ref.id}/${version}/`;
  const intents: IntentRecord[] = decided.map((intent, index) => ({
    id: prefix + index,
    intent: intent as unknown as Json,
  }));
  const outbox: OutboxItem[] = [];
  const timers: TimerItem[] = [];
  decided.forEach((intent, index) => {
    const intentId = prefix + index;
    if (isSchedule(intent)) {
      const event = intent.event as unknown as Json;
      timers.push({ timerId: intentId, event, eventVersion: step.machine.eventVersion, dueAt: intent.at });
    } else outbox.push({ intentId, intent: intent as unknown as Json });
  });
  const result: Processed = {
    kind: RunResultKind.Processed,
    machine: step.ref.machine,
    id: step.ref.id,
    eventId: step.eventId,
    version,
    state,
    intents,
  };
  return {
    kind: DecisionKind.Accepted,
    ref: step.ref,
    eventId: step.eventId,
    fingerprint: step.fingerprint,
    at: step.at,
    expectedVersion,
    event: step.event as unknown as Json,
    eventVersion: step.machine.eventVersion,
    state,
    stateName: step.machine.stateName(state),
    stateVersion: step.machine.version,
    intents,
    outbox,
    timers,
    result,
  };
}
