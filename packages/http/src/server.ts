import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { AnyMachine, App, EntityCount, RunResult, StoredEntity } from "@drover/core";
import { InvalidReason, OutboxStatus, RunResultKind, StoreUnavailableError } from "@drover/core";
import { exploreMachine, toMermaid } from "@drover/core/graph";
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import Fastify from "fastify";
import { z } from "zod";
import { check, deny, installAuth, Public } from "./auth.js";
import type { EntityTagCondition } from "./conditional.js";
import { ConditionKind, ifMatchPasses, isNotModified, parseEntityTagList } from "./conditional.js";
import { DASHBOARD_CSP, loadDashboardAssets } from "./dashboard.js";
import { LiveFeed } from "./live.js";
import { DroverMetrics } from "./metrics.js";
import {
  buildOpenApi,
  ENTITY_TAG_PATTERN,
  entityBody,
  IDEMPOTENCY_KEY_PATTERN,
  journalEntryBody,
  ListLimit,
  outboxRecordBody,
} from "./openapi/index.js";
import type { Problem } from "./problem.js";
import { ProblemKind, problem, sendProblem } from "./problem.js";
import type { TokenStore } from "./tokens.js";
import { Scope } from "./tokens.js";

/** What {@link buildServer} needs. */
export interface ServerOptions {
  readonly app: App;
  readonly tokens: TokenStore;
  /** A pino logger for request logs; none: silent. */
  readonly logger?: FastifyBaseLogger;
  /** Largest request body in bytes (default 64 KiB). */
  readonly bodyLimit?: number;
  readonly title?: string;
  readonly version?: string;
  /**
   * The folder of the dashboard's built files, read into memory and served at `/` (e.g.
   * `dashboardAssetsDir()` of `@drover/dashboard`). None: no dashboard, `/` is a plain page.
   * The folder is handed in rather than looked up, so this package depends on no dashboard.
   */
  readonly dashboard?: string | undefined;
  /** How often the stream sends `event: stats`, in ms (default 2000). */
  readonly statsIntervalMs?: number;
  /** Most `GET /v1/stream` answers open at once (default 100); more get 503. */
  readonly maxStreams?: number;
}

const EVENT_ID = new RegExp(IDEMPOTENCY_KEY_PATTERN);
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** A version as the opaque value of an entity tag: `ENTITY_TAG_PATTERN` without its quotes. */
const VERSION = new RegExp(`^${ENTITY_TAG_PATTERN.slice(2, -2)}$`);
/** First path segments under `/v1` that are drover's own routes, not machines. */
const RESERVED = new Set(["outbox", "machines", "stream", "stats", "token"]);
/** Open streams one server keeps at most (one per dashboard tab). */
const MAX_STREAMS = 100;
/** How long one count of entities by state answers `GET /v1/machines`. */
const COUNTS_TTL_MS = 1000;
/** A stream whose client reads slower than this many buffered bytes is closed. */
const STREAM_BUFFER_LIMIT = 1024 * 1024;

