import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { App } from "@drover/core";
import { InvalidReason, StoreUnavailableError } from "@drover/core";
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import Fastify from "fastify";
import { check, deny, installAuth } from "./auth.js";
import { canAnswer, clientErrorStatus, connectionLimits, nodeServerOptions } from "./connection-limits.js";
import { loadDashboardAssets } from "./dashboard.js";
import { LiveFeed } from "./live.js";
import { requestLogger } from "./log-redaction.js";
import { DroverMetrics } from "./metrics.js";
import { buildOpenApi } from "./openapi/index.js";
import type { Problem } from "./problem.js";
import { ProblemKind, problem, sendProblem } from "./problem.js";
import { Readiness } from "./readiness.js";
import { assetsRoutes } from "./routes/assets.js";
import { entitiesRoutes } from "./routes/entities.js";
import { eventsRoutes } from "./routes/events.js";
import { intentTypesRoutes } from "./routes/intent-types.js";
import { machinesRoutes } from "./routes/machines.js";
import { operationsRoutes } from "./routes/operations.js";
import { outboxRoutes } from "./routes/outbox.js";
import { schedulesRoutes } from "./routes/schedules.js";
import type { RouteDeps } from "./routes/shared.js";
import { timersRoutes } from "./routes/timers.js";
import { tokenRoutes } from "./routes/token.js";
import type { ServerOptions } from "./server-options.js";
import { installTracing } from "./tracing.js";
import { EdgeReason, RESERVED_SEGMENTS, Scope } from "./wire.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The answers to errors below Fastify (see `clientErrorHandler`), by status. */
const CLIENT_ERRORS = {
  400: { detail: "malformed HTTP request", reason: EdgeReason.MalformedRequest },
  408: {
    detail: "the request did not arrive in time; send headers and body without pauses",
    reason: EdgeReason.RequestTimeout,
  },
  431: { detail: "the request headers are too large", reason: EdgeReason.MalformedRequest },
} as const;

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
    if (RESERVED_SEGMENTS.includes(name))
      throw new Error(`a machine may not be named "${name}": /v1/${name} is a drover route`);
  }
  const limits = connectionLimits(options.connections);
  const server: FastifyInstance = Fastify({
    ...(options.logger === undefined ? {} : { loggerInstance: requestLogger(options.logger as FastifyBaseLogger) }),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    // Slow and idle clients: Fastify's own defaults wait forever for a body (requestTimeout 0).
    http: nodeServerOptions(limits),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
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
      const tooLong = error.code === "FST_ERR_MAX_PARAM_LENGTH";
      check(tokens, request.headers.authorization, needed).then(
        (checked) => {
          if ("kind" in checked) return deny(reply, checked);
          return sendProblem(
            reply,
            problem(
              400,
              ProblemKind.Invalid,
              tooLong ? "a path segment is longer than 2048 characters" : "the URL is not validly percent-encoded",
              { reason: tooLong ? InvalidReason.InvalidId : EdgeReason.MalformedRequest },
            ),
          );
        },
        // A shared token store that cannot be read: 503, as on every route.
        (failure: unknown) => sendProblem(reply, errorProblem(failure as FastifyError, request)),
      );
    },
    // Errors of the HTTP parser (headers too large, garbage) and Node's request timeouts (a
    // client too slow with its headers or body): answered on the raw socket, which is closed.
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      const status = clientErrorStatus(error);
      if (!canAnswer(socket)) {
        socket.destroy(error);
        return;
      }
      const { detail, reason } = CLIENT_ERRORS[status];
      const answer = problem(status, ProblemKind.Invalid, detail, { reason });
      const body = JSON.stringify(answer);
      socket.end(
        `HTTP/1.1 ${status} ${answer.title}\r\n` +
          `Content-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `X-Request-Id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });
  // Beyond the cap, Node closes a new connection as it arrives.
  server.server.maxConnections = limits.maxConnections;
  // Events are JSON; a text/plain body is refused with 415 like any other type.
  server.removeContentTypeParser("text/plain");
  const readiness = new Readiness(app, options.readiness);
  const metrics = new DroverMetrics(app, readiness);
  const live = new LiveFeed(app);
  const assets = options.dashboard === undefined ? undefined : loadDashboardAssets(options.dashboard);
  const streams = new Set<ServerResponse>();
  const openapi = buildOpenApi({
    machines: app.machines,
    title: options.title ?? "drover",
    version: options.version ?? "0.1.0",
  });

  installTracing(server, options.tracerProvider);
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

  const deps: RouteDeps = { app, options, metrics, live, assets, streams, openapi, readiness };
  operationsRoutes(server, deps);
  assetsRoutes(server, deps);
  tokenRoutes(server);
  machinesRoutes(server, deps);
  outboxRoutes(server, deps);
  timersRoutes(server, deps);
  intentTypesRoutes(server, deps);
  schedulesRoutes(server, deps);
  eventsRoutes(server, deps);
  entitiesRoutes(server, deps);

  return server;
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
    return problem(status, ProblemKind.Invalid, detail, { reason: EdgeReason.MalformedRequest });
  }
  request.log.error({ err: error }, "unexpected error");
  return problem(500, ProblemKind.Internal, `something went wrong on our side; quote request id ${request.id}`);
}
