import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Public } from "../auth.js";
import { type HealthBody, Scope } from "../wire.js";
import type { RouteDeps } from "./shared.js";

/** `GET /healthz`, `GET /openapi.json` and `GET /metrics`. */
export function operationsRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { metrics, openapi } = deps;

  async function getHealth(): Promise<HealthBody> {
    return { status: "ok" };
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
