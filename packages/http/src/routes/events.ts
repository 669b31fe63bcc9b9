import type { RunResult, UnreadableResult } from "@drover/core";
import { declaredEventTypes, InvalidReason, RunResultKind, VersionedSubject } from "@drover/core";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { EntityTagCondition } from "../conditional.js";
import { ConditionKind, parseEntityTagList } from "../conditional.js";
import { ProblemKind, problem, sendProblem } from "../problem.js";
import { EdgeReason, IDEMPOTENCY_KEY_PATTERN, Scope, type UnreadableProblemBody, VERSION_PATTERN } from "../wire.js";
import { type RouteDeps, unknownMachine } from "./shared.js";

const EVENT_ID = new RegExp(IDEMPOTENCY_KEY_PATTERN);
const VERSION = new RegExp(`^(${VERSION_PATTERN})$`);

/** `POST /v1/{machine}/{id}/events`. */
export function eventsRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { app } = deps;
  // Read from each machine's schema once: walking the schema per request was work on the hot path.
  const eventTypes = new Map(app.machines.map((machine) => [machine.name, declaredEventTypes(machine)]));

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
    const declared = eventTypes.get(machine.name);
    if (declared !== undefined && (typeof type !== "string" || !declared.includes(type))) {
      // Name only what a caller may send: drover's own events (follow-ups, timers) are not for callers.
      const callable = declared.filter((t) => !machine.internal.includes(t));
      const given =
        typeof type === "string"
          ? `unknown ${machine.name} event type ${JSON.stringify(type)}`
          : "the event has no string `type`";
      return sendProblem(
        reply,
        problem(400, ProblemKind.Invalid, `${given}; callers may send: ${callable.join(", ")}`, {
          reason: InvalidReason.InvalidEvent,
          issues: [{ path: ["type"], message: `expected one of ${callable.join(", ")}`, code: "invalid_value" }],
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
    let expectedVersion: number | readonly number[] | undefined;
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
      if (condition.kind === ConditionKind.Tags) {
        // The runtime compares the versions with the entity's after its inbox check, on every
        // attempt: a retried event is still a duplicate, and a write in between still fails.
        expectedVersion = versions.length === 1 ? versions[0] : versions;
      } else {
        // `*` only asks that the entity exists, which no later write undoes, so looking now
        // is enough. An invalid id is left to app.run: a request that fails anyway is not
        // judged on its preconditions (RFC 9110 §13.2.1).
        const parsedId = machine.schemas.id.safeParse(id);
        if (parsedId.success && (await app.getEntity({ machine: name, id: parsedId.data })) === undefined) {
          return sendProblem(
            reply,
            problem(412, ProblemKind.Conflict, `If-Match needs an existing ${name} ${id}, and there is none`, {
              reason: EdgeReason.VersionMismatch,
              currentVersion: 0,
            }),
          );
        }
      }
    }
    const result = await app.run({ machine: name, id }, body, {
      trace: request.traceContext,
      ...(key === undefined ? {} : { eventId: key }),
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    });
    const line = `event ${typeof type === "string" ? type : "?"}: ${result.kind}`;
    const fields = { machine: name, entityId: id, eventId: eventIdOf(result), kind: result.kind };
    // Unreadable state is the operator's to fix (a migration, a rollback), not the caller's.
    if (result.kind === RunResultKind.Unreadable)
      request.log.warn({ ...fields, reason: result.reason }, result.message);
    else request.log.info(fields, line);
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
            `If-Match ${describeExpected(result.expectedVersion)}, but ${result.machine} ${result.id} is at version ${result.currentVersion}`,
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
    case RunResultKind.Unreadable:
      return sendProblem(reply, unreadableProblem(result));
    default: {
      const exhaustive: never = result;
      throw new Error(`unknown result ${JSON.stringify(exhaustive)}`);
    }
  }
}

/**
 * The problem for a stored value the running code cannot read: 503, since the server cannot
 * serve the entity until code that reads it runs, and the request was fine (no stack: the
 * message names the entity, both versions and the first issue).
 */
function unreadableProblem(result: UnreadableResult): UnreadableProblemBody {
  const state = result.subject === VersionedSubject.State;
  const kind = state ? ProblemKind.StateUnreadable : ProblemKind.EventUnreadable;
  return {
    ...problem(503, kind, result.message, { reason: result.reason }),
    title: state ? "State Unreadable" : "Event Unreadable",
    status: 503,
    kind,
    reason: result.reason,
    machine: result.machine,
    id: result.id,
    eventId: result.eventId,
    storedVersion: result.storedVersion,
    expectedVersion: result.expectedVersion,
    issues: result.issues,
  };
}

/**
 * The versions the strong tags of an `If-Match` name (weak tags never match, RFC 9110
 * §13.1.1, so they are left out); `undefined` when a tag, weak or strong, is not a version,
 * which no ETag of this server ever is (and the OpenAPI pattern refuses too).
 */
function strongVersions(condition: EntityTagCondition): number[] | undefined {
  if (condition.kind === ConditionKind.Any) return [];
  const versions: number[] = [];
  for (const tag of condition.tags) {
    const version = Number(tag.opaque);
    if (!VERSION.test(tag.opaque) || !Number.isSafeInteger(version)) return undefined;
    if (!tag.weak) versions.push(version);
  }
  return versions;
}

function describeExpected(expected: number | readonly number[]): string {
  if (typeof expected === "number") return `expected version ${expected}`;
  return expected.length === 0 ? "named no strong version" : `expected one of versions ${expected.join(", ")}`;
}

function eventIdOf(result: RunResult): string | undefined {
  return "eventId" in result ? result.eventId : undefined;
}
