import type { AnyMachine, EntityCount, StateVersionCount } from "@drover/core";
import { RunResultKind } from "@drover/core";
import type { ExploreOptions } from "@drover/core/graph";
import { exploreMachine, storedStateSamples, toMermaid } from "@drover/core/graph";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ProblemKind, problem, sendProblem } from "../problem.js";
import {
  type DiagramBody,
  type MachinesBody,
  Scope,
  type StatsBody,
  StreamEvent,
  type StreamMessage,
} from "../wire.js";
import { type RouteDeps, unknownMachine } from "./shared.js";

/** Open streams one server keeps at most (one per dashboard tab). */
const MAX_STREAMS = 100;
/** How long one count of entities by state (and by state version) answers `GET /v1/machines`. */
const COUNTS_TTL_MS = 1000;
/** A stream whose client reads slower than this many buffered bytes is closed. */
const STREAM_BUFFER_LIMIT = 1024 * 1024;

/** A machine's entities counted by state name and by stored state version. */
interface Counts {
  readonly states: readonly EntityCount[];
  readonly versions: readonly StateVersionCount[];
}

/** `GET /v1/machines`, `GET /v1/machines/{machine}/diagram`, `GET /v1/stats` and `GET /v1/stream`. */
export function machinesRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { app, live, options, streams } = deps;

  // Counting scans a machine's entities and every dashboard reloads the counts after a burst
  // of events: answers share one count per machine until this process changes it, or for a
  // second (other processes' changes).
  const counts = new Map<string, { at: number; counts: Promise<Counts> }>();
  const stopCounting = app.observe({
    // A step of this process changed the counts: the next answer counts again.
    onResult: ({ machine, result }) => {
      if (result.kind === RunResultKind.Processed) counts.delete(machine);
    },
  });
  server.addHook("onClose", async () => stopCounting());
  const countOf = (machine: string): Promise<Counts> => {
    const cached = counts.get(machine);
    if (cached !== undefined && Date.now() - cached.at < COUNTS_TTL_MS) return cached.counts;
    // One query for the states and one for the versions, per machine.
    const fresh = Promise.all([app.countEntities(machine), app.countStateVersions(machine)]).then(
      ([states, versions]) => ({ states, versions }),
    );
    counts.set(machine, { at: Date.now(), counts: fresh });
    fresh.catch(() => counts.delete(machine));
    return fresh;
  };

  async function getMachines(): Promise<MachinesBody> {
    return {
      machines: await Promise.all(
        app.machines.map(async (machine) => {
          const { states, versions } = await countOf(machine.name);
          return {
            name: machine.name,
            version: machine.version,
            eventVersion: machine.eventVersion,
            total: states.reduce((sum, { count }) => sum + count, 0),
            // The wire keeps its name for a state's name: `status`.
            states: states.map(({ stateName, count }) => ({ status: stateName, count })),
            stateVersions: versions.map(({ stateVersion, count }) => ({ stateVersion, count })),
            internal: machine.internal,
          };
        }),
      ),
    };
  }

  // Exploring a machine runs it many times (half a second for payments): once per machine,
  // on the first request, then from memory.
  // Explored again at most once a minute: the states stored meanwhile are drawn too.
  const diagrams = new Map<string, { readonly at: number; readonly body: DiagramBody }>();
  async function getDiagram(
    request: FastifyRequest<{ Params: { machine: string } }>,
    reply: FastifyReply,
  ): Promise<DiagramBody | FastifyReply> {
    const machine = app.machine(request.params.machine);
    if (machine === undefined) return sendProblem(reply, unknownMachine(request.params.machine, app));
    const cached = diagrams.get(machine.name);
    if (cached !== undefined && Date.now() - cached.at < DIAGRAM_TTL_MS) return cached.body;
    const stored = await storedStateSamples(app, machine).catch(() => []);
    const body = diagramOf(machine, { storedStates: stored, samplesPerEvent: deps.options.diagramSamples ?? 16 });
    diagrams.set(machine.name, { at: Date.now(), body });
    return body;
  }

  async function getStats(): Promise<StatsBody> {
    return live.stats();
  }

  async function getStream(request: FastifyRequest, reply: FastifyReply) {
    if (streams.size >= (options.maxStreams ?? MAX_STREAMS)) {
      return sendProblem(
        reply,
        problem(503, ProblemKind.Unavailable, "too many open streams on this server; try again later"),
      );
    }
    // Server-Sent Events, written by hand: the answer never ends, so Fastify lets go of it.
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
      "x-request-id": request.id,
    });
    streams.add(raw);
    const send = ({ event, data }: StreamMessage): void => {
      if (raw.writableEnded) return;
      // A client that does not read is cut off rather than buffered without end.
      if (raw.writableLength > STREAM_BUFFER_LIMIT) {
        raw.end();
        return;
      }
      raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const sendStats = () =>
      live.stats().then(
        (stats) => send({ event: StreamEvent.Stats, data: stats }),
        () => send({ event: StreamEvent.Stats, data: null }),
      );
    raw.write("retry: 2000\n\n");
    const unsubscribe = live.subscribe(send);
    const timer = setInterval(sendStats, options.statsIntervalMs ?? 2000);
    void sendStats();
    const stop = () => {
      clearInterval(timer);
      unsubscribe();
      streams.delete(raw);
    };
    raw.on("close", stop);
    raw.on("error", stop);
  }

  server.get("/v1/machines", { config: { scope: Scope.Read } }, getMachines);
  server.get<{ Params: { machine: string } }>(
    "/v1/machines/:machine/diagram",
    { config: { scope: Scope.Read } },
    getDiagram,
  );
  server.get("/v1/stats", { config: { scope: Scope.Read } }, getStats);
  server.get("/v1/stream", { config: { scope: Scope.Read } }, getStream);
}

const DIAGRAM_TTL_MS = 60_000;

function diagramOf(machine: AnyMachine, options: ExploreOptions): DiagramBody {
  try {
    const graph = exploreMachine(machine, options);
    return { ...graph, mermaid: toMermaid(graph) };
  } catch (error) {
    const note = error instanceof Error ? error.message : String(error);
    return { machine: machine.name, states: [], transitions: [], mermaid: null, note };
  }
}
