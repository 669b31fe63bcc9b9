import type { EntityRef } from "@drover/core";
import { TimerStatus } from "@drover/core";
import { timerBody } from "@drover/http";
import type { Command } from "commander";
import { Option } from "commander";
import { machineNamed } from "../config.js";
import { CliError, ExitCode } from "../exit-code.js";
import { describeTimer } from "../format.js";
import type { CommandContext } from "./context.js";
import { dbOption, idOf, wholeNumber, withApp } from "./context.js";

interface TimersOptions {
  readonly status: TimerStatus;
  readonly machine?: string;
  readonly id?: string;
  readonly limit: string;
}

/**
 * Register `drover timers`: timers by status (pending by default) or of one entity, soonest
 * due first; `drover timers retry <timer-id>` gives a dead timer new attempts.
 */
export function timersCommand(program: Command, context: CommandContext): Command {
  const timers = program
    .command("timers")
    .description(
      "list timers (pending, or --status dead|cancelled|fired), soonest due first; retry gives a dead one new attempts",
    )
    .addOption(
      new Option("--status <status>", "only timers in this status")
        .choices(Object.values(TimerStatus))
        .default("pending"),
    )
    .option("--machine <machine>", "with --id: only the timers of this entity")
    .option("--id <id>", "with --machine: only the timers of this entity")
    .option("--limit <n>", "at most this many timers", "100")
    .addOption(dbOption())
    .action(async (options: TimersOptions, command: Command) => {
      const limit = wholeNumber("--limit", options.limit);
      if (limit < 1) throw new CliError(`--limit must be at least 1, got ${options.limit}`, ExitCode.Usage);
      if ((options.machine === undefined) !== (options.id === undefined)) {
        throw new CliError("give --machine and --id together (the timers of one entity), or neither", ExitCode.Usage);
      }
      const cfg = options.machine === undefined ? await context.optionalConfig(command) : await context.config(command);
      let entity: EntityRef | undefined;
      if (options.machine !== undefined && options.id !== undefined && cfg !== undefined) {
        const machine = machineNamed(cfg, options.machine);
        entity = { machine: machine.name, id: idOf(machine, options.id) };
      }
      const json = context.globals(command).json === true;
      await withApp(context.dbOf(command, cfg), cfg, async (app) => {
        const { status } = options;
        const rows = await app.listTimers({ status, limit, ...(entity === undefined ? {} : { entity }) });
        if (json) {
          context.print(JSON.stringify({ status, items: rows.map(timerBody) }));
          context.done(ExitCode.Ok);
          return;
        }
        const label = `${status} timers${entity === undefined ? "" : ` of ${entity.machine} ${entity.id}`}`;
        const lines =
          rows.length === 0
            ? [`no ${label}`]
            : [
                `${label} (${rows.length}${rows.length === limit ? ", more may follow: raise --limit" : ""}):`,
                ...rows.map((row) => `  ${describeTimer(row).replaceAll("\n", "\n  ")}`),
              ];
        // The timers that need someone: say so, whatever was asked for.
        const dead = status === TimerStatus.Dead ? 0 : (await app.timerStats()).dead;
        if (dead > 0) lines.push(`${dead} dead timer${dead === 1 ? "" : "s"}: drover timers --status dead`);
        context.print(lines.join("\n"));
        context.done(ExitCode.Ok);
      });
    });
  timerRetryCommand(timers, context);
  return timers;
}

/** Register `drover timers retry <timer-id>`: a dead timer pending again, due now, with fresh attempts. */
export function timerRetryCommand(timers: Command, context: CommandContext): Command {
  return timers
    .command("retry")
    .description("make a dead timer pending again, due now, with a fresh count of attempts (a running server fires it)")
    .argument("<timer-id>", "the timer's id, as drover timers --status dead lists it")
    .addOption(dbOption())
    .action(async (timerId: string, _options: unknown, command: Command) => {
      const cfg = await context.optionalConfig(command);
      const json = context.globals(command).json === true;
      await withApp(context.dbOf(command, cfg), cfg, async (app) => {
        if (await app.retryDeadTimer(timerId)) {
          context.print(
            json
              ? JSON.stringify({ timerId, status: TimerStatus.Pending })
              : `timer ${timerId} is pending again, due now; a running server fires it`,
          );
          context.done(ExitCode.Ok);
          return;
        }
        const found = await app.findTimer(timerId);
        throw new CliError(
          found === undefined
            ? `no timer ${timerId}; list dead timers with drover timers --status dead`
            : `timer ${timerId} is ${found.status}, not dead; only dead timers can be retried`,
          ExitCode.Rejected,
        );
      });
    });
}
