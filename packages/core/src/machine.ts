import type { z } from "zod";
import type { Migrations } from "./evolution.js";
import { checkMigrationChain, VersionedSubject } from "./evolution.js";
import { conventionalStateName } from "./state-name.js";

/** The two answers a machine can give: the smart enum behind {@link Decision}. */
export const DecisionKind = { Accepted: "accepted", Rejected: "rejected" } as const;
export type DecisionKind = (typeof DecisionKind)[keyof typeof DecisionKind];

/** The machine took the event: here is the next state and the side effects it wants. */
export interface Accepted<State, Intent> {
  readonly kind: typeof DecisionKind.Accepted;
  readonly state: State;
  readonly intents: readonly Intent[];
}

/** The machine refused the event, for a typed reason. A value, never an exception. */
export interface Rejected<Reason extends string> {
  readonly kind: typeof DecisionKind.Rejected;
  readonly reason: Reason;
  /** A sentence for humans; never parsed. */
  readonly detail?: string;
}

/** What `handle` returns. */
export type Decision<State, Intent, Reason extends string> = Accepted<State, Intent> | Rejected<Reason>;

/**
 * Accept an event: the next state, then the intents (side effects) wanted, in order.
 *
 * @example
 * return accept({ ...state, status: "open" }, { type: "NotifyOwner", door: ctx.entityId });
 */
export function accept<State, const Intents extends readonly unknown[] = []>(
  state: State,
  ...intents: Intents
): Accepted<State, Intents[number]> {
  return { kind: DecisionKind.Accepted, state, intents };
}

/**
 * Reject an event with a typed reason (take it from the machine's rejection smart enum).
 *
 * @example
 * return reject(DoorRejection.Locked, "the door is locked");
 */
export function reject<Reason extends string>(reason: Reason, detail?: string): Rejected<Reason> {
  return detail === undefined
    ? { kind: DecisionKind.Rejected, reason }
    : { kind: DecisionKind.Rejected, reason, detail };
}

/**
 * The envelope that travels beside an event: everything a pure machine may not invent by
 * itself. Time and ids come from here, never from `Date.now()` or a random generator.
 */
export interface StepContext<Id extends string = string> {
  /** The entity the event is addressed to. */
  readonly entityId: Id;
  /** The event's id: the idempotency key of this step. */
  readonly eventId: string;
  /** When the event happened, in milliseconds since the Unix epoch (UTC). */
  readonly at: number;
}

/** Every event and intent is a flat object with a `type`. */
export interface Typed {
  readonly type: string;
}

/**
 * A pure definition of one entity type. Build one with {@link defineMachine}.
 *
 * `create` answers the events that may bring a new entity into being (listed in `creates`);
 * `handle` answers every event sent to an entity that exists. Both are synchronous and pure.
 */
export interface Machine<
  Name extends string = string,
  Id extends string = string,
  State = unknown,
  Event extends Typed = Typed,
  Intent extends Typed = Typed,
  Reason extends string = string,
  /** What callers may write before parsing (e.g. plain numbers where the event has branded ones). */
  EventInput = Event,
  /** What callers may write as an id before parsing (a plain string where the id is branded). */
  IdInput = string,
> {
  readonly name: Name;
  readonly schemas: {
    readonly id: z.ZodType<Id, IdInput>;
    readonly state: z.ZodType<State>;
    readonly event: z.ZodType<Event, EventInput>;
    readonly intent: z.ZodType<Intent>;
    readonly rejection: z.ZodType<Reason>;
  };
  /** Event types that may create an entity; any other event to a missing entity is `not_found`. */
  readonly creates: readonly Event["type"][];
  /**
   * Event types only drover itself sends (follow-ups of effects, timers): edges such as the
   * HTTP API refuse them from callers. The runtime accepts every event type.
   */
  readonly internal: readonly Event["type"][];
  /** The version of the state schema: states are stored with it (1 when the definition names none). */
  readonly version: number;
  /** `migrations[k]` turns a state stored at version `k` into version `k + 1`. */
  readonly migrations: Migrations;
  /** The version of the event schema: journal rows and timers keep it beside each event. */
  readonly eventVersion: number;
  /** `eventMigrations[k]` turns an event recorded at version `k` into version `k + 1`. */
  readonly eventMigrations: Migrations;
  /**
   * The name of a state, as lists, counts and diagrams show it (`null`: the state has none).
   * From the definition's `stateName`, else the state's `status` member, then its `state`.
   */
  stateName(state: State): string | null;
  create(event: Event, ctx: StepContext<Id>): Decision<State, Intent, Reason>;
  handle(state: State, event: Event, ctx: StepContext<Id>): Decision<State, Intent, Reason>;
}