const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(ListLimit.Min).max(ListLimit.Max).default(ListLimit.Default),
  cursor: z.string().max(400).optional(),
  prefix: z.string().min(1).max(200).optional(),
  status: z.string().min(1).max(200).optional(),
});
const OutboxQuery = z.strictObject({
  status: z.enum([OutboxStatus.Pending, OutboxStatus.Dead]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/**
 * The HTTP API of a drover {@link App} (DESIGN §6): routes derived from its machines, bearer
 * tokens with scopes, `Idempotency-Key`, `If-Match`/`ETag`, RFC 9457 problems with `kind`,
 * OpenAPI 3.1 at `/openapi.json`, Prometheus metrics at `/metrics`. Nothing in it knows a
 * domain: every answer is derived from run results and the machines' schemas.
 *
 * @example
 * const server = await buildServer({ app, tokens: TokenStore.open("./data") });
 * await server.listen({ host: "127.0.0.1", port: 3000 });
 */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { app, tokens } = options;
  for (const name of app.machines.map((m) => m.name)) {
    if (RESERVED.has(name)) throw new Error(`a machine may not be named "${name}": /v1/${name} is a drover route`);
  }
  const server: FastifyInstance = Fastify({
    ...(options.logger === undefined ? {} : { loggerInstance: options.logger as FastifyBaseLogger }),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    // Ids are checked by each machine's schema (after authentication), not by the router.
    // (Under routerOptions: Fastify 5.12 deprecates the top-level option with a warning on stderr.)
    routerOptions: { maxParamLength: 2048 },
    // A URL Fastify cannot decode never reaches a route: authenticate here (a read needs
    // `read`, anything else `write`), then answer with a problem like every other error.
    frameworkErrors: (error, request, reply) => {
      reply.header("x-request-id", request.id);
      const needed = request.method === "GET" || request.method === "HEAD" ? Scope.Read : Scope.Write;
      const checked = check(tokens, request.headers.authorization, needed);
      if ("kind" in checked) return deny(reply, checked);
      const tooLong = error.code === "FST_ERR_MAX_PARAM_LENGTH";
      return sendProblem(
        reply,
        problem(
          400,
          ProblemKind.Invalid,
          tooLong ? "a path segment is longer than 2048 characters" : "the URL is not validly percent-encoded",
          { reason: tooLong ? InvalidReason.InvalidId : "malformed_request" },
        ),
      );
    },
    // Errors of the HTTP parser (headers too large, garbage): answered on the raw socket.
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
      const body = JSON.stringify(
        problem(
          status,
          ProblemKind.Invalid,
          status === 431 ? "the request headers are too large" : "malformed HTTP request",
          {
            reason: "malformed_request",
          },
        ),
      );
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 ${status} ${status === 431 ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
            `Content-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
            `X-Request-Id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
        );
      } else {
        socket.destroy(error);
      }
    },
  });
  // Events are JSON; a text/plain body is refused with 415 like any other type.
  server.removeContentTypeParser("text/plain");
  const metrics = new DroverMetrics(app);
  const live = new LiveFeed(app);
  const assets = options.dashboard === undefined ? undefined : loadDashboardAssets(options.dashboard);
  const streams = new Set<ServerResponse>();
  const openapi = buildOpenApi({
    machines: app.machines,
    title: options.title ?? "drover",
    version: options.version ?? "0.1.0",
  });

  server.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  installAuth(server, tokens);
  server.addHook("onClose", async () => {
    metrics.close();
    live.close();
  });
  // Streams never end on their own: end them, or closing would wait for them forever.
  server.addHook("preClose", async () => {
    for (const stream of streams) stream.end();
  });

  server.setErrorHandler((error: FastifyError, request, reply) => sendProblem(reply, errorProblem(error, request)));
  server.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem(404, ProblemKind.NotFound, `no route ${request.method} ${request.url.split("?")[0]}`)),
  );

  server.get("/healthz", { config: { scope: Public } }, async () => ({ status: "ok" }));
  server.get("/openapi.json", { config: { scope: Public } }, async () => openapi);
  server.get("/metrics", { config: { scope: Scope.Read } }, async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
  if (assets === undefined) {
    server.get("/", { config: { scope: Public } }, async (_request, reply) =>
      reply.type("text/html; charset=utf-8").send(landingPage(app)),
    );
  } else {
    // The dashboard: static files only. The page holds no data; it asks the API for it with
    // the token the operator types in, so these routes are public.
    for (const [path, asset] of assets) {
      server.get(path, { config: { scope: Public } }, async (request, reply) => {
        reply
          .header("etag", asset.etag)
          .header("cache-control", "no-cache")
          .header("x-content-type-options", "nosniff")
          .header("referrer-policy", "no-referrer")
          .header("content-security-policy", DASHBOARD_CSP);
        if (isNotModified(request.headers["if-none-match"], asset.etag)) return reply.code(304).send();
        return reply.type(asset.type).send(asset.body);
      });
    }
  }

  server.get("/v1/token", { config: { scope: Scope.Read } }, async (request) => ({
    name: request.principal?.name ?? null,
    scopes: request.principal?.scopes ?? [],
  }));

  // Counting scans a machine's entities and every dashboard reloads the counts after a burst
  // of events: answers share one count per machine until this process changes it, or for a
  // second (other processes' changes).
  const counts = new Map<string, { at: number; counts: Promise<EntityCount[]> }>();
  const stopCounting = app.observe({
    // A step of this process changed the counts: the next answer counts again.
    onResult: ({ machine, result }) => {
      if (result.kind === RunResultKind.Processed) counts.delete(machine);
    },
  });
  server.addHook("onClose", async () => stopCounting());
  const countOf = (machine: string): Promise<EntityCount[]> => {
    const cached = counts.get(machine);
    if (cached !== undefined && Date.now() - cached.at < COUNTS_TTL_MS) return cached.counts;
    const fresh = app.countEntities(machine);
    counts.set(machine, { at: Date.now(), counts: fresh });
    fresh.catch(() => counts.delete(machine));
    return fresh;
  };
  server.get("/v1/machines", { config: { scope: Scope.Read } }, async () => ({
    machines: await Promise.all(
      app.machines.map(async (machine) => {
        const states = await countOf(machine.name);
        return {
          name: machine.name,
          total: states.reduce((sum, { count }) => sum + count, 0),
          states,
          internal: machine.internal,
        };
      }),
    ),
  }));

  // Exploring a machine runs it many times (half a second for payments): once per machine,
  // on the first request, then from memory.
  const diagrams = new Map<string, DiagramBody>();
  server.get<{ Params: { machine: string } }>(
    "/v1/machines/:machine/diagram",
    { config: { scope: Scope.Read } },
    async (request, reply) => {
      const machine = app.machine(request.params.machine);
      if (machine === undefined) return sendProblem(reply, unknownMachine(request.params.machine, app));
      let diagram = diagrams.get(machine.name);
      if (diagram === undefined) {
        diagram = diagramOf(machine);
        diagrams.set(machine.name, diagram);
      }
      return diagram;
    },
  );

  server.get("/v1/stats", { config: { scope: Scope.Read } }, async () => live.stats());

  server.get("/v1/stream", { config: { scope: Scope.Read } }, async (request, reply) => {
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
    const send = (event: string, data: unknown): void => {
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
        (stats) => send("stats", stats),
        () => send("stats", null),
      );
    raw.write("retry: 2000\n\n");
    const unsubscribe = live.subscribe((message) => send(message.event, message.data));
    const timer = setInterval(sendStats, options.statsIntervalMs ?? 2000);
    void sendStats();
    const stop = () => {
      clearInterval(timer);
      unsubscribe();
      streams.delete(raw);
    };
    raw.on("close", stop);
    raw.on("error", stop);
  });

  server.get("/v1/outbox", { config: { scope: Scope.Admin } }, async (request, reply) => {
    const query = OutboxQuery.safeParse(request.query);
    if (!query.success) return sendProblem(reply, invalidQuery(query.error));
    const { status, limit } = query.data;
    const rows = await app.listOutbox(status === undefined ? { limit } : { status, limit });
    return { items: rows.map(outboxRecordBody) };
  });

  server.post<{ Params: { intentId: string } }>(
    "/v1/outbox/:intentId/retry",
    { config: { scope: Scope.Admin } },
    async (request, reply) => {
      const { intentId } = request.params;
      const row = await app.findOutbox(intentId);
      if (row === undefined) return sendProblem(reply, problem(404, ProblemKind.NotFound, `no intent ${intentId}`));
      if (row.status !== OutboxStatus.Dead) {
        return sendProblem(
          reply,
          problem(409, ProblemKind.Conflict, `intent ${intentId} is ${row.status}; only dead letters can be retried`),
        );
      }
      await app.retryDeadLetter(intentId);
      const revived = await app.findOutbox(intentId);
      return revived === undefined ? { intentId, status: OutboxStatus.Pending } : outboxRecordBody(revived);
    },
  );

  server.post<{ Params: { machine: string; id: string } }>(
    "/v1/:machine/:id/events",
    { config: { scope: Scope.Write } },
    async (request, reply) => {
      const { machine: name, id } = request.params;
      const machine = app.machine(name);
      if (machine === undefined) return sendProblem(reply, unknownMachine(name, app));
      const body: unknown = request.body;
      if (body === null || typeof body !== "object" || Array.isArray(body)) {
        return sendProblem(
          reply,
          problem(400, ProblemKind.Invalid, "the request body must be a JSON object with a `type`", {
            reason: InvalidReason.InvalidEvent,
          }),
        );
      }
      const type = (body as { type?: unknown }).type;
      if (typeof type === "string" && machine.internal.includes(type)) {
        return sendProblem(
          reply,
          problem(400, ProblemKind.Invalid, `${type} is sent by drover itself (effects and timers), not by callers`, {
            reason: "internal_event",
          }),
        );
      }
      const key = request.headers["idempotency-key"];
      if (key !== undefined && (typeof key !== "string" || !EVENT_ID.test(key))) {
        return sendProblem(
          reply,
          problem(400, ProblemKind.Invalid, "Idempotency-Key must be 1 to 255 printable ASCII characters, no spaces", {
            reason: "invalid_idempotency_key",
          }),
        );
      }
      const ifMatch = request.headers["if-match"];
      let expectedVersion: number | undefined;
      if (ifMatch !== undefined) {
        const condition = typeof ifMatch === "string" ? parseEntityTagList(ifMatch) : undefined;
        const versions = condition === undefined ? undefined : strongVersions(condition);
        if (condition === undefined || versions === undefined) {
          return sendProblem(
            reply,
            problem(
              400,
              ProblemKind.Invalid,
              'If-Match must be * or entity tags, each a version in quotes: "3" (or "2", "3")',
              { reason: "invalid_if_match" },
            ),
          );
        }
        if (condition.kind === ConditionKind.Tags && condition.tags.length === 1 && versions.length === 1) {
          // One version: the store compares it with the entity's in the same write.
          expectedVersion = versions[0];
        } else {
          // `*`, a list or a weak tag: compare with the current entity. An invalid id is left
          // to app.run, since a request that fails anyway is not judged on its preconditions
          // (RFC 9110 §13.2.1).
          const parsedId = machine.schemas.id.safeParse(id);
          if (parsedId.success) {
            const current = await app.getEntity({ machine: name, id: parsedId.data });
            // drover's tag for an entity not written yet is "0"; `*` needs one that exists.
            const currentTag =
              current === undefined && condition.kind === ConditionKind.Any
                ? undefined
                : { opaque: String(current?.version ?? 0), weak: false };
            if (!ifMatchPasses(condition, currentTag)) {
              return sendProblem(
                reply,
                problem(
                  412,
                  ProblemKind.Conflict,
                  current === undefined
                    ? `If-Match needs an existing ${name} ${id}, and there is none`
                    : `If-Match named none of the current version ${current.version} of ${name} ${id}`,
                  { reason: "version_mismatch", currentVersion: current?.version ?? 0 },
                ),
              );
            }
            // The tag that matched is pinned, so a write in between still fails with 412; `*`
            // only asks that the entity exists, which no later write undoes.
            if (condition.kind === ConditionKind.Tags) expectedVersion = current?.version ?? 0;
          }
        }
      }
      const result = await app.run({ machine: name, id }, body, {
        ...(key === undefined ? {} : { eventId: key }),
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
      });
      request.log.info(
        { machine: name, entityId: id, eventId: eventIdOf(result), kind: result.kind },
        `event ${typeof type === "string" ? type : "?"}: ${result.kind}`,
      );
      return sendResult(reply, result);
    },
  );

  server.get<{ Params: { machine: string; id: string } }>(
    "/v1/:machine/:id",
    { config: { scope: Scope.Read } },
    async (request, reply) => {
      const found = await findEntity(app, request.params.machine, request.params.id);
      if ("status" in found) return sendProblem(reply, found);
      const etag = `"${found.version}"`;
      reply.header("etag", etag);
      if (isNotModified(request.headers["if-none-match"], etag)) return reply.code(304).send();
      return entityBody(found);
    },
  );

  server.get<{ Params: { machine: string; id: string } }>(
    "/v1/:machine/:id/history",
    { config: { scope: Scope.Read } },
    async (request, reply) => {
      const found = await findEntity(app, request.params.machine, request.params.id);
      if ("status" in found) return sendProblem(reply, found);
      const entries = await app.history({ machine: found.machine, id: found.id });
      return { entries: entries.map(journalEntryBody) };
    },
  );

  server.get<{ Params: { machine: string; id: string } }>(
    "/v1/:machine/:id/outbox",
    { config: { scope: Scope.Admin } },
    async (request, reply) => {
      const found = await findEntity(app, request.params.machine, request.params.id);
      if ("status" in found) return sendProblem(reply, found);
      const rows = await app.entityOutbox({ machine: found.machine, id: found.id });
      return { items: rows.map(outboxRecordBody) };
    },
  );

  server.get<{ Params: { machine: string } }>(
    "/v1/:machine",
    { config: { scope: Scope.Read } },
    async (request, reply) => {
      const name = request.params.machine;
      if (app.machine(name) === undefined) return sendProblem(reply, unknownMachine(name, app));
      const query = ListQuery.safeParse(request.query);
      if (!query.success) return sendProblem(reply, invalidQuery(query.error));
      const after = query.data.cursor === undefined ? undefined : decodeCursor(query.data.cursor);
      if (after === null) {
        return sendProblem(
          reply,
          problem(400, ProblemKind.Invalid, "cursor is not one this server gave out", { reason: "invalid_cursor" }),
        );
      }
      const { prefix, status } = query.data;
      const page = await app.listEntities(name, {
        limit: query.data.limit + 1,
        ...(after === undefined ? {} : { after }),
        ...(prefix === undefined ? {} : { idPrefix: prefix }),
        ...(status === undefined ? {} : { status }),
      });
      const items = page.slice(0, query.data.limit);
      const last = items.at(-1);
      return {
        items: items.map(entityBody),
        nextCursor: page.length > query.data.limit && last !== undefined ? encodeCursor(last.id) : null,
      };
    },
  );

  return server;
}

