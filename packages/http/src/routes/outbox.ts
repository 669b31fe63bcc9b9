import { OutboxStatus } from "@drover/core";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { outboxRecordBody } from "../bodies.js";
import { ProblemKind, problem, sendProblem } from "../problem.js";
import { OutboxLimit, type OutboxPageBody, type RetriedBody, Scope } from "../wire.js";
import { invalidQuery, type RouteDeps } from "./shared.js";

const OutboxQuery = z.strictObject({
  status: z.enum([OutboxStatus.Pending, OutboxStatus.Dead]).optional(),
  limit: z.coerce.number().int().min(OutboxLimit.Min).max(OutboxLimit.Max).default(OutboxLimit.Default),
});

/** `GET /v1/outbox` and `POST /v1/outbox/{intentId}/retry` (admin). */
export function outboxRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { app } = deps;

  async function listOutbox(request: FastifyRequest, reply: FastifyReply): Promise<OutboxPageBody | FastifyReply> {
    const query = OutboxQuery.safeParse(request.query);
    if (!query.success) return sendProblem(reply, invalidQuery(query.error));
    const { status, limit } = query.data;
    const rows = await app.listOutbox(status === undefined ? { limit } : { status, limit });
    return { items: rows.map(outboxRecordBody) };
  }

  async function retryOutbox(
    request: FastifyRequest<{ Params: { intentId: string } }>,
    reply: FastifyReply,
  ): Promise<RetriedBody | FastifyReply> {
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
  }

  server.get("/v1/outbox", { config: { scope: Scope.Admin } }, listOutbox);
  server.post<{ Params: { intentId: string } }>(
    "/v1/outbox/:intentId/retry",
    { config: { scope: Scope.Admin } },
    retryOutbox,
  );
}
