// A machine's state diagram as SVG, drawn here (no diagram library): states in layers by
// their distance from creation, edges as curves labelled with their events, the entity's
// current state and the transitions it took highlighted. The same graph is offered as text
// (a list, and Mermaid) for screen readers and for pasting into docs.
import type { DiagramBody, Json } from "@drover/http/wire";
import { api, segment } from "./api.js";
import { describe, useLoad } from "./hooks.js";

/** A step the entity took: from one state name to another by an event. */
export interface Taken {
  readonly from: string | null;
  readonly event: string;
  readonly to: string | null;
}

const NODE_H = 34;
const LAYER_GAP = 112;
const NODE_GAP = 96;
const MARGIN = 24;
const START = "\u0000start";

interface Node {
  readonly name: string;
  readonly layer: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly events: readonly string[];
}

/** Positions of every state: layer by shortest distance from creation, ordered by parents. */
export function layout(diagram: DiagramBody): {
  nodes: Map<string, Node>;
  edges: Edge[];
  width: number;
  height: number;
} {
  const edgesByKey = new Map<string, { from: string; to: string; events: string[] }>();
  for (const t of diagram.transitions) {
    const from = t.from ?? START;
    const key = `${from}\u0001${t.to}`;
    const edge = edgesByKey.get(key) ?? { from, to: t.to, events: [] };
    if (!edge.events.includes(t.event)) edge.events.push(t.event);
    edgesByKey.set(key, edge);
  }
  const edges = [...edgesByKey.values()];
  const names = [START, ...diagram.states];
  const layerOf = new Map<string, number>([[START, 0]]);
  const queue = [START];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    for (const edge of edges) {
      if (edge.from === name && !layerOf.has(edge.to)) {
        layerOf.set(edge.to, (layerOf.get(name) ?? 0) + 1);
        queue.push(edge.to);
      }
    }
  }
  const deepest = Math.max(0, ...layerOf.values());
  for (const name of names) if (!layerOf.has(name)) layerOf.set(name, deepest + 1);
  const layers: string[][] = [];
  for (const name of names) {
    const layer = layerOf.get(name) ?? 0;
    const row = layers[layer] ?? [];
    row.push(name);
    layers[layer] = row;
  }
  const widthOf = (name: string) => (name === START ? 16 : Math.max(72, name.length * 8 + 28));
  const nodes = new Map<string, Node>();
  const rowWidth = (row: readonly string[]) =>
    row.reduce((sum, name) => sum + widthOf(name), 0) + NODE_GAP * Math.max(0, row.length - 1);
  const width = Math.max(...layers.map((row) => rowWidth(row ?? []))) + 2 * MARGIN + 160;
  layers.forEach((row = [], layer) => {
    // Order a layer by the mean position of its parents, so edges cross less.
    const parentX = (name: string) => {
      const xs = edges
        .filter((edge) => edge.to === name && nodes.has(edge.from) && edge.from !== name)
        .map((edge) => nodes.get(edge.from)?.x ?? 0);
      return xs.length === 0 ? Number.POSITIVE_INFINITY : xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const ordered = layer === 0 ? row : [...row].sort((a, b) => parentX(a) - parentX(b));
    let x = (width - 160 - rowWidth(ordered)) / 2;
    for (const name of ordered) {
      const w = widthOf(name);
      nodes.set(name, { name, layer, x: x + w / 2, y: MARGIN + layer * LAYER_GAP + NODE_H / 2, width: w });
      x += w + NODE_GAP;
    }
  });
  const height = MARGIN * 2 + (layers.length - 1) * LAYER_GAP + NODE_H;
  return { nodes, edges, width, height };
}

/** The route and label position of one edge. */
function route(edge: Edge, nodes: Map<string, Node>): { d: string; lx: number; ly: number; anchor: string } {
  const a = nodes.get(edge.from);
  const b = nodes.get(edge.to);
  if (a === undefined || b === undefined) return { d: "", lx: 0, ly: 0, anchor: "middle" };
  const half = NODE_H / 2;
  if (a.name === b.name) {
    const x = a.x + a.width / 2;
    return {
      d: `M ${x} ${a.y - 8} C ${x + 46} ${a.y - 34}, ${x + 46} ${a.y + 34}, ${x} ${a.y + 8}`,
      lx: x + 40,
      ly: a.y + 4,
      anchor: "start",
    };
  }
  if (b.layer > a.layer) {
    const y1 = a.y + (a.name === START ? 8 : half);
    const y2 = b.y - half;
    const mid = (y1 + y2) / 2;
    return {
      d: `M ${a.x} ${y1} C ${a.x} ${mid}, ${b.x} ${mid}, ${b.x} ${y2}`,
      lx: (a.x + b.x) / 2,
      ly: mid,
      anchor: "middle",
    };
  }
  if (b.layer === a.layer) {
    const top = a.y - half;
    const mx = (a.x + b.x) / 2;
    return { d: `M ${a.x} ${top} Q ${mx} ${top - 44} ${b.x} ${top}`, lx: mx, ly: top - 26, anchor: "middle" };
  }
  // Back up to an earlier layer: around the left side.
  const x1 = a.x - a.width / 2;
  const x2 = b.x - b.width / 2;
  const bulge = Math.min(x1, x2) - 70;
  return {
    d: `M ${x1} ${a.y} C ${bulge} ${a.y}, ${bulge} ${b.y}, ${x2} ${b.y}`,
    lx: bulge + 10,
    ly: (a.y + b.y) / 2,
    anchor: "start",
  };
}

