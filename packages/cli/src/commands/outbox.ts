import { OutboxStatus } from "@drover/core";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit-code.js";
import { describeOutbox, outboxJson } from "../format.js";
import type { CommandContext } from "./context.js";
import { dbOption, withApp } from "./context.js";
import { pauseCommand, pausedCommand, resumeCommand } from "./intent-types.js";

/**
 * Register `drover outbox`: pending intents or dead letters, and `--retry` for a dead letter;
 * `outbox pause|resume|paused` for intent types (their own module).
 */
export function outboxCommand(program: Command, context: CommandContext): Command {
  const outbox = program
    .command("outbox")
    .description(
      "list pending intents (or dead letters with --dead); --retry ID gives a dead letter new attempts; " +
        "pause, resume and paused stop and restart an intent type",
    )
    .option("--dead", "list dead letters: intents that failed for good")
    .option("--retry <intentId>", "make a dead intent pending again (a running server then executes it)")
    .option("--limit <n>", "at most this many rows", "100")
    .addOption(dbOption())
    .action(async (options: { dead?: boolean; retry?: string; limit: string }, command: Command) => {
      const cfg = await context.optionalConfig(command);
      const json = context.globals(command).json === true;
      const limit = Number(options.limit);
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new CliError(`--limit must be a whole number ≥ 1, got ${JSON.stringify(options.limit)}`, ExitCode.Usage);
      }
      await withApp(context.dbOf(command, cfg), cfg, async (app) => {
        if (options.retry !== undefined) {
          const intentId = options.retry;
          if (await app.retryDeadLetter(intentId)) {
            context.print(
              json
                ? JSON.stringify({ intentId, status: OutboxStatus.Pending })
                : `intent ${intentId} is pending again; a running server executes it`,
            );
            context.done(ExitCode.Ok);
            return;
          }
          const found = await app.findOutbox(intentId);
          throw new CliError(
            found === undefined
              ? `no intent ${intentId} in the outbox; list dead letters with drover outbox --dead`
              : `intent ${intentId} is ${found.status}, not dead; only dead letters can be retried`,
            ExitCode.Rejected,
          );
        }
        const status = options.dead === true ? OutboxStatus.Dead : OutboxStatus.Pending;
        const rows = await app.listOutbox({ status, limit });
        const label = status === OutboxStatus.Dead ? "dead letters" : "pending intents";
        context.print(
          json
            ? JSON.stringify({ status, items: rows.map(outboxJson) })
            : rows.length === 0
              ? `no ${label}`
              : [
                  `${label} (${rows.length}${rows.length === limit ? ", more may follow: raise --limit" : ""}):`,
                  ...rows.map((row) => `  ${describeOutbox(row).replaceAll("\n", "\n  ")}`),
                ].join("\n"),
        );
        context.done(ExitCode.Ok);
      });
    });
  for (const register of [pauseCommand, resumeCommand, pausedCommand]) register(outbox, context);
  return outbox;
}
