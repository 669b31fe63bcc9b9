import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type Problem, ProblemKind, problem } from "./problem.js";
import type { Principal, TokenStore } from "./tokens.js";
import { grants } from "./tokens.js";
import { Scope } from "./wire.js";

/** The route option that lets a route through without a token (`/healthz`, `/openapi.json`, `/`). */
export const Public = "public";

/** What a route asks of its caller: a scope, or nothing at all. */
export type RouteScope = Scope | typeof Public;

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The scope a caller's token needs for this route, or `"public"`. A route that does not
     * say needs `admin`, so that forgetting it fails closed.
     */
    scope?: RouteScope;
  }
  interface FastifyRequest {
    /** The verified caller; `null` on public routes and before authentication. */
    principal: Principal | null;
  }
}

/** Why a request was turned away. */
export const AuthFailureKind = {
  MissingHeader: "missing_header",
  MalformedHeader: "malformed_header",
  InvalidToken: "invalid_token",
  InsufficientScope: "insufficient_scope",
} as const;
export type AuthFailureKind = (typeof AuthFailureKind)[keyof typeof AuthFailureKind];

const REALM = 'Bearer realm="drover"';
// "Bearer" (any case), one or more spaces, then exactly one RFC 6750 b64token.
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * An `onRequest` hook that lets a request through only if its `Authorization: Bearer <token>`
 * holds the scope its route asks for in `config.scope`, and sets `request.principal`.
 * Otherwise it answers 401 or 403 with problem details and a `WWW-Authenticate` header that
 * tell the caller what is missing, and never whether a token exists. Use
 * {@link installAuth} to also declare `request.principal`.
 *
 * @example
 * import Fastify from "fastify";
 *
 * const server = Fastify();
 * server.decorateRequest("principal", null);
 * server.addHook("onRequest", authenticate(tokens));
 * server.get("/v1/outbox", { config: { scope: "admin" } }, async () => ({ records: [] }));
 * server.get("/healthz", { config: { scope: "public" } }, () => ({ ok: true }));
 */
export function authenticate(
  tokens: TokenStore,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => {
    const needed = requiredScope(request);
    if (needed === Public) return undefined;

    const checked = await check(tokens, request.headers.authorization, needed);
    if ("kind" in checked) return deny(reply, checked);
    const principal = checked;
    request.principal = principal;
    return undefined;
  };
}

/**
 * Check an `Authorization` header against the scope a request needs: the verified principal,
 * or why it is turned away. For requests that never reach a route (a URL Fastify cannot
 * decode), where the hook does not run. Rejects with the token store's error when a shared
 * store cannot be read (the server answers 503).
 */
export async function check(
  tokens: TokenStore,
  header: string | undefined,
  needed: Scope,
): Promise<Principal | AuthFailure> {
  if (header === undefined || header === "") return { kind: AuthFailureKind.MissingHeader };
  const match = BEARER.exec(header.trim());
  if (!match?.[1]) return { kind: AuthFailureKind.MalformedHeader };
  const principal = await tokens.verify(match[1]);
  if (principal === undefined) return { kind: AuthFailureKind.InvalidToken };
  if (!grants(principal.scopes, needed))
    return { kind: AuthFailureKind.InsufficientScope, needed, held: principal.scopes };
  return principal;
}

/**
 * Declares `request.principal` on `app` and adds the {@link authenticate} hook to it (and so
 * to every route registered on it or its children).
 */
export function installAuth(app: FastifyInstance, tokens: TokenStore): void {
  app.decorateRequest("principal", null);
  app.addHook("onRequest", authenticate(tokens));
}

function requiredScope(request: FastifyRequest): RouteScope {
  const scope = request.routeOptions.config.scope;
  if (scope !== undefined) return scope;
  // Unknown paths only need a valid token: callers who have one learn it is a 404, others
  // learn nothing about which paths exist.
  return request.is404 ? Scope.Read : Scope.Admin;
}

/** A reason to turn a request away, with what the answer needs to explain it. */
export type AuthFailure =
  | { kind: typeof AuthFailureKind.MissingHeader }
  | { kind: typeof AuthFailureKind.MalformedHeader }
  | { kind: typeof AuthFailureKind.InvalidToken }
  | { kind: typeof AuthFailureKind.InsufficientScope; needed: Scope; held: readonly Scope[] };

/** The status, `WWW-Authenticate` header and problem body that answer `failure`. */
export function authProblem(failure: AuthFailure): { challenge: string; problem: Problem } {
  switch (failure.kind) {
    case AuthFailureKind.MissingHeader:
      return unauthorized(REALM, 'This route needs an "Authorization: Bearer <token>" header.');
    case AuthFailureKind.MalformedHeader:
      return unauthorized(REALM, 'The Authorization header must be "Bearer <token>", with exactly one token.');
    case AuthFailureKind.InvalidToken:
      return unauthorized(`${REALM}, error="invalid_token"`, "The bearer token is not valid.");
    case AuthFailureKind.InsufficientScope:
      return {
        challenge: `${REALM}, error="insufficient_scope", scope="${failure.needed}"`,
        problem: problem(
          403,
          ProblemKind.Forbidden,
          `This route needs the "${failure.needed}" scope; the token has ${failure.held.join(", ")}.`,
        ),
      };
    default: {
      const _exhaustive: never = failure;
      return _exhaustive;
    }
  }
}

function unauthorized(challenge: string, detail: string): { challenge: string; problem: Problem } {
  return { challenge, problem: problem(401, ProblemKind.Unauthorized, detail) };
}

/** Turn a request away with the problem and challenge for `failure`. */
export function deny(reply: FastifyReply, failure: AuthFailure): FastifyReply {
  const answer = authProblem(failure);
  return reply
    .code(answer.problem.status)
    .header("www-authenticate", answer.challenge)
    .type("application/problem+json")
    .send(answer.problem);
}
