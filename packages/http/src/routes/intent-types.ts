import type { App, PausedIntentType } from "@drover/core";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isoTime } from "../bodies.js";
import { intentTypeCatalog } from "../intent-types.js";
import type { Problem } from "../problem.js";
import { ProblemKind, problem, sendProblem } from "../problem.js";
import { EdgeReason, type IntentTypeBody, type IntentTypeChangeBody, type IntentTypesBody, Scope } from "../wire.js";
import type { RouteDeps } from "./shared.js";

type TypeParams = { Params: { type: string } };

/** An intent type's name in a path: printable, no spaces, as an event `type` would be. */
const TYPE_NAME = /^[!-~]{1,200}$/;

/**
 * `GET /v1/intent-types`, `GET /v1/intent-types/paused`, and pausing and resuming one:
 * `PUT /v1/intent-types/{type}/pause` pauses it, `DELETE` the same resource resumes it; both
 * idempotent (admin). The pause is kept by the store, so every process on it obeys.
 */
export function intentTypesRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { app } = deps;
  const catalog = intentTypeCatalog(app.machines);

  const bodyOf = (intentType: string, paused: PausedIntentType | undefined): IntentTypeBody => ({
    intentType,
    machines: catalog.types.get(intentType) ?? [],
    paused: paused !== undefined,
    pausedAt: paused === undefined ? null : isoTime(paused.pausedAt),
  });

  async function listIntentTypes(): Promise<IntentTypesBody> {
    const paused = await pausedByName(app);
    // Declared types first (by name), then paused ones no machine declares any more.
    const names = [...catalog.types.keys(), ...[...paused.keys()].filter((name) => !catalog.types.has(name)).sort()];
    return { items: names.map((name) => bodyOf(name, paused.get(name))) };
  }

  async function listPaused(): Promise<IntentTypesBody> {
    const paused = await pausedByName(app);
    return { items: [...paused.values()].map((row) => bodyOf(row.intentType, row)) };
  }

  async function pause(
    request: FastifyRequest<TypeParams>,
    reply: FastifyReply,
  ): Promise<IntentTypeChangeBody | FastifyReply> {
    const { type } = request.params;
    const refused = refuse(type, false);
    if (refused !== undefined) return sendProblem(reply, refused);
    const changed = await app.pauseIntentType(type);
    return { ...bodyOf(type, (await pausedByName(app)).get(type)), changed };
  }

  async function resume(
    request: FastifyRequest<TypeParams>,
    reply: FastifyReply,
  ): Promise<IntentTypeChangeBody | FastifyReply> {
    const { type } = request.params;
    // A paused type no machine declares any more may still be resumed: it is how it goes away.
    const refused = refuse(type, (await pausedByName(app)).has(type));
    if (refused !== undefined) return sendProblem(reply, refused);
    const changed = await app.resumeIntentType(type);
    return { ...bodyOf(type, undefined), changed };
  }

  /** The 404 for a name no machine declares (unless it is paused), or `undefined`. */
  function refuse(type: string, paused: boolean): Problem | undefined {
    if (!TYPE_NAME.test(type)) {
      return problem(404, ProblemKind.NotFound, `${JSON.stringify(type)} is not an intent type`, {
        reason: EdgeReason.UnknownIntentType,
      });
    }
    if (paused || catalog.types.has(type) || !catalog.complete) return undefined;
    const known = [...catalog.types.keys()].join(", ") || "none";
    return problem(
      404,
      ProblemKind.NotFound,
      `no machine of this server declares intent type ${JSON.stringify(type)}; its intent types: ${known}`,
      { reason: EdgeReason.UnknownIntentType },
    );
  }

  const admin = { config: { scope: Scope.Admin } };
  server.get("/v1/intent-types", admin, listIntentTypes);
  server.get("/v1/intent-types/paused", admin, listPaused);
  server.put<TypeParams>("/v1/intent-types/:type/pause", admin, pause);
  server.delete<TypeParams>("/v1/intent-types/:type/pause", admin, resume);
}

async function pausedByName(app: App): Promise<Map<string, PausedIntentType>> {
  const rows = await app.pausedIntentTypes();
  return new Map(rows.map((row) => [row.intentType, row]));
}
