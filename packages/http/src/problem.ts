import type { FastifyReply } from "fastify";

/** The `kind`s of problem the HTTP API answers with, beyond the run result kinds. */
export const ProblemKind = {
  Processed: "processed",
  NotFound: "not_found",
  Rejected: "rejected",
  Duplicate: "duplicate",
  Conflict: "conflict",
  Invalid: "invalid",
  Unauthorized: "unauthorized",
  Forbidden: "forbidden",
  PayloadTooLarge: "payload_too_large",
  UnsupportedMediaType: "unsupported_media_type",
  Unavailable: "unavailable",
  Internal: "internal",
} as const;
export type ProblemKind = (typeof ProblemKind)[keyof typeof ProblemKind];

/** An RFC 9457 problem details object with drover's `kind` member. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly kind: string;
  readonly reason?: string;
  readonly issues?: readonly unknown[];
  readonly instance?: string;
  readonly [extension: string]: unknown;
}

const TITLES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Build a problem: `type` is a stable URI per kind (and reason, when there is one). */
export function problem(
  status: number,
  kind: string,
  detail: string,
  extra: { readonly reason?: string; readonly issues?: readonly unknown[]; readonly [key: string]: unknown } = {},
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
  // An outage is temporary: tell clients (and their retry libraries) to come back shortly.
  if (body.status === 503) reply.header("retry-after", "1");
  return reply.code(body.status).type("application/problem+json; charset=utf-8").send(body);
}
