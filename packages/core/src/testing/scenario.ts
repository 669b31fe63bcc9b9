import assert from "node:assert/strict";
import type { z } from "zod";
import type { Reading, UnreadableReason } from "../evolution.js";
import { describeIssues, toIssues } from "../issues.js";
import type { Machine, StepContext, Typed } from "../machine.js";
import { DecisionKind } from "../machine.js";
import { RunResultKind } from "../result.js";
import { decideChecked, PurityMode } from "../step.js";
import { readState } from "../versions.js";

/** The epoch a scenario's clock starts at: 2026-01-01T00:00:00Z. */
export const SCENARIO_EPOCH = Date.UTC(2026, 0, 1);

/** What a `given` event may carry: the event, or the event with its time. */
export type GivenEvent<Event> = Event | { readonly event: Event; readonly at: number };

/** A partial expectation of a state: its keys are checked by type, its values by deep equality. */
export type Expected<State> = State extends unknown ? { readonly [K in keyof State]?: unknown } : never;

/**
 * An expected intent: its type alone, or its type and the members to check (a partial match,
 * like {@link Expected}: the members are checked by name against that intent type, the values
 * by deep equality as plain JSON).
 */
export type ExpectedIntent<Intent> = Intent extends Typed
  ? Intent["type"] | ({ readonly type: Intent["type"] } & { readonly [K in Exclude<keyof Intent, "type">]?: unknown })
  : never;

/**
 * Given/when/then for one machine and one entity: replay some events, send one more, and
 * check the decision. Events are parsed with the machine's schema (a typo in a test fails
 * loudly), every step runs under the purity guard, and each event gets a distinct id and a
 * time one second after the previous one unless you give one.
 *
 * @example
 * scenario(doors, DoorId.parse("door_1"))
 *   .given({ type: "Install" })
 *   .when({ type: "Open" })
 *   .accepted({ status: "open" })
 *   .intents([{ type: "Ring" }]);
 */
export function scenario<
  Id extends string,
  State,
  Event extends Typed,
  Intent extends Typed,
  Reason extends string,
  In,
>(
  machine: Machine<string, Id, State, Event, Intent, Reason, In>,
  id: string,
): Scenario<Id, State, Event, Intent, Reason, In> {
  return new Scenario(machine, scenarioId(machine, id), []);
}

/** A test's entity id, parsed with the machine's id schema: a typo fails where it is written. */
export function scenarioId<Id extends string>(
  machine: { readonly name: string; readonly schemas: { readonly id: z.ZodType<Id> } },
  id: string,
): Id {
  const parsed = machine.schemas.id.safeParse(id);
  if (!parsed.success) {
    assert.fail(`${JSON.stringify(id)} is not a valid ${machine.name} id: ${describeIssues(toIssues(parsed.error))}`);
  }
  return parsed.data;
}

/**
 * Given/when/then for a machine's state migrations: given a state as an older version of the
 * code stored it, the migrated state is X, and the next event decides Y — with the same
 * migration chain, schema parse and purity guard the runtime applies on load. The same
 * function as {@link scenario}, named for what the test is about.
 *
 * @example
 * // Version 2 of the doors machine: its state counts the rings; a door stored at version 1 has rung none.
 * const doorsV2 = defineMachine({
 *   name: "doors",
 *   id: DoorId,
 *   state: z.object({ status: z.enum(DoorStatus), rings: z.number().int().min(0) }),
 *   version: 2,
 *   migrations: { 1: (stored: { status: string }) => ({ ...stored, rings: 0 }) },
 *   events: z.discriminatedUnion("type", [z.object({ type: z.literal("Install") }), z.object({ type: z.literal("BellRang") })]),
 *   intents: z.object({ type: z.literal("Ring") }),
 *   rejections: z.enum(DoorRejection),
 *   creates: ["Install"],
 *   create: () => accept({ status: DoorStatus.Closed, rings: 0 }),
 *   handle: (state) => accept({ ...state, rings: state.rings + 1 }),
 * });
 * migrationScenario(doorsV2, "door_1")
 *   .storedAt(1, { status: "closed" })
 *   .migratesTo({ status: "closed", rings: 0 })
 *   .when({ type: "BellRang" })
 *   .accepted({ rings: 1 });
 */
export const migrationScenario: typeof scenario = scenario;

/** A machine, an entity and the events already applied to it. */
export class Scenario<Id extends string, State, Event extends Typed, Intent extends Typed, Reason extends string, In> {
  readonly #machine: Machine<string, Id, State, Event, Intent, Reason, In>;
  readonly #id: Id;
  readonly #history: readonly GivenEvent<In>[];
  readonly #start: { readonly state: State } | undefined;

