import type { AnyMachine, App, Divergence, JournalEntry } from "@drover/core";
import { replayJournal } from "@drover/core";
import type { Command } from "commander";
import { machineNamed } from "../config.js";
import { describeDivergence } from "../divergence.js";
import { ExitCode } from "../exit-code.js";
import { progressBar } from "../progress.js";
import type { CliIo, CommandContext } from "./context.js";
import { dbOption, idOf, withApp } from "./context.js";

/** Register `drover replay`: the journal through the current code, exit 1 on any divergence. */
export function replayCommand(program: Command, context: CommandContext): Command {
  return program
    .command("replay")
    .description("re-run the journal through the current code and report every divergence (exit 1 if any)")
    .argument("<machine>", "machine name")
    .argument("[id]", "only this entity (default: every entity of the machine)")
    .addOption(dbOption())
    .action(async (machineName: string, rawId: string | undefined, _options: unknown, command: Command) => {
      const cfg = await context.config(command);
      const machine = machineNamed(cfg, machineName);
      const id = rawId === undefined ? undefined : idOf(machine, rawId);
      const code = await withApp(context.dbOf(command, cfg), cfg, (app) =>
        replay({ app, machine, id, json: context.globals(command).json === true, io: context.io }),
      );
      context.done(code);
    });
}

/** What `drover replay` is given. */
export interface ReplayInput {
  /** Read through, never started. */
  readonly app: App;
  readonly machine: AnyMachine;
  /** One entity, or every entity of the machine. */
  readonly id: string | undefined;
  readonly json: boolean;
  readonly io: CliIo;
}

const PAGE = 500;

/**
 * Re-run each entity's journal through the machine's current code (core's `replayJournal`)
 * and report every divergence with entity, version, event and a readable diff. A progress
 * bar goes to stderr when it is a terminal and the output is not JSON. Exit 1 on any divergence.
 */
export async function replay({ app, machine, id, json, io }: ReplayInput): Promise<ExitCode> {
  const ids = id === undefined ? await allIds(app, machine.name) : [id];
  const progress = progressBar(io.stderr, "replaying", ids.length, json);
  const found: { divergence: Divergence; entry: JournalEntry | undefined }[] = [];
  let events = 0;
  let entities = 0;
  for (const entityId of ids) {
    const entries = await app.history({ machine: machine.name, id: entityId });
    if (entries.length > 0) entities++;
    events += entries.length;
    for (const divergence of replayJournal(machine, entries)) {
      found.push({ divergence, entry: entries.find((e) => e.version === divergence.version) });
    }
    progress?.tick();
  }
  progress?.done();
  if (id !== undefined && entities === 0) {
    const message = `no ${machine.name} ${id}: it has no journal to replay`;
    io.stderr.write(`drover: ${message}\n`);
    return ExitCode.Rejected;
  }
  if (json) {
    io.stdout.write(
      `${JSON.stringify({
        machine: machine.name,
        entities,
        events,
        divergences: found.map(({ divergence, entry }) => ({ ...divergence, event: entry?.event ?? null })),
      })}\n`,
    );
  } else {
    const lines = found.map(({ divergence, entry }) => describeDivergence(divergence, entry));
    const summary =
      found.length === 0
        ? `replayed ${events} event${events === 1 ? "" : "s"} of ${entities} ${machine.name} entit${entities === 1 ? "y" : "ies"}: no divergence`
        : `replayed ${events} event${events === 1 ? "" : "s"} of ${entities} ${machine.name} entit${entities === 1 ? "y" : "ies"}: ${found.length} divergence${found.length === 1 ? "" : "s"}`;
    io.stdout.write(`${[...lines, summary].join("\n")}\n`);
  }
  return found.length === 0 ? ExitCode.Ok : ExitCode.Rejected;
}

async function allIds(app: App, machine: string): Promise<string[]> {
  const ids: string[] = [];
  for (let after: string | undefined; ; ) {
    const page = await app.listEntities(machine, { limit: PAGE, ...(after === undefined ? {} : { after }) });
    ids.push(...page.map((e) => e.id));
    if (page.length < PAGE) return ids;
    after = page.at(-1)?.id;
  }
}