/** Any machine, as the runtime sees it: schemas and functions, no domain types. */
export type AnyMachine = Machine<string, string, unknown, Typed, Typed, string, unknown, unknown>;

/** Machine types, recovered from a machine value. */
export type MachineId<M> =
  M extends Machine<string, infer Id, unknown, Typed, Typed, string, unknown, unknown> ? Id : never;
export type MachineState<M> =
  M extends Machine<string, string, infer S, Typed, Typed, string, unknown, unknown> ? S : never;
export type MachineEvent<M> =
  M extends Machine<string, string, unknown, infer E, Typed, string, unknown, unknown> ? E : never;
export type MachineIntent<M> =
  M extends Machine<string, string, unknown, Typed, infer I, string, unknown, unknown> ? I : never;
export type MachineRejection<M> =
  M extends Machine<string, string, unknown, Typed, Typed, infer R, unknown, unknown> ? R : never;

/** What callers may write as an event of machine `M` before parsing: its event schema's input type. */
export type MachineEventInput<M> =
  M extends Machine<string, string, unknown, Typed, Typed, string, infer In, unknown> ? In : never;
/** What callers may write as an entity id of machine `M` before parsing: its id schema's input type. */
export type MachineIdInput<M> =
  M extends Machine<string, string, unknown, Typed, Typed, string, unknown, infer In> ? In : never;
const MACHINE_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** The definition {@link defineMachine} takes. */
export interface MachineDefinition<
  Name extends string,
  IdSchema extends z.ZodType<string>,
  StateSchema extends z.ZodType,
  EventSchema extends z.ZodType<Typed>,
  IntentSchema extends z.ZodType<Typed>,
  RejectionSchema extends z.ZodType<string>,
  Creates extends z.output<EventSchema>["type"],
> {
  /** Lower-case name used in URLs, intent ids and tables, e.g. `"doors"`. */
  readonly name: Name;
  readonly id: IdSchema;
  readonly state: StateSchema;
  readonly events: EventSchema;
  readonly intents: IntentSchema;
  readonly rejections: RejectionSchema;
  readonly creates: readonly Creates[];
  /** Event types callers may not send (see {@link Machine.internal}); none by default. */
  readonly internal?: readonly z.output<EventSchema>["type"][];
  /**
   * The version of the state schema (default 1). Raise it when the state's shape changes, and
   * add the migration from the previous version: stored states are read through the chain.
   */
  readonly version?: number;
  /**
   * `migrations[k]` turns a state stored at version `k` into version `k + 1`, one entry for
   * each version below `version`. Pure and synchronous; the last one's result must fit `state`.
   */
  readonly migrations?: Migrations;
  /** The version of the event schema (default 1); recorded events are read through `eventMigrations`. */
  readonly eventVersion?: number;
  /** `eventMigrations[k]` turns an event recorded at version `k` into version `k + 1`. */
  readonly eventMigrations?: Migrations;
  /**
   * How a state is named in lists, counts and diagrams; by default its `status` string
   * member, then its `state` member; `null`: this state has no name. Pure, like `handle`.
   * Stores keep the name beside the state when it is written, so a changed naming shows on
   * an entity's next step.
   */
  stateName?(state: z.output<StateSchema>): string | null;
  /**
   * Answers an event of `creates` when the entity does not exist yet.
   *
   * A bare string in a state that `create` or `handle` returns (`accept({ status: "closed" })`)
   * keeps its literal type only when both declare their parameters: TypeScript types a function
   * without parameters before it knows the state schema, widens the string to `string`, and the
   * schema's `"open" | "closed"` then refuses it. Name states with a smart enum
   * (`DoorStatus.Closed`), as machines should anyway, and this never comes up.
   */
  create(
    event: Extract<z.output<EventSchema>, { type: Creates }>,
    ctx: StepContext<z.output<IdSchema>>,
  ): Decision<z.output<StateSchema>, z.output<IntentSchema>, z.output<RejectionSchema>>;
  handle(
    state: z.output<StateSchema>,
    event: z.output<EventSchema>,
    ctx: StepContext<z.output<IdSchema>>,
  ): Decision<z.output<StateSchema>, z.output<IntentSchema>, z.output<RejectionSchema>>;
}

