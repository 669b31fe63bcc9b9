import type { App } from "@drover/core";
import { intentTypeCatalog } from "@drover/http";
import type { Command } from "commander";
import type { DroverConfig } from "../config.js";
import { CliError, ExitCode } from "../exit-code.js";
import { isoTime } from "../format.js";
import type { CommandContext } from "./context.js";
import { dbOption, withApp } from "./context.js";

// `drover outbox pause|resume|paused`: the pause is a row in the database that every server's
// claim reads, so it works on running servers (SQLite or PostgreSQL) without a restart.

/** Register `drover outbox pause <intent-type>` under `outbox`. */
export function pauseCommand(outbox: Command, context: CommandContext): Command {
  return outbox
    .command("pause")
    .description(
      "pause an intent type on this database (running servers too): its intents wait, keeping their attempts",
    )
    .argument("<intent-type>", "an intent type a machine of the config declares, e.g. AuthorizeWithProvider")
    .addOption(dbOption())
    .action(async (intentType: string, _options: unknown, command: Command) => {
      const cfg = await context.optionalConfig(command);
      const json = context.globals(command).json === true;
      await withApp(context.dbOf(command, cfg), cfg, async (app) => {
        const paused = await pausedAt(app, intentType);
        if (paused === undefined) declared(context, cfg, intentType);
        const changed = paused === undefined && (await app.pauseIntentType(intentType));
        const since = paused ?? (await pausedAt(app, intentType));
        const at = since === undefined ? null : isoTime(since);
        context.print(
          json
            ? JSON.stringify({ intentType, paused: true, pausedAt: at, changed })
            : changed
              ? `paused ${intentType}: its intents wait, keeping their attempts, in every server on this database; resume with drover outbox resume ${intentType}`
              : `${intentType} is already paused (since ${at ?? "just now"})`,
        );
        context.done(ExitCode.Ok);
      });
    });
}

/** Register `drover outbox resume <intent-type>` under `outbox`. */
export function resumeCommand(outbox: Command, context: CommandContext): Command {
  return outbox
    .command("resume")
    .description("resume a paused intent type: running servers execute its intents again")
    .argument("<intent-type>", "a paused intent type (drover outbox paused lists them)")
    .addOption(dbOption())
    .action(async (intentType: string, _options: unknown, command: Command) => {
      const cfg = await context.optionalConfig(command);
      const json = context.globals(command).json === true;
      await withApp(context.dbOf(command, cfg), cfg, async (app) => {
        // A paused type no machine declares any more may still be resumed: it is how it goes away.
        if ((await pausedAt(app, intentType)) === undefined) declared(context, cfg, intentType);
        const changed = await app.resumeIntentType(intentType);
        context.print(
          json
            ? JSON.stringify({ intentType, paused: false, pausedAt: null, changed })
            : changed
              ? `resumed ${intentType}: running servers execute its intents again (within a poll, 1 s)`
              : `${intentType} is not paused; nothing to resume`,
        );
        context.done(ExitCode.Ok);
      });
    });
}

/** Register `drover outbox paused` under `outbox`: the paused intent types. */
export function pausedCommand(outbox: Command, context: CommandContext): Command {
  return outbox
    .command("paused")
    .description("list the paused intent types")
    .addOption(dbOption())
    .action(async (_options: unknown, command: Command) => {
      const cfg = await context.optionalConfig(command);
      const json = context.globals(command).json === true;
      await withApp(context.dbOf(command, cfg), cfg, async (app) => {
        const rows = await app.pausedIntentTypes();
        const items = rows.map((row) => ({ intentType: row.intentType, pausedAt: isoTime(row.pausedAt) }));
        context.print(
          json
            ? JSON.stringify({ items })
            : items.length === 0
              ? "no paused intent types"
              : [
                  `paused intent types (${items.length}):`,
                  ...items.map((item) => `  ${item.intentType}  since ${item.pausedAt}`),
                ].join("\n"),
        );
        context.done(ExitCode.Ok);
      });
    });
}

/** When `intentType` was paused (epoch ms), or `undefined` if it is not. */
async function pausedAt(app: App, intentType: string): Promise<number | undefined> {
  return (await app.pausedIntentTypes()).find((row) => row.intentType === intentType)?.pausedAt;
}

/**
 * Refuse (exit 2) an intent type no machine of the config declares, listing those it does.
 * Without a config (an operator's shell beside the database only), the name is taken as given,
 * with a warning: being able to pause matters more at that moment than checking the spelling.
 */
function declared(context: CommandContext, cfg: DroverConfig | undefined, intentType: string): void {
  if (cfg === undefined) {
    context.io.stderr.write(
      `drover: no drover.config.ts here, so ${JSON.stringify(intentType)} is not checked against the machines' intent types (pass --config to check)\n`,
    );
    return;
  }
  const { types, complete } = intentTypeCatalog(cfg.machines);
  if (types.has(intentType) || !complete) return;
  const known = [...types.keys()].join(", ") || "none";
  throw new CliError(
    `no machine of this config declares intent type ${JSON.stringify(intentType)}; its intent types: ${known}`,
    ExitCode.Usage,
  );
}
