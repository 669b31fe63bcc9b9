import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { MemoryTokenVault } from "@drover/core/testing";
import Fastify, { type FastifyInstance } from "fastify";
import { installAuth } from "./auth.js";
import type { TokenStore as TokenStoreType } from "./tokens.js";
import { ENV_ADMIN_PRINCIPAL, ensureAdminToken, TokenStore } from "./tokens.js";
import { Scope } from "./wire.js";

const ENV_ADMIN = "env-admin-token-0123456789";

let dataDir: string;
let app: FastifyInstance;
const token: Record<"read" | "write" | "admin", string> = { read: "", write: "", admin: "" };
let revoked: string;

/** The two kinds of token store: the file of one host, and a store's vault shared by processes. */
const KINDS = ["file", "shared"] as const;
type Kind = (typeof KINDS)[number];

async function openTokens(kind: Kind): Promise<TokenStoreType> {
  if (kind === "file") return TokenStore.open(dataDir);
  return TokenStore.shared(new MemoryTokenVault(), { refreshMs: 0 });
}

async function setUp(kind: Kind): Promise<void> {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "drover-auth-"));
  const tokens = await openTokens(kind);
  await ensureAdminToken(tokens, { envAdminToken: ENV_ADMIN });
  for (const scope of [Scope.Read, Scope.Write, Scope.Admin]) {
    token[scope] = (await tokens.create({ scopes: [scope], name: scope })).token;
  }
  const gone = await tokens.create({ scopes: [Scope.Admin] });
  await tokens.revoke(gone.id);
  revoked = gone.token;

  app = Fastify();
  installAuth(app, tokens);
  app.get("/healthz", { config: { scope: "public" } }, async (request) => ({ ok: true, principal: request.principal }));
  app.get("/v1/things", { config: { scope: "read" } }, async (request) => ({ principal: request.principal }));
  app.post("/v1/things", { config: { scope: "write" } }, async (request) => ({ principal: request.principal }));
  app.get("/v1/outbox", { config: { scope: "admin" } }, async (request) => ({ principal: request.principal }));
  app.get("/v1/unannotated", async () => ({ ok: true }));
  await app.ready();
}

