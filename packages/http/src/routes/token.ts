import type { FastifyInstance, FastifyRequest } from "fastify";
import { Scope, type TokenBody } from "../wire.js";

/** `GET /v1/token`: the caller's token. */
export function tokenRoutes(server: FastifyInstance): void {
  async function getToken(request: FastifyRequest): Promise<TokenBody> {
    return {
      name: request.principal?.name ?? null,
      scopes: request.principal?.scopes ?? [],
    };
  }

  server.get("/v1/token", { config: { scope: Scope.Read } }, getToken);
}
