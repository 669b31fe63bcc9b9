import type { FastifyInstance, FastifyRequest } from "fastify";
import { Scope } from "../tokens.js";

/** `GET /v1/token`: the caller's token. */
export function tokenRoutes(server: FastifyInstance): void {
  async function getToken(request: FastifyRequest) {
    return {
      name: request.principal?.name ?? null,
      scopes: request.principal?.scopes ?? [],
    };
  }

  server.get("/v1/token", { config: { scope: Scope.Read } }, getToken);
}
