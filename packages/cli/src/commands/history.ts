import type { Command } from "commander";
import { ExitCode } from "../exit-code.js";
import { describeEntry, journalJson } from "../format.js";
import type { CommandContext } from "./context.js";
import { entityCommand, notFound, readEntity } from "./context.js";

/** Register `drover history`: an entity's journal, oldest first. */
export function historyCommand(program: Command, context: CommandContext): Command {
  return entityCommand(
    program
      .command("history")
      .description("print an entity's journal, oldest first: every accepted event and what it led to"),
  ).action(async (machineName: string, rawId: string, _options: unknown, command: Command) => {
    const {
      machine,
      id,
      found: entries,
    } = await readEntity(context, command, { machine: machineName, id: rawId }, (app, ref) => app.history(ref));
    if (entries.length === 0) throw notFound(machine.name, id, machine.creates);
    context.print(
      context.globals(command).json
        ? JSON.stringify({ machine: machine.name, id, entries: entries.map(journalJson) })
        : [
            `${machine.name} ${id}: ${entries.length} event${entries.length === 1 ? "" : "s"}`,
            ...entries.map((entry) => describeEntry(entry, machine)),
          ].join("\n"),
    );
    context.done(ExitCode.Ok);
  });
}
