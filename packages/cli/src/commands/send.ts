import type { AnyMachine, RunResult } from "@drover/core";
import { InvalidReason, RunResultKind, Runtime } from "@drover/core";
import { NatsTransport, sendEvent } from "@drover/nats";
import type { Command } from "commander";
import { Option } from "commander";
import { machineNamed } from "../config.js";
import { CliError, ExitCode } from "../exit-code.js";
import { describeResult, exitCodeOfResult } from "../format.js";
import { natsUrl } from "../nats.js";
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
    .description(
      "apply one event to one entity through the runtime (no HTTP), or over NATS with --via nats, and print the result",
    )
    .argument("<machine>", "machine name, e.g. payments")
    .argument("<id>", "entity id")
    .argument("<event-json>", `the event as a JSON object, e.g. ${EVENT_EXAMPLE}; - reads it from stdin`)
    .option("--idempotency-key <key>", "the event's id: sending it again answers the first outcome (duplicate)")
    .option("--internal", "allow an event type that only drover sends (effect follow-ups, timers), for repairs")
    .addOption(
      new Option("--via <transport>", "db: run it here against the database; nats: publish it to NATS JetStream")
        .choices(["db", "nats"])
        .default("db"),
    )
    .option("--nats <url>", "with --via nats: where NATS is (DROVER_NATS, default nats://127.0.0.1:4222)")
    .option("--timeout <ms>", "with --via nats: how long to wait for the result (default 10000)")
    .addOption(dbOption())
    .addHelpText(
      "after",
      "\nExit: 0 processed, 1 rejected or not found, 2 invalid, 3 conflict or database unavailable.",
    )
    .action(async (machineName: string, id: string, eventJson: string, options: SendOptions, command: Command) => {
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
      const result =
        options.via === "nats"
          ? await sendOverNats(machine, id, event, options)
          : await withStore(context.dbOf(command, cfg), (store) =>
              new Runtime({ store, machines: cfg.machines, groupCommit: false }).run(
                { machine: machine.name, id },
                event,
                { ...(options.idempotencyKey === undefined ? {} : { eventId: options.idempotencyKey }) },
              ),
            );
      if (result.kind === RunResultKind.Invalid && result.reason === InvalidReason.InvalidEventId) {
        throw new CliError(`--idempotency-key ${result.message.replace(/^an event id/, "")}`, ExitCode.Usage);
      }
      context.print(context.globals(command).json ? JSON.stringify(result) : describeResult(result, machine));
      context.done(exitCodeOfResult(result));
    });
}

interface SendOptions {
  readonly idempotencyKey?: string;
  readonly internal?: boolean;
  readonly via: "db" | "nats";
  readonly nats?: string;
  readonly timeout?: string;
}

/**
 * Publish the event to the entity's NATS subject and wait for the RunResult a drover process
 * answers once the outcome is durable.
 */
async function sendOverNats(machine: AnyMachine, id: string, event: object, options: SendOptions): Promise<RunResult> {
  const timeoutMs = options.timeout === undefined ? 10_000 : Number(options.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new CliError(`--timeout must be a positive number of milliseconds, got ${options.timeout}`, ExitCode.Usage);
  }
  const url = natsUrl(options.nats, process.env) ?? "nats://127.0.0.1:4222";
  let nats: NatsTransport;
  try {
    nats = await NatsTransport.connect({ url, name: "drover send" });
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), ExitCode.Infrastructure, {
      cause: error,
    });
  }
  try {
    const outcome = await sendEvent(
      nats.connection,
      {
        machine: machine.name,
        id,
        event,
        ...(options.idempotencyKey === undefined ? {} : { eventId: options.idempotencyKey }),
      },
      { timeoutMs },
    );
    switch (outcome.kind) {
      case "answered":
        return outcome.result;
      case "duplicate_message":
        throw new CliError(
          `NATS already holds an event with id ${options.idempotencyKey} (stream sequence ${outcome.seq}); its result went to whoever sent it first — see drover history ${machine.name} ${id}`,
          ExitCode.Rejected,
        );
      case "no_answer":
        throw new CliError(
          `the event is stored in NATS (stream sequence ${outcome.seq}) but no drover process answered within ${timeoutMs} ms; is drover serve --nats running?`,
          ExitCode.Infrastructure,
        );
    }
  } finally {
    await nats.close();
  }
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
