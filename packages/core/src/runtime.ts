import type { Attributes, Tracer, TracerProvider } from "@opentelemetry/api";
import { SpanKind, trace } from "@opentelemetry/api";
import { randomIds, systemClock } from "./clock.js";
import type { BatchCommit } from "./committer.js";
import { GroupCommitter } from "./committer.js";
import type { Decided, Step } from "./decided.js";
import { acceptedWrite, invalid, rejectionWrite, replay, unreadable } from "./decided.js";
import { ConfigurationError } from "./errors.js";
import { toIssues } from "./issues.js";
import type { Json } from "./json.js";
import { fingerprint as hash } from "./json.js";
import { KeyedQueue } from "./key-queue.js";
import type { AnyMachine } from "./machine.js";
import { DecisionKind } from "./machine.js";
import type {
  Clock,
  CommitOutcome,
  EntityRef,
  IdGenerator,
  LoadResult,
  StepRequest,
  StepWrite,
  UnitOfWork,
} from "./ports.js";
import { CommitOutcomeKind } from "./ports.js";
import type { Conflict, RunResult } from "./result.js";
import { InvalidReason, RunResultKind } from "./result.js";
import type { RunOptions } from "./run-options.js";
import { MAX_EVENT_TIME } from "./schedule.js";
import { decideChecked, PurityMode } from "./step.js";
import {
  activeContext,
  contextOfTraceParent,
  droverTracer,
  recordFailure,
  SpanName,
  TraceAttr,
  traceParentOf,
} from "./tracing.js";
import type { TypedClient } from "./typed-client.js";
import { typedClient } from "./typed-client.js";
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
  /**
   * Where `drover.run` and `drover.commit` spans go (default: the provider the application
   * registered with the OpenTelemetry API; none registered, they cost next to nothing).
   */
  readonly tracerProvider?: TracerProvider;
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
  readonly #tracer: Tracer;

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
    this.#tracer = droverTracer(options.tracerProvider);
    const group = options.groupCommit ?? true;
    const store = options.store;
    const commit = tracedCommit<StepWrite>(this.#tracer, (steps) => store.commit(steps));
    const storeTransact = store.transact?.bind(store);
    const transact = storeTransact && tracedCommit(this.#tracer, storeTransact);
    if (group === false) {
      this.#commit = async (step) => (await commit([step]))[0];
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
      const committer = new GroupCommitter<StepWrite>(commit, maxBatch, concurrency, flushAt);
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
   * A client of one registered machine whose `run(id, event)` is type-checked against the
   * machine's events and answers with its state type; a {@link ConfigurationError} for a
   * machine this runtime was not built with.
   *
   * @example
   * const result = await runtime.for(doors).run("door_1", { type: "Install" });
   * if (result.kind === RunResultKind.Processed) console.log(result.state.status); // "closed"
   * // runtime.for(doors).run("door_1", { type: "Opne" }) does not compile
   */
  for<M extends AnyMachine>(machine: M): TypedClient<M> {
    return typedClient(machine, this.#machines, "runtime", (ref, event, options) => this.run(ref, event, options));
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
    const parent = options.trace ?? activeContext();
    const span = this.#tracer.startSpan(SpanName.Run, { kind: SpanKind.INTERNAL }, parent);
    if (!span.isRecording()) {
      span.end();
      return this.#run(ref, event, options, undefined);
    }
    const tally: Tally = { attempts: 0, traceParent: traceParentOf(trace.setSpan(parent, span)) };
    try {
      const result = await this.#run(ref, event, options, tally);
      span.setAttributes(runAttributes(ref, event, result, tally));
      if (result.kind === RunResultKind.Rejected) {
        span.addEvent("drover.rejected", { [TraceAttr.RejectionReason]: result.reason });
      }
      return result;
    } catch (error) {
      span.setAttributes(runAttributes(ref, event, undefined, tally));
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  async #run(
    ref: { readonly machine: string; readonly id: string },
    event: unknown,
    options: RunOptions,
    tally: Tally | undefined,
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
      traceParent: tally?.traceParent,
    };
    return this.#queue.run(`${entity.machine}\u0000${entity.id}`, () => this.#step(input, tally));
  }

  async #step(step: Step, tally: Tally | undefined): Promise<RunResult> {
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      if (tally !== undefined) tally.attempts = attempt;
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
          traceParent: step.traceParent,
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

/** What a traced run learns on the way: the attempts it took and the step's trace context. */
interface Tally {
  attempts: number;
  readonly traceParent: string | undefined;
}

function runAttributes(ref: EntityRef, event: unknown, result: RunResult | undefined, tally: Tally): Attributes {
  const type = (event as { type?: unknown } | null)?.type;
  const attributes: Attributes = {
    [TraceAttr.Machine]: ref.machine,
    [TraceAttr.EntityId]: ref.id,
    [TraceAttr.Attempts]: tally.attempts,
  };
  if (typeof type === "string") attributes[TraceAttr.EventType] = type;
  if (result === undefined) return attributes;
  attributes[TraceAttr.ResultKind] = result.kind;
  if ("eventId" in result) attributes[TraceAttr.EventId] = result.eventId;
  if (result.kind === RunResultKind.Processed || result.kind === RunResultKind.Rejected) {
    attributes[TraceAttr.Version] = result.version;
  }
  if (result.kind === RunResultKind.Rejected) attributes[TraceAttr.RejectionReason] = result.reason;
  return attributes;
}

/**
 * A store's commit (or transact) wrapped in a `drover.commit` span: a child of the first
 * step's run, linked to the others' (one transaction serves many traces).
 */
function tracedCommit<T extends StepWrite | StepRequest>(tracer: Tracer, commit: BatchCommit<T>): BatchCommit<T> {
  return async (items) => {
    const contexts = items.flatMap((item) => {
      // A rejection's write has no trace context of its own: its run span has the answer.
      const parent = (item as { readonly traceParent?: string | undefined }).traceParent;
      return parent === undefined ? [] : [contextOfTraceParent(parent)];
    });
    const [first, ...others] = contexts;
    if (first === undefined) return commit(items);
    const span = tracer.startSpan(
      SpanName.Commit,
      {
        kind: SpanKind.INTERNAL,
        attributes: { [TraceAttr.BatchSize]: items.length, "db.operation.name": "commit" },
        links: others.flatMap((ctx) => {
          const spanContext = trace.getSpanContext(ctx);
          return spanContext === undefined ? [] : [{ context: spanContext }];
        }),
      },
      first,
    );
    try {
      return await commit(items);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  };
}