/**
 * Define a machine: its schemas, the events that create an entity, and the pure rules.
 *
 * @example
 * const DoorStatus = { Open: "open", Closed: "closed" } as const;
 * const doors = defineMachine({
 *   name: "doors",
 *   id: DoorId,
 *   state: z.object({ status: z.enum(DoorStatus) }),
 *   events: z.discriminatedUnion("type", [
 *     z.object({ type: z.literal("Install") }),
 *     z.object({ type: z.literal("Open") }),
 *   ]),
 *   intents: z.object({ type: z.literal("Ring") }),
 *   rejections: z.enum(DoorRejection),
 *   creates: ["Install"],
 *   create: () => accept({ status: DoorStatus.Closed }),
 *   handle: (state, event) =>
 *     event.type === "Open" && state.status === DoorStatus.Closed
 *       ? accept({ status: DoorStatus.Open }, { type: "Ring" })
 *       : reject(DoorRejection.InvalidTransition),
 * });
 */
export function defineMachine<
  const Name extends string,
  IdSchema extends z.ZodType<string>,
  StateSchema extends z.ZodType,
  EventSchema extends z.ZodType<Typed>,
  IntentSchema extends z.ZodType<Typed>,
  RejectionSchema extends z.ZodType<string>,
  const Creates extends z.output<EventSchema>["type"],
>(
  definition: MachineDefinition<Name, IdSchema, StateSchema, EventSchema, IntentSchema, RejectionSchema, Creates>,
): Machine<
  Name,
  z.output<IdSchema>,
  z.output<StateSchema>,
  z.output<EventSchema>,
  z.output<IntentSchema>,
  z.output<RejectionSchema>,
  z.input<EventSchema>,
  z.input<IdSchema>
> {
  if (!MACHINE_NAME.test(definition.name)) {
    throw new TypeError(
      `machine name must match ${MACHINE_NAME} (lower-case, used in URLs and intent ids), got ${JSON.stringify(definition.name)}`,
    );
  }
  if (definition.creates.length === 0) {
    throw new TypeError(`machine "${definition.name}" must list at least one event type in "creates"`);
  }
  const version = definition.version ?? 1;
  const migrations = Object.freeze({ ...definition.migrations });
  checkMigrationChain(definition.name, VersionedSubject.State, version, migrations);
  const eventVersion = definition.eventVersion ?? 1;
  const eventMigrations = Object.freeze({ ...definition.eventMigrations });
  checkMigrationChain(definition.name, VersionedSubject.Event, eventVersion, eventMigrations);
  type Event = z.output<EventSchema>;
  type Schemas = Machine<
    Name,
    z.output<IdSchema>,
    z.output<StateSchema>,
    Event,
    z.output<IntentSchema>,
    z.output<RejectionSchema>,
    z.input<EventSchema>,
    z.input<IdSchema>
  >["schemas"];
  const creates = Object.freeze([...definition.creates]);
  return Object.freeze({
    name: definition.name,
    // zod's schema types are invariant in their internals; their outputs are what we promise.
    schemas: Object.freeze({
      id: definition.id,
      state: definition.state,
      event: definition.events,
      intent: definition.intents,
      rejection: definition.rejections,
    }) as unknown as Schemas,
    creates,
    internal: Object.freeze([...(definition.internal ?? [])]),
    version,
    migrations,
    eventVersion,
    eventMigrations,
    stateName: (state: z.output<StateSchema>): string | null => {
      if (definition.stateName === undefined) return conventionalStateName(state);
      // Every store keeps a name as text or nothing: what is not a string (from untyped
      // code) is no name, so that no backend turns 7 into "7.0" and another keeps 7.
      const name: unknown = definition.stateName(state);
      return typeof name === "string" ? name : null;
    },
    // The runtime only calls `create` for an event whose type is in `creates`.
    create: (event: Event, ctx: StepContext<z.output<IdSchema>>) =>
      definition.create(event as Extract<Event, { type: Creates }>, ctx),
    handle: (state: z.output<StateSchema>, event: Event, ctx: StepContext<z.output<IdSchema>>) =>
      definition.handle(state, event, ctx),
  });
}