/** Turn a run result into the contract's answer. */
function sendResult(reply: FastifyReply, result: RunResult): FastifyReply {
  switch (result.kind) {
    case RunResultKind.Processed:
      return reply.code(200).header("etag", `"${result.version}"`).send(result);
    case RunResultKind.Duplicate:
      reply.header("idempotent-replayed", "true");
      return sendResult(reply, result.original);
    case RunResultKind.Rejected:
      return sendProblem(
        reply,
        problem(422, ProblemKind.Rejected, result.detail ?? `the ${result.machine} machine rejected the event`, {
          reason: result.reason,
          version: result.version,
        }),
      );
    case RunResultKind.NotFound:
      return sendProblem(reply, problem(404, ProblemKind.NotFound, `no ${result.machine} ${result.id}`));
    case RunResultKind.Conflict:
      if (result.expectedVersion !== undefined) {
        return sendProblem(
          reply,
          problem(
            412,
            ProblemKind.Conflict,
            `If-Match expected version ${result.expectedVersion}, but ${result.machine} ${result.id} is at version ${result.currentVersion}`,
            { reason: "version_mismatch", currentVersion: result.currentVersion },
          ),
        );
      }
      return sendProblem(
        reply,
        problem(409, ProblemKind.Conflict, `${result.machine} ${result.id} kept changing; try again`, {
          reason: "retries_exhausted",
        }),
      );
    case RunResultKind.Invalid: {
      const status =
        result.reason === InvalidReason.IdempotencyKeyReused
          ? 422
          : result.reason === InvalidReason.UnknownMachine
            ? 404
            : 400;
      return sendProblem(
        reply,
        problem(status, ProblemKind.Invalid, result.message, { reason: result.reason, issues: result.issues }),
      );
    }
    default: {
      const exhaustive: never = result;
      throw new Error(`unknown result ${JSON.stringify(exhaustive)}`);
    }
  }
}

