import { RunResultKind } from "@drover/core";
import type { FastifyReply } from "fastify";
import { EdgeKind, type Issue, type ProblemBody, type ProblemKind as ProblemKindType, UnreadableKind } from "./wire.js";

const { Unreadable: _answeredBySubject, ...answeredAsIs } = RunResultKind;

/**
 * The `kind`s of problem the HTTP API answers with: the run result kinds (`unreadable` as
 * `state_unreadable` or `event_unreadable`, by what could not be read) and the edge's own.
 */
export const ProblemKind = {
  ...answeredAsIs,
  StateUnreadable: UnreadableKind.State,
  EventUnreadable: UnreadableKind.Event,
  ...EdgeKind,
} as const satisfies Record<string, ProblemKindType>;
export type ProblemKind = ProblemKindType;

/** An RFC 9457 problem details object with drover's `kind` member (the wire's {@link ProblemBody}). */
export type Problem = ProblemBody;

const TITLES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Build a problem: `type` is a stable URI per kind (and reason, when there is one). */
export function problem(
  status: number,
  kind: ProblemKind,
  detail: string,
  extra: { readonly reason?: string; readonly issues?: readonly Issue[]; readonly [key: string]: unknown } = {},
): Problem {
  const slug = extra.reason ?? kind;
  return {
    type: `https://drover.dev/problems/${slug.replaceAll("_", "-")}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    kind,
    ...extra,
  };
}

/** Send a problem with its content type. */
export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  // An outage is temporary: tell clients (and their retry libraries) to come back shortly. An
  // unreadable state waits for a deploy, not for a second: no hint that would invite a storm.
  if (body.status === 503 && body.kind === ProblemKind.Unavailable) reply.header("retry-after", "1");
  return reply.code(body.status).type("application/problem+json; charset=utf-8").send(body);
}
