import type { AnyMachine } from "@drover/core";
import type { ExploreOptions } from "@drover/core/graph";
import { exploreMachine, toMermaid } from "@drover/core/graph";

/** `drover diagram`: the machine's graph as Mermaid, or as JSON with `--json`. */
export function diagramCommand(machine: AnyMachine, options: ExploreOptions, json: boolean): string {
  const graph = exploreMachine(machine, options);
  return json ? JSON.stringify(graph) : toMermaid(graph);
}
