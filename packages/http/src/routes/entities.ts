import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { entityBody, journalEntryBody, outboxRecordBody } from "../bodies.js";
import { isNotModified } from "../conditional.js";
import { ProblemKind, problem, sendProblem } from "../problem.js";
import {
  EdgeReason,
  type EntityBody,
  type EntityPageBody,
  type HistoryBody,
  ListLimit,
  type OutboxPageBody,
  Scope,
} from "../wire.js";
import { findEntity, invalidQuery, type RouteDeps, unknownMachine } from "./shared.js";

const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(ListLimit.Min).max(ListLimit.Max).default(ListLimit.Default),
  cursor: z.string().max(400).optional(),
  prefix: z.string().min(1).max(200).optional(),
  status: z.string().min(1).max(200).optional(),
});

type EntityRequest = FastifyRequest<{ Params: { machine: string; id: string } }>;

/** `GET /v1/{machine}/{id}`, its `/history` and `/outbox`, and `GET /v1/{machine}`. */
export function entitiesRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { app } = deps;

  async function getEntity(request: EntityRequest, reply: FastifyReply): Promise<EntityBody | FastifyReply> {
    const found = await findEntity(app, request.params.machine, request.params.id);
    if ("status" in found) return sendProblem(reply, found);
    const etag = `"${found.entity.version}"`;
    reply.header("etag", etag);
    if (isNotModified(request.headers["if-none-match"], etag)) return reply.code(304).send();
    return entityBody(found.entity);
  }

  async function getHistory(request: EntityRequest, reply: FastifyReply): Promise<HistoryBody | FastifyReply> {
    const found = await findEntity(app, request.params.machine, request.params.id);
    if ("status" in found) return sendProblem(reply, found);
    const { machine, entity } = found;
    const entries = await app.history({ machine: entity.machine, id: entity.id });
    return { entries: entries.map((entry) => journalEntryBody(entry, machine)) };
  }

  async function getEntityOutbox(request: EntityRequest, reply: FastifyReply): Promise<OutboxPageBody | FastifyReply> {
    const found = await findEntity(app, request.params.machine, request.params.id);
    if ("status" in found) return sendProblem(reply, found);
    const rows = await app.entityOutbox({ machine: found.entity.machine, id: found.entity.id });
    return { items: rows.map(outboxRecordBody) };
  }

  async function listEntities(
    request: FastifyRequest<{ Params: { machine: string } }>,
    reply: FastifyReply,
  ): Promise<EntityPageBody | FastifyReply> {
    const name = request.params.machine;
    if (app.machine(name) === undefined) return sendProblem(reply, unknownMachine(name, app));
    const query = ListQuery.safeParse(request.query);
    if (!query.success) return sendProblem(reply, invalidQuery(query.error));
    const after = query.data.cursor === undefined ? undefined : decodeCursor(query.data.cursor);
    if (after === null) {
      return sendProblem(
        reply,
        problem(400, ProblemKind.Invalid, "cursor is not one this server gave out", {
          reason: EdgeReason.InvalidCursor,
        }),
      );
    }
    const { prefix, status } = query.data;
    const page = await app.listEntities(name, {
      limit: query.data.limit + 1,
      ...(after === undefined ? {} : { after }),
      ...(prefix === undefined ? {} : { idPrefix: prefix }),
      ...(status === undefined ? {} : { stateName: status }),
    });
    const items = page.slice(0, query.data.limit);
    const last = items.at(-1);
    return {
      items: items.map(entityBody),
      nextCursor: page.length > query.data.limit && last !== undefined ? encodeCursor(last.id) : null,
    };
  }

  type EntityRoute = { Params: { machine: string; id: string } };
  server.get<EntityRoute>("/v1/:machine/:id", { config: { scope: Scope.Read } }, getEntity);
  server.get<EntityRoute>("/v1/:machine/:id/history", { config: { scope: Scope.Read } }, getHistory);
  server.get<EntityRoute>("/v1/:machine/:id/outbox", { config: { scope: Scope.Admin } }, getEntityOutbox);
  server.get<{ Params: { machine: string } }>("/v1/:machine", { config: { scope: Scope.Read } }, listEntities);
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
