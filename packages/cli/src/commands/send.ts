import { InvalidReason, RunResultKind, Runtime } from "@drover/core";
import type { Command } from "commander";
import { machineNamed } from "../config.js";
import { CliError, ExitCode } from "../exit-code.js";
import { describeResult, exitCodeOfResult } from "../format.js";
import type { CommandContext } from "./context.js";
import { dbOption, withStore } from "./context.js";

const EVENT_EXAMPLE = `'{"type":"CancelPayment"}'`;

/**
 * Register `drover send`: one event to one entity through the runtime, as
 * `POST /v1/{machine}/{id}/events` does without HTTP. It keeps a {@link Runtime} of its own
 * (no group commit) because a single CLI call has nothing to batch with.
 */
export function sendCommand(program: Command, context: CommandContext): Command {
  return program
    .command("send")
    .description("apply one event to one entity through the runtime (no HTTP) and print the result")
    .argument("<machine>", "machine name, e.g. payments")
    .argument("<id>", "entity id")
    .argument("<event-json>", `the event as a JSON object, e.g. ${EVENT_EXAMPLE}; - reads it from stdin`)
    .option("--idempotency-key <key>", "the event's id: sending it again answers the first outcome (duplicate)")
    .option("--internal", "allow an event type that only drover sends (effect follow-ups, timers), for repairs")
    .addOption(dbOption())
    .addHelpText(
      "after",
      "\nExit: 0 processed, 1 rejected or not found, 2 invalid, 3 conflict or database unavailable.",
    )
    .action(
      async (
        machineName: string,
        id: string,
        eventJson: string,
        options: { idempotencyKey?: string; internal?: boolean },
        command: Command,
      ) => {
        const cfg = await context.config(command);
        const machine = machineNamed(cfg, machineName);
        const event = parseEvent(eventJson === "-" ? await readAll(context.io.stdin) : eventJson);
        const type = (event as { type?: unknown }).type;
        if (typeof type === "string" && machine.internal.includes(type) && options.internal !== true) {
          throw new CliError(
            `${type} is sent by drover itself (effects and timers), not by callers; add --internal to send it anyway`,
            ExitCode.Usage,
          );
        }
        const result = await withStore(context.dbOf(command, cfg), (store) =>
          new Runtime({ store, machines: cfg.machines, groupCommit: false }).run({ machine: machine.name, id }, event, {
            ...(options.idempotencyKey === undefined ? {} : { eventId: options.idempotencyKey }),
          }),
        );
        if (result.kind === RunResultKind.Invalid && result.reason === InvalidReason.InvalidEventId) {
          throw new CliError(`--idempotency-key ${result.message.replace(/^an event id/, "")}`, ExitCode.Usage);
        }
        context.print(context.globals(command).json ? JSON.stringify(result) : describeResult(result, machine));
        context.done(exitCodeOfResult(result));
      },
    );
}

function parseEvent(text: string): object {
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new CliError(
      `<event-json> is not valid JSON (${why}); pass one JSON object in quotes, e.g. ${EVENT_EXAMPLE}`,
      ExitCode.Usage,
    );
  }
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new CliError(`<event-json> must be a JSON object with a "type", e.g. ${EVENT_EXAMPLE}`, ExitCode.Usage);
  }
  return event;
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (stream === undefined)
    throw new CliError("<event-json> is -, but there is no stdin to read it from", ExitCode.Usage);
  let text = "";
  for await (const chunk of stream) text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
  return text;
}
