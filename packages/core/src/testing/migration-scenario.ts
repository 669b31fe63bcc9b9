import assert from "node:assert/strict";
import type { Reading, UnreadableReason } from "../evolution.js";
import { describeIssues, toIssues } from "../issues.js";
import type { Machine, Typed } from "../machine.js";
import { readState } from "../versions.js";
import type { Expected, GivenEvent, Then } from "./scenario.js";
import { Scenario } from "./scenario.js";

/**
 * Given/when/then for a machine's state migrations: given a state as an older version of the
 * code stored it, the migrated state is X, and the next event decides Y — with the same
 * migration chain, schema parse and purity guard the runtime applies on load.
 *
 * @example
 * migrationScenario(payments, "pay_1")
 *   .storedAt(1, { status: "authorized", amount: 5000 })
 *   .migratesTo({ status: "authorized", authorizedAt: null })
 *   .when({ type: "Capture" })
 *   .accepted({ status: "captured" });
 */
export function migrationScenario<
  Id extends string,
  State,
  Event extends Typed,
  Intent extends Typed,
  Reason extends string,
  In,
>(
  machine: Machine<string, Id, State, Event, Intent, Reason, In>,
  id: string,
): MigrationGiven<Id, State, Event, Intent, Reason, In> {
  const parsed = machine.schemas.id.safeParse(id);
  if (!parsed.success) {
    assert.fail(`${JSON.stringify(id)} is not a valid ${machine.name} id: ${describeIssues(toIssues(parsed.error))}`);
  }
  return {
    storedAt: (version, state) =>
      new Migrated(machine, parsed.data, version, readState(machine as never, state, version)),
  };
}

/** The first step of a {@link migrationScenario}: the state as it is stored, and its version. */
export interface MigrationGiven<
  Id extends string,
  State,
  Event extends Typed,
  Intent extends Typed,
  Reason extends string,
  In,
> {
  /** A state as code at state version `version` stored it (plain JSON, as it is in the database). */
  storedAt(version: number, state: unknown): Migrated<Id, State, Event, Intent, Reason, In>;
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
