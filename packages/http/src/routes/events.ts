import type { RunResult } from "@drover/core";
import { InvalidReason, RunResultKind } from "@drover/core";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { EntityTagCondition } from "../conditional.js";
import { ConditionKind, ifMatchPasses, parseEntityTagList } from "../conditional.js";
import { ProblemKind, problem, sendProblem } from "../problem.js";
import { EdgeReason, ENTITY_TAG_PATTERN, IDEMPOTENCY_KEY_PATTERN, Scope } from "../wire.js";
import { type RouteDeps, unknownMachine } from "./shared.js";

const EVENT_ID = new RegExp(IDEMPOTENCY_KEY_PATTERN);
/** A version as the opaque value of an entity tag: `ENTITY_TAG_PATTERN` without its quotes. */
const VERSION = new RegExp(`^${ENTITY_TAG_PATTERN.slice(2, -2)}$`);

/** `POST /v1/{machine}/{id}/events`. */
export function eventsRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { app } = deps;

  async function postEvent(request: FastifyRequest<{ Params: { machine: string; id: string } }>, reply: FastifyReply) {
    const { machine: name, id } = request.params;
    const machine = app.machine(name);
    if (machine === undefined) return sendProblem(reply, unknownMachine(name, app));
    const body: unknown = request.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      return sendProblem(
        reply,
        problem(400, ProblemKind.Invalid, "the request body must be a JSON object with a `type`", {
          reason: InvalidReason.InvalidEvent,
        }),
      );
    }
    const type = (body as { type?: unknown }).type;
    if (typeof type === "string" && machine.internal.includes(type)) {
      return sendProblem(
        reply,
        problem(400, ProblemKind.Invalid, `${type} is sent by drover itself (effects and timers), not by callers`, {
          reason: EdgeReason.InternalEvent,
        }),
      );
    }
    const key = request.headers["idempotency-key"];
    if (key !== undefined && (typeof key !== "string" || !EVENT_ID.test(key))) {
      return sendProblem(
        reply,
        problem(400, ProblemKind.Invalid, "Idempotency-Key must be 1 to 255 printable ASCII characters, no spaces", {
          reason: EdgeReason.InvalidIdempotencyKey,
        }),
      );
    }
    const ifMatch = request.headers["if-match"];
    let expectedVersion: number | undefined;
    if (ifMatch !== undefined) {
      const condition = typeof ifMatch === "string" ? parseEntityTagList(ifMatch) : undefined;
      const versions = condition === undefined ? undefined : strongVersions(condition);
      if (condition === undefined || versions === undefined) {
        return sendProblem(
          reply,
          problem(
            400,
            ProblemKind.Invalid,
            'If-Match must be * or entity tags, each a version in quotes: "3" (or "2", "3")',
            { reason: EdgeReason.InvalidIfMatch },
          ),
        );
      }
      if (condition.kind === ConditionKind.Tags && condition.tags.length === 1 && versions.length === 1) {
        // One version: the store compares it with the entity's in the same write.
        expectedVersion = versions[0];
      } else {
        // `*`, a list or a weak tag: compare with the current entity. An invalid id is left
        // to app.run, since a request that fails anyway is not judged on its preconditions
        // (RFC 9110 §13.2.1).
        const parsedId = machine.schemas.id.safeParse(id);
        if (parsedId.success) {
          const current = await app.getEntity({ machine: name, id: parsedId.data });
          // drover's tag for an entity not written yet is "0"; `*` needs one that exists.
          const currentTag =
            current === undefined && condition.kind === ConditionKind.Any
              ? undefined
              : { opaque: String(current?.version ?? 0), weak: false };
          if (!ifMatchPasses(condition, currentTag)) {
            return sendProblem(
              reply,
              problem(
                412,
                ProblemKind.Conflict,
                current === undefined
                  ? `If-Match needs an existing ${name} ${id}, and there is none`
                  : `If-Match named none of the current version ${current.version} of ${name} ${id}`,
                { reason: EdgeReason.VersionMismatch, currentVersion: current?.version ?? 0 },
              ),
            );
          }
          // The tag that matched is pinned, so a write in between still fails with 412; `*`
          // only asks that the entity exists, which no later write undoes.
          if (condition.kind === ConditionKind.Tags) expectedVersion = current?.version ?? 0;
        }
      }
    }
    const result = await app.run({ machine: name, id }, body, {
      ...(key === undefined ? {} : { eventId: key }),
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    });
    request.log.info(
      { machine: name, entityId: id, eventId: eventIdOf(result), kind: result.kind },
      `event ${typeof type === "string" ? type : "?"}: ${result.kind}`,
    );
    return sendResult(reply, result);
  }

  server.post<{ Params: { machine: string; id: string } }>(
    "/v1/:machine/:id/events",
    { config: { scope: Scope.Write } },
    postEvent,
  );
}

/** Turn a run result into the contract's answer. */
function sendResult(reply: FastifyReply, result: RunResult): FastifyReply {
  switch (result.kind) {
    case RunResultKind.Processed:
      return reply.code(200).header("etag", `"${result.version}"`).send(result);
    case RunResultKind.Duplicate:
      reply.header("idempotent-replayed", "true");
      return sendResult(reply, result.original);
    case RunResultKind.Rejected:
      return sendProblem(
        reply,
        problem(422, ProblemKind.Rejected, result.detail ?? `the ${result.machine} machine rejected the event`, {
          reason: result.reason,
          version: result.version,
        }),
      );
    case RunResultKind.NotFound:
      return sendProblem(reply, problem(404, ProblemKind.NotFound, `no ${result.machine} ${result.id}`));
    case RunResultKind.Conflict:
      if (result.expectedVersion !== undefined) {
        return sendProblem(
          reply,
          problem(
            412,
            ProblemKind.Conflict,
            `If-Match expected version ${result.expectedVersion}, but ${result.machine} ${result.id} is at version ${result.currentVersion}`,
            { reason: EdgeReason.VersionMismatch, currentVersion: result.currentVersion },
          ),
        );
      }
      return sendProblem(
        reply,
        problem(409, ProblemKind.Conflict, `${result.machine} ${result.id} kept changing; try again`, {
          reason: EdgeReason.RetriesExhausted,
        }),
      );
    case RunResultKind.Invalid: {
      const status =
        result.reason === InvalidReason.IdempotencyKeyReused
          ? 422
          : result.reason === InvalidReason.UnknownMachine
            ? 404
            : 400;
      return sendProblem(
        reply,
        problem(status, ProblemKind.Invalid, result.message, { reason: result.reason, issues: result.issues }),
      );
    }
    default: {
      const exhaustive: never = result;
      throw new Error(`unknown result ${JSON.stringify(exhaustive)}`);
    }
  }
}

/**
 * The versions the strong tags of an `If-Match` name (weak tags never match, RFC 9110
 * §13.1.1, so they are left out); `undefined` when a strong tag is not a version, which no
 * ETag of this server ever is.
 */
function strongVersions(condition: EntityTagCondition): number[] | undefined {
  if (condition.kind === ConditionKind.Any) return [];
  const versions: number[] = [];
  for (const tag of condition.tags) {
    if (tag.weak) continue;
    const version = Number(tag.opaque);
    if (!VERSION.test(tag.opaque) || !Number.isSafeInteger(version)) return undefined;
    versions.push(version);
  }
  return versions;
}

function eventIdOf(result: RunResult): string | undefined {
  return "eventId" in result ? result.eventId : undefined;
}
