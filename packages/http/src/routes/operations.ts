import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Public } from "../auth.js";
import type { ComponentHealthBody, HealthBody, ReadinessBody } from "../wire.js";
import { HealthStatus, ReadyStatus, Scope } from "../wire.js";
import type { RouteDeps } from "./shared.js";

/** `GET /healthz` (liveness), `GET /readyz` (readiness), `GET /openapi.json` and `GET /metrics`. */
export function operationsRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { app, metrics, openapi, readiness } = deps;

  async function getHealth(): Promise<HealthBody> {
    const attached = app.components;
    if (attached.length === 0) return { status: HealthStatus.Ok };
    const components: Record<string, ComponentHealthBody> = {};
    for (const component of attached) components[component.name] = component.health();
    const ok = Object.values(components).every((health) => health.ok);
    return { status: ok ? HealthStatus.Ok : HealthStatus.Degraded, components };
  }

  async function getReady(_request: FastifyRequest, reply: FastifyReply): Promise<ReadinessBody> {
    const body = await readiness.check();
    // A probe's answer is about now: no proxy may serve it to the next probe.
    reply.header("cache-control", "no-store");
    return reply.code(body.status === ReadyStatus.Ready ? 200 : 503).send(body);
  }

  async function getOpenApi() {
    return openapi;
  }

  async function getMetrics(_request: FastifyRequest, reply: FastifyReply) {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  }

  server.get("/healthz", { config: { scope: Public } }, getHealth);
  server.get("/readyz", { config: { scope: Public } }, getReady);
  server.get("/openapi.json", { config: { scope: Public } }, getOpenApi);
  server.get("/metrics", { config: { scope: Scope.Read } }, getMetrics);
}
