import { existsSync } from "node:fs";
import type { Json } from "@drover/core";
import { exploreMachine, storedStateSamples, toMermaid } from "@drover/core/graph";
import type { Command } from "commander";
import { machineNamed } from "../config.js";
import { ExitCode } from "../exit-code.js";
import type { CommandContext } from "./context.js";
import { dbOption, wholeNumber, withStore } from "./context.js";

/** Register `drover diagram`: a machine's Mermaid state diagram, found by running it. */
export function diagramCommand(program: Command, context: CommandContext): Command {
  return program
    .command("diagram")
    .description("print a Mermaid stateDiagram-v2 of a machine, found by running it (never a hand-kept copy)")
    .argument("<machine>", "machine name")
    .option("--seed <n>", "seed of the generated events", "1")
    .option("--samples <n>", "random payloads per event type and state", "16")
    .option("--no-stored", "leave out the states read from the database")
    .addOption(dbOption())
    .addHelpText(
      "after",
      "\nStates entities are stored in are drawn and explored from too (when the database exists);\na stored state exploration did not reach is noted in the diagram and on stderr.",
    )
    .action(
      async (machineName: string, options: { seed: string; samples: string; stored: boolean }, command: Command) => {
        const cfg = await context.config(command);
        const machine = machineNamed(cfg, machineName);
        const seed = wholeNumber("--seed", options.seed);
        const samples = wholeNumber("--samples", options.samples);
        const db = context.dbOf(command, cfg);
        // A SQLite file that is not there holds no states: do not make one by looking.
        const readable = options.stored && !(db.startsWith("sqlite:") && !existsSync(db.slice("sqlite:".length)));
        const storedStates: Json[] = readable ? await withStore(db, (store) => storedStateSamples(store, machine)) : [];
        const graph = exploreMachine(machine, { seed, samplesPerEvent: samples, storedStates });
        for (const name of graph.unreached ?? []) {
          context.io.stderr.write(
            `drover: entities are stored in state "${name}", which exploring ${machine.name} from creation did not reach; it is drawn from the database (more --samples may find the way there)\n`,
          );
        }
        context.print(context.globals(command).json === true ? JSON.stringify(graph) : toMermaid(graph));
        context.done(ExitCode.Ok);
      },
    );
}