  /** `start`: an entity that already exists in this state before the given events (see `migrationScenario`). */
  constructor(
    machine: Machine<string, Id, State, Event, Intent, Reason, In>,
    id: Id,
    history: readonly GivenEvent<In>[],
    start?: { readonly state: State },
  ) {
    this.#machine = machine;
    this.#id = id;
    this.#history = history;
    this.#start = start;
  }

  /**
   * An entity as older code stored it, before any given event: its state at state version
   * `version`, read as the runtime reads it on load (see {@link migrationScenario}).
   */
  storedAt(version: number, state: unknown): Migrated<Id, State, Event, Intent, Reason, In> {
    return new Migrated(this.#machine, this.#id, version, readState(this.#machine as never, state, version));
  }

  /** Events that happened before (each must be accepted). */
  given(...events: GivenEvent<In>[]): Scenario<Id, State, Event, Intent, Reason, In> {
    return new Scenario(this.#machine, this.#id, [...this.#history, ...events], this.#start);
  }

  /** The state after the given events (`undefined`: no entity yet). */
  get state(): State | undefined {
    return this.#replay().state;
  }

  /** Send one more event, at `at` if given, and look at the answer. */
  when(event: In, options: { readonly at?: number } = {}): Then<State, Intent, Reason> {
    const { state, exists, step } = this.#replay();
    const at = options.at ?? SCENARIO_EPOCH + (step + 1) * 1000;
    const [type, outcome] = this.#decide(state, exists, event, step + 1, at);
    return new Then(this.#machine.name, type, outcome);
  }

  #replay(): { state: State | undefined; exists: boolean; step: number } {
    let state: State | undefined = this.#start?.state;
    let exists = this.#start !== undefined;
    let at = SCENARIO_EPOCH;
    this.#history.forEach((given, index) => {
      const [event, time] = isTimed(given) ? [given.event, given.at] : [given, SCENARIO_EPOCH + (index + 1) * 1000];
      at = time;
      const [type, outcome] = this.#decide(state, exists, event, index + 1, at);
      if (outcome.kind !== DecisionKind.Accepted) {
        assert.fail(
          `given event #${index + 1} (${type}) was not accepted: ${outcome.kind === DecisionKind.Rejected ? `rejected ${outcome.reason}${outcome.detail ? ` (${outcome.detail})` : ""}` : "not found"}`,
        );
      }
      state = outcome.state;
      exists = true;
    });
    return { state, exists, step: this.#history.length };
  }

  #decide(
    state: State | undefined,
    exists: boolean,
    event: In,
    n: number,
    at: number,
  ): [string, Outcome<State, Intent, Reason>] {
    const parsed = this.#machine.schemas.event.safeParse(event);
    if (!parsed.success) {
      assert.fail(
        `event ${JSON.stringify(event)} does not match the ${this.#machine.name} event schema: ${describeIssues(toIssues(parsed.error))}`,
      );
    }
    const ctx: StepContext<Id> = { entityId: this.#id, eventId: `evt_scenario_${n}`, at };
    // The machine is generic here; the runtime's view of it is the untyped one.
    const outcome = decideChecked(this.#machine as never, state, exists, parsed.data, ctx, PurityMode.Check);
    return [parsed.data.type, outcome as Outcome<State, Intent, Reason>];
  }
}

type Outcome<State, Intent, Reason extends string> =
  | { readonly kind: typeof DecisionKind.Accepted; readonly state: State; readonly intents: readonly Intent[] }
  | { readonly kind: typeof DecisionKind.Rejected; readonly reason: Reason; readonly detail?: string }
  | { readonly kind: typeof RunResultKind.NotFound };

function isTimed<In>(given: GivenEvent<In>): given is { readonly event: In; readonly at: number } {
  return typeof given === "object" && given !== null && "event" in given && "at" in given && !("type" in given);
}

/** The answer to `when`, with assertions that read like the rule they check. */
export class Then<State, Intent, Reason extends string> {
  readonly #machine: string;
  readonly #eventType: string;
  readonly #outcome: Outcome<State, Intent, Reason>;

  constructor(machine: string, eventType: string, outcome: Outcome<State, Intent, Reason>) {
    this.#machine = machine;
    this.#eventType = eventType;
    this.#outcome = outcome;
  }

  /**
   * Assert the event was accepted and the new state has `expected`'s members (a partial
   * match; values compared deeply, as plain JSON, so write `5000` for a branded number).
   */
  accepted(expected: Expected<State> = {} as Expected<State>): this {
    const outcome = this.#accepted();
    const actual = outcome.state as Record<string, unknown>;
    const subset = Object.fromEntries(Object.keys(expected).map((key) => [key, actual[key]]));
    assert.deepEqual(subset, expected, `${this.#machine}: state after ${this.#eventType}`);
    return this;
  }

  /**
   * Assert the intents, in order and all of them: each given by its type alone, or by its type
   * and the members to check (a partial match, as `accepted` checks a state).
   */
  intents(expected: readonly ExpectedIntent<Intent>[]): this {
    const actual = this.#accepted().intents;
    const comparable = expected.map((item, index) => {
      const intent = actual[index] as Record<string, unknown> | undefined;
      if (typeof item === "string" || intent === undefined) return intent?.type;
      return Object.fromEntries(Object.keys(item).map((key) => [key, intent[key]]));
    });
    assert.deepEqual(
      comparable,
      expected,
      `${this.#machine}: intents after ${this.#eventType} were ${JSON.stringify(actual)}`,
    );
    assert.equal(actual.length, expected.length, `${this.#machine}: number of intents after ${this.#eventType}`);
    return this;
  }

  /** Assert the event was rejected for `reason`. */
  rejected(reason: Reason): this {
    const outcome = this.#outcome;
    if (outcome.kind !== DecisionKind.Rejected) {
      assert.fail(
        `${this.#machine}: expected ${this.#eventType} to be rejected with ${reason}, but it was ${describe(outcome)}`,
      );
    }
    assert.equal(outcome.reason, reason, `${this.#machine}: rejection reason of ${this.#eventType}`);
    return this;
  }

  /** Assert there is no entity and this event does not create one. */
  notFound(): this {
    if (this.#outcome.kind !== RunResultKind.NotFound) {
      assert.fail(
        `${this.#machine}: expected ${this.#eventType} to be not_found, but it was ${describe(this.#outcome)}`,
      );
    }
    return this;
  }

  /** The new state (asserts acceptance). */
  get state(): State {
    return this.#accepted().state;
  }

  /** The decision as given by the machine. */
  get outcome(): Outcome<State, Intent, Reason> {
    return this.#outcome;
  }

  #accepted() {
    const outcome = this.#outcome;
    if (outcome.kind !== DecisionKind.Accepted) {
      assert.fail(`${this.#machine}: expected ${this.#eventType} to be accepted, but it was ${describe(outcome)}`);
    }
    return outcome;
  }
}

function describe(outcome: { readonly kind: string; readonly reason?: string; readonly detail?: string }): string {
  if (outcome.kind === DecisionKind.Rejected)
    return `rejected (${outcome.reason}${outcome.detail ? `: ${outcome.detail}` : ""})`;
  return outcome.kind;
}

/** A stored state read by the current code: check what it became, then go on as in a scenario. */
export class Migrated<Id extends string, State, Event extends Typed, Intent extends Typed, Reason extends string, In> {
  readonly #machine: Machine<string, Id, State, Event, Intent, Reason, In>;
  readonly #id: Id;
  readonly #version: number;
  readonly #reading: Reading;

