import type { AnyMachine } from "@drover/core";
import type { ExploreOptions } from "@drover/core/graph";
import { exploreMachine, toMermaid } from "@drover/core/graph";
import type { Command } from "commander";
import { machineNamed } from "../config.js";
import { ExitCode } from "../exit-code.js";
import type { CommandContext } from "./context.js";
import { wholeNumber } from "./context.js";

/** Register `drover diagram`: a machine's Mermaid state diagram, found by running it. */
export function diagramCommand(program: Command, context: CommandContext): Command {
  return program
    .command("diagram")
    .description("print a Mermaid stateDiagram-v2 of a machine, found by running it (never a hand-kept copy)")
    .argument("<machine>", "machine name")
    .option("--seed <n>", "seed of the generated events", "1")
    .option("--samples <n>", "random payloads per event type and state", "16")
    .action(async (machineName: string, options: { seed: string; samples: string }, command: Command) => {
      const cfg = await context.config(command);
      const machine = machineNamed(cfg, machineName);
      const seed = wholeNumber("--seed", options.seed);
      const samples = wholeNumber("--samples", options.samples);
      context.print(diagramOf(machine, { seed, samplesPerEvent: samples }, context.globals(command).json === true));
      context.done(ExitCode.Ok);
    });
}

/** The machine's graph as Mermaid, or as JSON when `json`. */
export function diagramOf(machine: AnyMachine, options: ExploreOptions, json: boolean): string {
  const graph = exploreMachine(machine, options);
  return json ? JSON.stringify(graph) : toMermaid(graph);
}
