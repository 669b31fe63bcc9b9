import { declaredIntentTypes } from "../effects.js";
import { ConfigurationError } from "../errors.js";
import { INTENT_FAILED, intentFailed } from "../intent-failed.js";
import type { Json } from "../json.js";
import { stableStringify } from "../json.js";
import type { AnyMachine, StepContext, Typed } from "../machine.js";
import { DecisionKind } from "../machine.js";
import { seededRandom } from "../random.js";
import { readState } from "../versions.js";
import type { Sweep } from "./schema-sample.js";
import { defOf, OptionalMode, SampleError, sample } from "./schema-sample.js";

/** A machine's states and the transitions between them, as found by {@link exploreMachine}. */
export interface MachineGraph {
  readonly machine: string;
  /** State names, in the order exploration first reached them (stored states included). */
  readonly states: readonly string[];
  readonly transitions: readonly Transition[];
  /**
   * Names of stored states (see {@link ExploreOptions.storedStates}) that exploring from
   * creation did not reach: drawn, explored from, and worth a look (more samples, or a state
   * older code made).
   */
  readonly unreached?: readonly string[];
}

/** One accepted step: in state `from` (`null`: the entity is created), `event` led to `to`. */
export interface Transition {
  readonly from: string | null;
  readonly event: string;
  readonly to: string;
}

/** How hard {@link exploreMachine} looks. */
export interface ExploreOptions {
  /** Seed of the generated payloads: the same seed gives the same graph (default 1). */
  readonly seed?: number;
  /** Random payloads tried per event type and state, besides the boundary sweep (default 16). */
  readonly samplesPerEvent?: number;
  /** Concrete states explored in all (default 64); a few per state name are kept. */
  readonly maxStates?: number;
  /**
   * States read from a store (at the machine's current version), explored from too, so that
   * every state entities are really in is drawn — see {@link storedStateSamples}.
   */
  readonly storedStates?: readonly Json[];
}

/**
 * Concrete states kept per state name. Only states of a new shape (see `shapeOf`) are kept,
 * so the few kept differ where rules look: a partial capture beside a full one.
 */
const REPRESENTATIVES_PER_NAME = 8;
/** Times of the generated events start here: 2026-01-01T00:00:00Z. */
const EXPLORE_EPOCH = Date.UTC(2026, 0, 1);

/**
 * Find a machine's states and transitions by running it: generate events from its schemas,
 * create entities with the creating events, then from every state reached try every event
 * type with several payloads through `handle`, breadth first, and record each accepted step
 * as (state name before, event type, state name after). Numbers in payloads lean towards
 * their schema's boundaries and the numbers of the current state, so rules such as "refund
 * exactly what was captured" are reached. Pure and deterministic for a seed; the graph shows
 * what the code does, so it cannot drift from it (it can only miss what no sample reaches).
 *
 * @throws {ConfigurationError} a state without a name (see {@link Machine.stateName}), or an event or id
 * schema no value can be generated for (the message names its path).
 *
 * @example
 * const graph = exploreMachine(doors);
 * graph.transitions; // [{ from: null, event: "Install", to: "closed" }, { from: "closed", event: "Open", to: "open" }, …]
 */