/**
 * The versions the strong tags of an `If-Match` name (weak tags never match, RFC 9110
 * §13.1.1, so they are left out); `undefined` when a strong tag is not a version, which no
 * ETag of this server ever is.
 */
function strongVersions(condition: EntityTagCondition): number[] | undefined {
  if (condition.kind === ConditionKind.Any) return [];
  const versions: number[] = [];
  for (const tag of condition.tags) {
    if (tag.weak) continue;
    const version = Number(tag.opaque);
    if (!VERSION.test(tag.opaque) || !Number.isSafeInteger(version)) return undefined;
    versions.push(version);
  }
  return versions;
}

function eventIdOf(result: RunResult): string | undefined {
  return "eventId" in result ? result.eventId : undefined;
}

async function findEntity(app: App, name: string, id: string): Promise<StoredEntity | Problem> {
  const machine = app.machine(name);
  if (machine === undefined) return unknownMachine(name, app);
  const parsed = machine.schemas.id.safeParse(id);
  if (!parsed.success) {
    return problem(400, ProblemKind.Invalid, `invalid ${name} id ${JSON.stringify(id)}`, {
      reason: InvalidReason.InvalidId,
      issues: parsed.error.issues.map((issue) => ({
        path: issue.path.map(String),
        message: issue.message,
        code: issue.code,
      })),
    });
  }
  const entity = await app.getEntity({ machine: name, id: parsed.data });
  return entity ?? problem(404, ProblemKind.NotFound, `no ${name} ${id}`);
}

