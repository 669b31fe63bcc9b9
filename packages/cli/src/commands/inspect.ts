import type { Command } from "commander";
import { ExitCode } from "../exit-code.js";
import { describeEntity, entityJson } from "../format.js";
import type { CommandContext } from "./context.js";
import { entityCommand, notFound, readEntity } from "./context.js";

/** Register `drover inspect`: an entity's version, times and state. */
export function inspectCommand(program: Command, context: CommandContext): Command {
  return entityCommand(program.command("inspect").description("print an entity: version, times and state")).action(
    async (machineName: string, rawId: string, _options: unknown, command: Command) => {
      const { machine, id, found } = await readEntity(
        context,
        command,
        { machine: machineName, id: rawId },
        (app, ref) => app.getEntity(ref),
      );
      if (found === undefined) throw notFound(machine.name, id, machine.creates);
      context.print(
        context.globals(command).json ? JSON.stringify(entityJson(found)) : describeEntity(found, machine.version),
      );
      context.done(ExitCode.Ok);
    },
  );
}