export function exploreMachine(machine: AnyMachine, options: ExploreOptions = {}): MachineGraph {
  const random = seededRandom(options.seed ?? 1);
  const samples = options.samplesPerEvent ?? 16;
  const maxStates = options.maxStates ?? 64;
  const variants = eventVariants(machine);
  const entityId = generateId(machine, random);
  let clock = 0;
  const ctx = (): StepContext => {
    clock++;
    return { entityId, eventId: `explore-${clock}`, at: EXPLORE_EPOCH + clock * 1000 };
  };

  const states: string[] = [];
  const transitions = new Map<string, Transition>();
  const kept = new Set<string>();
  const perName = new Map<string, number>();
  const queue: Json[] = [];

  const reached = (from: string | null, event: Typed, decided: unknown): void => {
    const parsed = machine.schemas.state.safeParse(decided);
    // The runtime refuses a state the machine's own schema refuses: not a transition.
    if (!parsed.success) return;
    const next = JSON.parse(JSON.stringify(parsed.data)) as Json;
    const to = machine.stateName(next);
    if (to === null) {
      throw new ConfigurationError(
        `machine "${machine.name}" has no diagram: its state needs a \`status\` (or \`state\`) string field naming the state, or the machine a \`stateName\`, got ${JSON.stringify(next)}`,
      );
    }
    if (!states.includes(to)) states.push(to);
    const key = `${from}\u0000${event.type}\u0000${to}`;
    if (!transitions.has(key)) transitions.set(key, { from, event: event.type, to });
    const shape = `${to}\u0000${shapeOf(next)}`;
    const count = perName.get(to) ?? 0;
    if (kept.has(shape) || count >= REPRESENTATIVES_PER_NAME || kept.size >= maxStates) return;
    kept.add(shape);
    perName.set(to, count + 1);
    queue.push(next);
  };

  for (const type of machine.creates) {
    const schema = variants.get(type);
    if (schema === undefined) continue;
    for (const event of candidates(machine, type, schema, undefined, samples, random)) {
      const decision = attempt(() => machine.create(event, ctx()));
      if (decision?.kind === DecisionKind.Accepted) reached(null, event, decision.state);
    }
  }
  const explore = () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const state = next;
      const from = machine.stateName(state) ?? "";
      for (const [type, schema] of variants) {
        for (const event of candidates(machine, type, schema, state, samples, random)) {
          const decision = attempt(() => machine.handle(state, event, ctx()));
          if (decision?.kind === DecisionKind.Accepted) reached(from, event, decision.state);
        }
      }
    }
  };
  explore();
  const fromCreation = new Set(states);
  const unreached: string[] = [];
  for (const stored of options.storedStates ?? []) {
    const parsed = machine.schemas.state.safeParse(stored);
    const name = parsed.success ? machine.stateName(parsed.data) : null;
    if (!parsed.success || name === null) continue;
    if (!fromCreation.has(name) && !unreached.includes(name)) unreached.push(name);
    if (!states.includes(name)) states.push(name);
    queue.push(JSON.parse(JSON.stringify(parsed.data)) as Json);
  }
  explore();

  const order = (name: string | null) => (name === null ? -1 : states.indexOf(name));
  const sorted = [...transitions.values()].sort(
    (a, b) => order(a.from) - order(b.from) || order(a.to) - order(b.to) || a.event.localeCompare(b.event),
  );
  return { machine: machine.name, states, transitions: sorted, ...(unreached.length === 0 ? {} : { unreached }) };
}

/** What {@link storedStateSamples} reads: a store's read model, or an `App`. */
export interface StoredStateSource {
  countEntities(machine: string): Promise<readonly { readonly stateName: string | null }[]>;
  listEntities(
    machine: string,
    query: { readonly limit: number; readonly stateName?: string },
  ): Promise<readonly { readonly state: Json; readonly stateVersion: number }[]>;
}

/**
 * A few stored states per state name of `machine` (`perName`, default 4), read at the
 * machine's current state version (older ones migrated; unreadable ones skipped): the
 * {@link ExploreOptions.storedStates} that make a diagram show every state entities are in.
 *
 * @example
 * const graph = exploreMachine(doors, { storedStates: await storedStateSamples(app, doors) });
 */
export async function storedStateSamples(source: StoredStateSource, machine: AnyMachine, perName = 4): Promise<Json[]> {
  const names = (await source.countEntities(machine.name)).flatMap((count) =>
    count.stateName === null ? [] : [count.stateName],
  );
  const pages = await Promise.all(
    names.map((stateName) => source.listEntities(machine.name, { limit: perName, stateName })),
  );
  return pages.flat().flatMap((entity) => {
    const reading = readState(machine, entity.state, entity.stateVersion);
    return reading.ok ? [reading.value as Json] : [];
  });
}

