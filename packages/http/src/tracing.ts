// A server span per request (OpenTelemetry HTTP semantic conventions), through the API only:
// the application registers a provider or none. A caller's `traceparent` header makes the
// request part of the caller's trace; the span is active while the route runs (with a context
// manager registered), and the event routes hand it to `app.run` explicitly as well.

import { contextOfTraceParent } from "@drover/core";
import type { Context, Span, TracerProvider } from "@opentelemetry/api";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

const TRACER_NAME = "@drover/http";

declare module "fastify" {
  interface FastifyRequest {
    /** The request's trace context: its server span (the root context when tracing is off). */
    traceContext: Context;
  }
}

const spans = new WeakMap<FastifyRequest, Span>();

/**
 * Give every request a server span named `METHOD route`, a child of the caller's
 * `traceparent` if it sent one.
 *
 * @example
 * installTracing(server, provider);
 */
export function installTracing(server: FastifyInstance, provider?: TracerProvider): void {
  const tracer = (provider ?? trace.getTracerProvider()).getTracer(TRACER_NAME);
  server.decorateRequest("traceContext", undefined as unknown as Context);
  server.addHook("onRequest", (request, _reply, done) => {
    const header = request.headers.traceparent;
    const parent = contextOfTraceParent(typeof header === "string" ? header : undefined, context.active());
    const route = request.routeOptions.url;
    const span = tracer.startSpan(
      route === undefined ? request.method : `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "http.request.method": request.method,
          "url.path": request.url.split("?")[0] ?? "/",
          "url.scheme": "http",
          ...(route === undefined ? {} : { "http.route": route }),
          ...(request.headers["user-agent"] === undefined
            ? {}
            : { "user_agent.original": request.headers["user-agent"] }),
        },
      },
      parent,
    );
    spans.set(request, span);
    request.traceContext = trace.setSpan(parent, span);
    // Run the rest of the request inside the span's context (seen by whatever runs in it).
    context.with(request.traceContext, done);
  });
  server.addHook("onResponse", async (request, reply) => endSpan(request, reply));
}

function endSpan(request: FastifyRequest, reply: FastifyReply): void {
  const span = spans.get(request);
  if (span === undefined) return;
  spans.delete(request);
  span.setAttribute("http.response.status_code", reply.statusCode);
  // A client's mistake (4xx) is not the server's error; a 5xx is.
  if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