  constructor(
    machine: Machine<string, Id, State, Event, Intent, Reason, In>,
    id: Id,
    version: number,
    reading: Reading,
  ) {
    this.#machine = machine;
    this.#id = id;
    this.#version = version;
    this.#reading = reading;
  }

  /** The state as the current code reads it (asserts that it can). */
  get state(): State {
    const reading = this.#reading;
    if (!reading.ok)
      assert.fail(
        `${this.#machine.name}: a state stored at version ${this.#version} is unreadable: ${reading.message}`,
      );
    return reading.value as State;
  }

  /** Assert the migrated state has `expected`'s members (a partial match, values compared deeply). */
  migratesTo(expected: Expected<State>): this {
    const actual = this.state as Record<string, unknown>;
    const subset = Object.fromEntries(Object.keys(expected).map((key) => [key, actual[key]]));
    assert.deepEqual(subset, expected, `${this.#machine.name}: state migrated from version ${this.#version}`);
    return this;
  }

  /** Assert the current code cannot read the state (optionally: for this reason). */
  unreadable(reason?: UnreadableReason): this {
    const reading = this.#reading;
    if (reading.ok)
      assert.fail(
        `${this.#machine.name}: a state stored at version ${this.#version} was expected to be unreadable, but it migrated`,
      );
    if (reason !== undefined)
      assert.equal(reading.reason, reason, `${this.#machine.name}: why the state is unreadable (${reading.message})`);
    return this;
  }

  /** Events after the migration (each must be accepted). */
  given(...events: GivenEvent<In>[]): Scenario<Id, State, Event, Intent, Reason, In> {
    return new Scenario(this.#machine, this.#id, events, { state: this.state });
  }

  /** The next event, decided on the migrated state. */
  when(event: In, options: { readonly at?: number } = {}): Then<State, Intent, Reason> {
    return this.given().when(event, options);
  }
}
