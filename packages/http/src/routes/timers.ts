import type { TimerQuery as StoreTimerQuery } from "@drover/core";
import { TimerStatus } from "@drover/core";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { timerBody } from "../bodies.js";
import { ProblemKind, problem, sendProblem } from "../problem.js";
import { Scope, type TimerBody, TimerLimit, type TimerPageBody } from "../wire.js";
import { invalidQuery, parseId, type RouteDeps, unknownMachine } from "./shared.js";

const TimerQuery = z
  .strictObject({
    status: z.enum(Object.values(TimerStatus) as [TimerStatus, ...TimerStatus[]]).optional(),
    machine: z.string().min(1).max(200).optional(),
    id: z.string().min(1).max(2048).optional(),
    limit: z.coerce.number().int().min(TimerLimit.Min).max(TimerLimit.Max).default(TimerLimit.Default),
  })
  .refine((query) => (query.machine === undefined) === (query.id === undefined), {
    message: "give machine and id together (the timers of one entity), or neither",
    path: ["id"],
  });

type TimerParams = { Params: { timerId: string } };

/** `GET /v1/timers`, `GET /v1/timers/{timerId}` and `POST /v1/timers/{timerId}/retry` (admin). */
export function timersRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { app } = deps;

  async function listTimers(request: FastifyRequest, reply: FastifyReply): Promise<TimerPageBody | FastifyReply> {
    const query = TimerQuery.safeParse(request.query);
    if (!query.success) return sendProblem(reply, invalidQuery(query.error));
    const { status, machine: name, id, limit } = query.data;
    let entity: StoreTimerQuery["entity"];
    if (name !== undefined && id !== undefined) {
      const machine = app.machine(name);
      if (machine === undefined) return sendProblem(reply, unknownMachine(name, app));
      const parsed = parseId(machine, id);
      if (typeof parsed !== "string") return sendProblem(reply, parsed);
      entity = { machine: name, id: parsed };
    }
    const timers = await app.listTimers({
      limit,
      ...(status === undefined ? {} : { status }),
      ...(entity === undefined ? {} : { entity }),
    });
    return { items: timers.map(timerBody) };
  }

  async function getTimer(
    request: FastifyRequest<TimerParams>,
    reply: FastifyReply,
  ): Promise<TimerBody | FastifyReply> {
    const { timerId } = request.params;
    const timer = await app.findTimer(timerId);
    if (timer === undefined) return sendProblem(reply, noTimer(timerId));
    return timerBody(timer);
  }

  async function retryTimer(
    request: FastifyRequest<TimerParams>,
    reply: FastifyReply,
  ): Promise<TimerBody | FastifyReply> {
    const { timerId } = request.params;
    const timer = await app.findTimer(timerId);
    if (timer === undefined) return sendProblem(reply, noTimer(timerId));
    if (timer.status !== TimerStatus.Dead) {
      return sendProblem(
        reply,
        problem(409, ProblemKind.Conflict, `timer ${timerId} is ${timer.status}; only dead timers can be retried`),
      );
    }
    // `false` only if another operator revived it meanwhile: either way it is pending now.
    await app.retryDeadTimer(timerId);
    const revived = await app.findTimer(timerId);
    return timerBody(revived ?? timer);
  }

  const admin = { config: { scope: Scope.Admin } };
  server.get("/v1/timers", admin, listTimers);
  server.get<TimerParams>("/v1/timers/:timerId", admin, getTimer);
  server.post<TimerParams>("/v1/timers/:timerId/retry", admin, retryTimer);
}

function noTimer(timerId: string) {
  return problem(404, ProblemKind.NotFound, `no timer ${timerId}; list them with GET /v1/timers`);
}