/**
 * A Mermaid `stateDiagram-v2` of a graph: `[*] --> s` for each state an entity is created in,
 * one arrow per transition labelled with its event, and `s --> [*]` for terminal states (no
 * transition to another state).
 *
 * @example
 * console.log(toMermaid(exploreMachine(doors)));
 * // stateDiagram-v2
 * //     [*] --> closed: Install
 * //     closed --> open: Open
 * //     open --> [*]
 */
export function toMermaid(graph: MachineGraph): string {
  const ids = new Map<string, string>();
  const lines = ["stateDiagram-v2"];
  graph.states.forEach((name, index) => {
    const id = /^[A-Za-z][A-Za-z0-9_]*$/.test(name) && name !== "end" ? name : `s${index}`;
    ids.set(name, id);
    if (id !== name) lines.push(`    state "${name.replaceAll('"', "'")}" as ${id}`);
  });
  const idOf = (name: string) => ids.get(name) ?? name;
  for (const t of graph.transitions) {
    lines.push(`    ${t.from === null ? "[*]" : idOf(t.from)} --> ${idOf(t.to)}: ${t.event}`);
  }
  for (const name of graph.states) {
    const leaves = graph.transitions.some((t) => t.from === name && t.to !== name);
    if (!leaves) lines.push(`    ${idOf(name)} --> [*]`);
  }
  for (const name of graph.unreached ?? []) {
    lines.push(`    note right of ${idOf(name)}: stored, not reached from creation`);
  }
  return `${lines.join("\n")}\n`;
}

/** The machine's event schemas by event type (a union of objects with a literal `type`). */
function eventVariants(machine: AnyMachine): Map<string, unknown> {
  const variants = new Map<string, unknown>();
  const visit = (schema: unknown): void => {
    const def = defOf(schema);
    switch (def.type) {
      case "union":
        for (const option of def.options as readonly unknown[]) visit(option);
        return;
      case "pipe":
        visit(def.in);
        return;
      case "object": {
        const type = (def.shape as Record<string, unknown>).type;
        if (type === undefined) return;
        const typeDef = defOf(type);
        const values =
          typeDef.type === "literal"
            ? (typeDef.values as readonly unknown[])
            : typeDef.type === "enum"
              ? Object.values(typeDef.entries as Record<string, unknown>)
              : [];
        for (const value of values) if (typeof value === "string") variants.set(value, schema);
        return;
      }
      default:
        return;
    }
  };
  visit(machine.schemas.event);
  if (variants.size === 0) {
    throw new ConfigurationError(
      `cannot explore machine "${machine.name}": its event schema must be an object or a union of objects with a literal \`type\``,
    );
  }
  return variants;
}

function generateId(machine: AnyMachine, random: () => number): string {
  for (let i = 0; i < 32; i++) {
    const drawn = sampleOrThrow(machine, machine.schemas.id, "id", {
      random,
      numbers: [],
      strings: [],
      optional: OptionalMode.Random,
    });
    const parsed = machine.schemas.id.safeParse(drawn.value);
    if (parsed.success) return parsed.data;
  }
  throw new ConfigurationError(
    `cannot explore machine "${machine.name}": no valid id could be generated from its id schema`,
  );
}

/**
 * The `IntentFailed` events a machine may hear: one per intent type it declares (drawn strings
 * would almost never name one, and what a machine does with a failure depends on which).
 */
function intentFailures(machine: AnyMachine): Typed[] {
  return (declaredIntentTypes(machine) ?? []).flatMap((intentType) => {
    const event = intentFailed(`${machine.name}/sample/1/0`, intentType, 1, "gave up");
    const parsed = machine.schemas.event.safeParse(event);
    return parsed.success ? [parsed.data as Typed] : [];
  });
}

