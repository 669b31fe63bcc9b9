/**
 * `@drover/core/graph`: a machine's state graph, explored from its schemas, and its Mermaid
 * text. Tooling (diagrams, the dashboard's picture, `drover diagram`), kept out of the root
 * entry so the runtime's own surface stays the loop.
 *
 * @example
 * import { exploreMachine, toMermaid } from "@drover/core/graph";
 * console.log(toMermaid(exploreMachine(doors)));
 *
 * @packageDocumentation
 */
export type { ExploreOptions, MachineGraph, StoredStateSource, Transition } from "./diagram.js";
export { exploreMachine, storedStateSamples, toMermaid } from "./diagram.js";