/** `GET /v1/machines/{machine}/diagram`: the explored graph and its Mermaid text. */
interface DiagramBody {
  readonly machine: string;
  readonly states: readonly string[];
  readonly transitions: readonly { readonly from: string | null; readonly event: string; readonly to: string }[];
  /** `null` when the machine could not be explored (`note` says why). */
  readonly mermaid: string | null;
  readonly note?: string;
}

function diagramOf(machine: AnyMachine): DiagramBody {
  try {
    const graph = exploreMachine(machine);
    return { ...graph, mermaid: toMermaid(graph) };
  } catch (error) {
    const note = error instanceof Error ? error.message : String(error);
    return { machine: machine.name, states: [], transitions: [], mermaid: null, note };
  }
}

function unknownMachine(name: string, app: App): Problem {
  return problem(
    404,
    ProblemKind.NotFound,
    `unknown machine "${name}"; this server has: ${app.machines.map((m) => m.name).join(", ")}`,
    { reason: InvalidReason.UnknownMachine },
  );
}

function invalidQuery(error: z.ZodError): Problem {
  const issues = error.issues.map((issue) => ({
    path: issue.path.map(String),
    message: issue.message,
    code: issue.code,
  }));
  return problem(
    400,
    ProblemKind.Invalid,
    `invalid query: ${issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; ")}`,
    {
      reason: "invalid_query",
      issues,
    },
  );
}