async function tearDown(): Promise<void> {
  await app.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

type Caller = "none" | "malformed" | "bad" | "read" | "write" | "admin";
const CALLERS: readonly Caller[] = ["none", "malformed", "bad", "read", "write", "admin"];
const LABEL: Record<Caller, string> = {
  none: "no Authorization header",
  malformed: "a malformed Authorization header",
  bad: "an unknown token",
  read: "a read token",
  write: "a write token",
  admin: "an admin token",
};
type Route = { method: "GET" | "POST"; url: string; scope: Scope | "public" };
const ROUTES: readonly Route[] = [
  { method: "GET", url: "/healthz", scope: "public" },
  { method: "GET", url: "/v1/things", scope: "read" },
  { method: "POST", url: "/v1/things", scope: "write" },
  { method: "GET", url: "/v1/outbox", scope: "admin" },
];
const RANK = { read: 1, write: 2, admin: 3 } as const;

function headersOf(caller: Caller): Record<string, string> {
  switch (caller) {
    case "none":
      return {};
    case "malformed":
      return { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` };
    case "bad":
      return { authorization: `Bearer drv_${"A".repeat(43)}` };
    case "read":
    case "write":
    case "admin":
      return { authorization: `Bearer ${token[caller]}` };
    default: {
      const _exhaustive: never = caller;
      return _exhaustive;
    }
  }
}

type Expected =
  | { status: 200 }
  | { status: 401 | 403; kind: "unauthorized" | "forbidden"; title: string; detail: RegExp; challenge: string };

const unauthorized = (detail: RegExp) =>
  ({ status: 401, kind: "unauthorized", title: "Unauthorized", detail }) as const;

/** The exact answer the contract asks for, given who calls which route. */
function expected(caller: Caller, route: Route): Expected {
  if (route.scope === "public") return { status: 200 };
  switch (caller) {
    case "none":
      return { ...unauthorized(/needs an "Authorization: Bearer <token>" header/), challenge: 'Bearer realm="drover"' };
    case "malformed":
      return {
        ...unauthorized(/must be "Bearer <token>", with exactly one token/),
        challenge: 'Bearer realm="drover"',
      };
    case "bad":
      return {
        ...unauthorized(/^The bearer token is not valid\.$/),
        challenge: 'Bearer realm="drover", error="invalid_token"',
      };
    default:
      if (RANK[caller] >= RANK[route.scope]) return { status: 200 };
      return {
        status: 403,
        kind: "forbidden",
        title: "Forbidden",
        detail: new RegExp(`^This route needs the "${route.scope}" scope; the token has ${caller}\\.$`),
        challenge: `Bearer realm="drover", error="insufficient_scope", scope="${route.scope}"`,
      };
  }
}

async function call(caller: Caller, route: Route, headers = headersOf(caller)) {
  return app.inject({ method: route.method, url: route.url, headers });
}

for (const kind of KINDS) {
  describe(`authenticate (${kind} tokens)`, () => {
    before(() => setUp(kind));
    after(tearDown);

    for (const route of ROUTES) {
      describe(`${route.method} ${route.url} (${route.scope})`, () => {
        for (const caller of CALLERS) {
          const want = expected(caller, route);
          it(`answers ${want.status} to ${LABEL[caller]}`, async () => {
            const res = await call(caller, route);
            assert.equal(res.statusCode, want.status, res.body);
            if (want.status === 200) {
              assert.equal(res.headers["www-authenticate"], undefined);
              const principal = res.json().principal;
              if (route.scope === "public") assert.equal(principal, null);
              else assert.deepEqual(principal, { id: principal.id, scopes: [caller], name: caller });
              return;
            }
            assert.match(String(res.headers["content-type"]), /^application\/problem\+json\b/);
            assert.equal(res.headers["www-authenticate"], want.challenge);
            const body = res.json();
            assert.deepEqual(Object.keys(body).sort(), ["detail", "kind", "status", "title", "type"]);
            assert.equal(body.type, `https://drover.dev/problems/${want.kind}`);
            assert.equal(body.title, want.title);
            assert.equal(body.status, want.status);
            assert.equal(body.kind, want.kind);
            assert.match(body.detail, want.detail);
          });
        }
      });
    }

    const outbox = ROUTES[3] as Route;
    const invalid = 'Bearer realm="drover", error="invalid_token"';

    it("accepts the scheme in any case and several spaces before the token", async () => {
      for (const header of [`bearer ${token.admin}`, `BEARER ${token.admin}`, `Bearer   ${token.admin}`]) {
        assert.equal((await call("none", outbox, { authorization: header })).statusCode, 200, header);
      }
    });

    it("refuses headers that do not hold exactly one bearer token", async () => {
      for (const header of [
        "Bearer",
        "Bearer ",
        `${token.admin}`,
        `Bearer ${token.admin} ${token.admin}`,
        `Bearer ${token.admin},x`,
        `Bearer: ${token.admin}`,
        `Token ${token.admin}`,
      ]) {
        const res = await call("none", outbox, { authorization: header });
        assert.equal(res.statusCode, 401, header);
        assert.equal(res.headers["www-authenticate"], 'Bearer realm="drover"', header);
        assert.equal(res.json().kind, "unauthorized");
      }
    });

    it("answers a revoked token exactly like a token that never existed", async () => {
      const unknown = await call("bad", outbox);
      const gone = await call("none", outbox, { authorization: `Bearer ${revoked}` });
      assert.equal(gone.statusCode, 401);
      assert.equal(gone.headers["www-authenticate"], invalid);
      assert.equal(gone.body, unknown.body);
    });

    it("accepts DROVER_ADMIN_TOKEN as an admin token", async () => {
      const res = await call("none", outbox, { authorization: `Bearer ${ENV_ADMIN}` });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json().principal, ENV_ADMIN_PRINCIPAL);
    });

    it("needs admin on a route that names no scope, so forgetting one fails closed", async () => {
      const route: Route = { method: "GET", url: "/v1/unannotated", scope: "admin" };
      assert.equal((await call("none", route)).statusCode, 401);
      assert.equal((await call("write", route)).statusCode, 403);
      assert.equal((await call("admin", route)).statusCode, 200);
    });

    it("tells only callers with a valid token that a path does not exist", async () => {
      const route: Route = { method: "GET", url: "/v1/nowhere", scope: "read" };
      assert.equal((await call("none", route)).statusCode, 401);
      assert.equal((await call("bad", route)).statusCode, 401);
      assert.equal((await call("read", route)).statusCode, 404);
    });
  });
}