/** Valid, distinct events of one type to try on `state`: a boundary sweep, then random draws. */
function candidates(
  machine: AnyMachine,
  type: string,
  schema: unknown,
  state: Json | undefined,
  samples: number,
  random: () => number,
): Typed[] {
  if (type === INTENT_FAILED) return intentFailures(machine);
  const numbers = hintNumbers(state);
  const strings = hintStrings(state);
  const path = `events.${type}`;
  const pools = new Map();
  const out = new Map<string, Typed>();
  let invalid: string | undefined;
  const tryOne = (sweep: Sweep | undefined, optional: OptionalMode): boolean => {
    const drawn = sampleOrThrow(machine, schema, path, {
      random,
      numbers,
      strings,
      optional,
      pools,
      ...(sweep === undefined ? {} : { sweep }),
    });
    const parsed = machine.schemas.event.safeParse(drawn.value);
    if (parsed.success) out.set(stableStringify(parsed.data), parsed.data as Typed);
    else invalid ??= parsed.error.issues.map((i) => `${[type, ...i.path].join(".")}: ${i.message}`).join("; ");
    return drawn.hasNumbers;
  };
  const hasNumbers = tryOne("min", OptionalMode.Omit);
  if (hasNumbers) {
    const sweeps: Sweep[] = ["max", 1, ...numbers, ...POWERS_OF_TEN];
    for (const sweep of sweeps) tryOne(sweep, OptionalMode.Omit);
    for (const sweep of ["min", ...sweeps] as Sweep[]) tryOne(sweep, OptionalMode.Present);
  } else {
    tryOne(undefined, OptionalMode.Present);
  }
  for (let i = 0; i < samples; i++) tryOne(undefined, OptionalMode.Random);
  if (out.size === 0) {
    throw new ConfigurationError(
      `cannot explore machine "${machine.name}": no generated ${type} event passed its schema (${invalid ?? "no sample"})`,
    );
  }
  return [...out.values()];
}

const POWERS_OF_TEN = [10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

function sampleOrThrow(machine: AnyMachine, schema: unknown, path: string, options: Parameters<typeof sample>[2]) {
  try {
    return sample(schema as Parameters<typeof sample>[0], path, options);
  } catch (error) {
    if (error instanceof SampleError) {
      throw new ConfigurationError(`cannot explore machine "${machine.name}": ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** The numbers of a state, one either side, and their differences (what is left to refund…). */
function hintNumbers(state: Json | undefined): number[] {
  const found: number[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === "number") found.push(value);
    else if (Array.isArray(value)) for (const item of value) walk(item);
    else if (typeof value === "object" && value !== null) for (const item of Object.values(value)) walk(item);
  };
  walk(state);
  const hints = new Set<number>();
  for (const n of found) for (const m of [n, n - 1, n + 1]) hints.add(m);
  for (const a of found) for (const b of found) if (a > b) hints.add(a - b);
  return [...hints];
}

function hintStrings(state: Json | undefined): string[] {
  if (typeof state !== "object" || state === null || Array.isArray(state)) return [];
  return Object.values(state).filter((v): v is string => typeof v === "string");
}

/**
 * What a state looks like to the rules, roughly: which fields it has, which numbers are 0 or 1,
 * and how its numbers compare with each other (`used < limit`). Two states of one shape
 * are likely to answer events alike, so exploring one of them is enough.
 */
function shapeOf(state: Json): string {
  const fields: string[] = [];
  const numbers: [string, number][] = [];
  const walk = (value: unknown, path: string): void => {
    if (typeof value === "number") {
      numbers.push([path, value]);
      fields.push(`${path}:${value === 0 ? "0" : value === 1 ? "1" : value < 0 ? "-" : "+"}`);
    } else if (Array.isArray(value)) {
      fields.push(`${path}:[${value.length > 0 ? "+" : "0"}]`);
      for (const [i, item] of value.slice(0, 3).entries()) walk(item, `${path}[${i}]`);
    } else if (typeof value === "object" && value !== null) {
      for (const key of Object.keys(value).sort()) walk((value as Record<string, unknown>)[key], `${path}.${key}`);
    } else fields.push(`${path}:${typeof value === "boolean" ? value : typeof value}`);
  };
  walk(state, "");
  for (const [a, x] of numbers)
    for (const [b, y] of numbers) if (a < b) fields.push(`${a}${x < y ? "<" : x > y ? ">" : "="}${b}`);
  return fields.join(",");
}

/** A machine that throws on a generated payload is not answering it; keep exploring. */
function attempt<T>(call: () => T): T | undefined {
  try {
    return call();
  } catch {
    return undefined;
  }
}