function encodeCursor(id: string): string {
  return Buffer.from(id, "utf8").toString("base64url");
}

/** The id a cursor stands for; `null` for a cursor we did not make. */
function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  return encodeCursor(id) === cursor ? id : null;
}

/** Map an error thrown while handling a request to a problem: 4xx from parsing, 503, or 500. */
function errorProblem(error: FastifyError, request: FastifyRequest): Problem {
  if (error instanceof StoreUnavailableError) {
    request.log.error({ err: error }, "store unavailable");
    return problem(503, ProblemKind.Unavailable, "the database is unavailable; try again shortly");
  }
  const status = error.statusCode ?? 500;
  if (status === 413) {
    return problem(413, ProblemKind.PayloadTooLarge, "the request body is larger than the 64 KiB this server accepts");
  }
  if (status === 415) {
    return problem(415, ProblemKind.UnsupportedMediaType, "send the event as application/json");
  }
  if (status >= 400 && status < 500) {
    const detail =
      error.code === "FST_ERR_CTP_EMPTY_JSON_BODY"
        ? "the request body is empty; send a JSON object"
        : error instanceof SyntaxError || error.code === "FST_ERR_CTP_INVALID_JSON_BODY"
          ? `the request body is not valid JSON: ${error.message}`
          : error.message;
    return problem(status, ProblemKind.Invalid, detail, { reason: "malformed_request" });
  }
  request.log.error({ err: error }, "unexpected error");
  return problem(500, ProblemKind.Internal, `something went wrong on our side; quote request id ${request.id}`);
}

function landingPage(app: App): string {
  const machines = app.machines
    .map((m) => m.name)
    .map((name) => `<li><code>/v1/${name}</code></li>`)
    .join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>drover</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>drover</h1><p>This server speaks the drover HTTP API. Machines:</p><ul>${machines}</ul>
<p>The API is described at <a href="/openapi.json">/openapi.json</a>; health at <a href="/healthz">/healthz</a>.</p></main></body></html>`;
}