/** The arrowhead at the end of an edge; walked edges get their own, coloured like them. */
function Arrowhead({ id, walked }: { id: string; walked: boolean }) {
  return (
    <marker
      id={id}
      viewBox="0 0 10 10"
      refX="9"
      refY="5"
      markerUnits="userSpaceOnUse"
      markerWidth="10"
      markerHeight="10"
      orient="auto"
    >
      <path d="M 0 0 L 10 5 L 0 10 z" class={walked ? "diagram-arrow walked" : "diagram-arrow"} />
    </marker>
  );
}

/** The diagram of `machine`, with `current` highlighted and the steps in `taken` marked. */
export function StateDiagram(props: { machine: string; current: string | null; taken: readonly Taken[] }) {
  const { machine, current, taken } = props;
  const diagram = useLoad(
    (signal) => api<DiagramBody>(`/v1/machines/${segment(machine)}/diagram`, { signal }),
    [machine],
  );
  if (diagram.error !== undefined) {
    return (
      <p role="alert" class="error">
        No diagram: {describe(diagram.error)}
      </p>
    );
  }
  if (diagram.data === undefined) return <p class="muted">Drawing the diagram…</p>;
  const data = diagram.data;
  if (data.states.length === 0) {
    return (
      <p class="muted">
        No diagram for {machine}
        {data.note === undefined ? "." : `: ${data.note}`}
      </p>
    );
  }
  const { nodes, edges, width, height } = layout(data);
  const walked = (edge: Edge) =>
    taken.some((step) => (step.from ?? START) === edge.from && step.to === edge.to && edge.events.includes(step.event));
  const marker = `arrow-${machine.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const titleId = `${marker}-title`;
  return (
    <>
      <div class="diagram">
        <svg
          viewBox={`0 0 ${width} ${height}`}
          width={width}
          height={height}
          role="img"
          aria-labelledby={titleId}
          data-testid="state-diagram"
        >
          <title id={titleId}>
            State diagram of {machine}
            {current === null ? "" : `; the current state is ${current}`}
          </title>
          <defs>
            <Arrowhead id={marker} walked={false} />
            <Arrowhead id={`${marker}-walked`} walked={true} />
          </defs>
          {edges.map((edge) => {
            const r = route(edge, nodes);
            const on = walked(edge);
            return (
              <g key={`${edge.from}-${edge.to}`} class={on ? "diagram-edge walked" : "diagram-edge"}>
                <path d={r.d} marker-end={`url(#${on ? `${marker}-walked` : marker})`} />
                <text x={r.lx} y={r.ly} text-anchor={r.anchor} dominant-baseline="middle" class="diagram-label">
                  {edge.events.join(", ")}
                </text>
              </g>
            );
          })}
          {[...nodes.values()].map((node) =>
            node.name === START ? (
              <circle key={START} cx={node.x} cy={node.y} r={8} class="diagram-start" />
            ) : (
              <g
                key={node.name}
                class={node.name === current ? "diagram-node current" : "diagram-node"}
                data-state={node.name}
              >
                <rect x={node.x - node.width / 2} y={node.y - NODE_H / 2} width={node.width} height={NODE_H} rx={17} />
                <text x={node.x} y={node.y} text-anchor="middle" dominant-baseline="central">
                  {node.name}
                </text>
              </g>
            ),
          )}
        </svg>
      </div>
      <details>
        <summary>Transitions as text</summary>
        <ul class="transitions">
          {data.transitions.map((t) => (
            <li key={`${t.from}-${t.event}-${t.to}`}>
              {t.from ?? "(created)"} — {t.event} → {t.to}
            </li>
          ))}
        </ul>
        {data.mermaid === null ? null : (
          <>
            <h3 class="small">Mermaid</h3>
            <pre class="json">{data.mermaid}</pre>
          </>
        )}
      </details>
    </>
  );
}

/** The steps an entity took, from the state names of its journal entries. */
export function takenSteps(
  entries: readonly { readonly event: Json; readonly status: string | null }[],
  typeOf: (event: Json) => string,
): Taken[] {
  let previous: string | null = null;
  return entries.map((entry) => {
    const to = entry.status;
    const step = { from: previous, event: typeOf(entry.event), to };
    previous = to;
    return step;
  });
}
