import type { Command } from "commander";
import { ExitCode } from "../exit-code.js";
import { describeDb } from "../store.js";
import type { CommandContext } from "./context.js";
import { dbOption, withStore } from "./context.js";

/**
 * Register `drover migrate`. It opens the raw store rather than an app: what opening
 * migrated is the store's own `migration` report, which no app query answers.
 */
export function migrateCommand(program: Command, context: CommandContext): Command {
  return program
    .command("migrate")
    .description("apply the store's migrations and report its schema version")
    .addOption(dbOption())
    .action(async (_options: unknown, command: Command) => {
      const cfg = await context.optionalConfig(command);
      const db = context.dbOf(command, cfg);
      const { from, to, applied } = await withStore(db, async (store) => store.migration);
      const where = describeDb(db);
      context.print(
        context.globals(command).json
          ? JSON.stringify({ db: where, from, to, applied })
          : applied.length === 0
            ? `${where}: drover schema version ${to}, nothing to migrate`
            : `${where}: migrated from drover schema version ${from} to ${to} (applied ${applied.join(", ")})`,
      );
      context.done(ExitCode.Ok);
    });
}
