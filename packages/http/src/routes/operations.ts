import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Public } from "../auth.js";
import type { ComponentHealthBody, HealthBody } from "../wire.js";
import { HealthStatus, Scope } from "../wire.js";
import type { RouteDeps } from "./shared.js";

/** `GET /healthz`, `GET /openapi.json` and `GET /metrics`. */
export function operationsRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { app, metrics, openapi } = deps;

  async function getHealth(): Promise<HealthBody> {
    const attached = app.components;
    if (attached.length === 0) return { status: HealthStatus.Ok };
    const components: Record<string, ComponentHealthBody> = {};
    for (const component of attached) components[component.name] = component.health();
    const ok = Object.values(components).every((health) => health.ok);
    return { status: ok ? HealthStatus.Ok : HealthStatus.Degraded, components };
  }

  async function getOpenApi() {
    return openapi;
  }

  async function getMetrics(_request: FastifyRequest, reply: FastifyReply) {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  }

  server.get("/healthz", { config: { scope: Public } }, getHealth);
  server.get("/openapi.json", { config: { scope: Public } }, getOpenApi);
  server.get("/metrics", { config: { scope: Scope.Read } }, getMetrics);
}
