import type { AnyMachine } from "@drover/core";
import { RunResultKind } from "@drover/core";
import type { z } from "zod";
import { type JsonObject, ref, SCHEMAS } from "./document.js";
import { componentName, eventBranches, importSchema, type SchemaTable, toJsonSchema } from "./json-schema.js";
import {
  entityPageSchema,
  entitySchema,
  historySchema,
  intentRecordSchema,
  journalEntrySchema,
  processedSchema,
} from "./schemas.js";

/** The component names every machine gets, `<machine>.<suffix>`; events and `$defs` never take them. */
export const MachinePart = {
  Id: "Id",
  State: "State",
  Intent: "Intent",
  Event: "Event",
  RejectionReason: "RejectionReason",
  Rejected: "Rejected",
  IntentRecord: "IntentRecord",
  Processed: "Processed",
  Entity: "Entity",
  EntityPage: "EntityPage",
  JournalEntry: "JournalEntry",
  History: "History",
} as const;
export type MachinePart = (typeof MachinePart)[keyof typeof MachinePart];

/** The machine's components; returns the component name of each external event type, in schema order. */
export function addMachineSchemas(table: SchemaTable, machine: AnyMachine): Map<string, string> {
  const name = (part: MachinePart) => `${machine.name}.${part}`;
  const to = (part: MachinePart) => ref(name(part));
  for (const part of Object.values(MachinePart)) table.reserve(name(part));

  const imported = (what: string, schema: z.ZodType, io: "input" | "output", rootName: string) =>
    importSchema(table, machine, toJsonSchema(machine, what, schema, io), io, rootName);
  table.set(name(MachinePart.Id), imported("id", machine.schemas.id, "input", name(MachinePart.Id)));
  table.set(name(MachinePart.State), imported("state", machine.schemas.state, "output", name(MachinePart.State)));
  table.set(name(MachinePart.Intent), imported("intent", machine.schemas.intent, "output", name(MachinePart.Intent)));
  const journalEvents = imported("event", machine.schemas.event, "output", name(MachinePart.Event));
  table.set(name(MachinePart.Event), {
    ...journalEvents,
    description:
      journalEvents.description ??
      `Every event of \`${machine.name}\` as the journal records it (internal ones included).`,
  });
  table.set(
    name(MachinePart.RejectionReason),
    imported("rejection", machine.schemas.rejection, "output", name(MachinePart.RejectionReason)),
  );

  // Request bodies: zod's input side. A self-reference (`#`) needs the whole union as a component.
  const inputRoot = table.free(`${machine.name}.EventInput`);
  table.reserve(inputRoot);
  const inputEvents = imported("event", machine.schemas.event, "input", inputRoot);
  if (JSON.stringify(inputEvents).includes(`"${SCHEMAS}${inputRoot}"`)) table.set(inputRoot, inputEvents);
  const byType = new Map<string, JsonObject[]>();
  for (const branch of eventBranches(table, machine, inputEvents)) {
    if (machine.internal.includes(branch.type)) continue;
    byType.set(branch.type, [...(byType.get(branch.type) ?? []), branch.schema]);
  }
  const events = new Map<string, string>();
  for (const [type, variants] of byType) {
    const schema = variants.length === 1 ? (variants[0] as JsonObject) : { anyOf: variants };
    events.set(type, table.allocate(`${machine.name}.${componentName(type)}`, schema));
  }

  table.set(name(MachinePart.Rejected), {
    description: `\`${machine.name}\` refused the event: \`reason\` says why.`,
    allOf: [
      ref("Problem"),
      {
        type: "object",
        required: ["kind", "reason"],
        properties: { kind: { const: RunResultKind.Rejected }, reason: to(MachinePart.RejectionReason) },
      },
    ],
  });
  table.set(name(MachinePart.IntentRecord), intentRecordSchema(to(MachinePart.Intent)));
  const [id, state, record] = [MachinePart.Id, MachinePart.State, MachinePart.IntentRecord];
  table.set(name(MachinePart.Processed), processedSchema(to(id), to(state), to(record), machine.name));
  table.set(name(MachinePart.Entity), entitySchema(to(id), to(state)));
  table.set(name(MachinePart.EntityPage), entityPageSchema(to(MachinePart.Entity)));
  table.set(name(MachinePart.JournalEntry), journalEntrySchema(to(id), to(MachinePart.Event), to(state), to(record)));
  table.set(name(MachinePart.History), historySchema(to(MachinePart.JournalEntry)));
  return events;
}
