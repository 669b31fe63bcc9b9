import type { App } from "@drover/core";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Public } from "../auth.js";
import { isNotModified } from "../conditional.js";
import { DASHBOARD_CSP, type DashboardAsset } from "../dashboard.js";
import type { RouteDeps } from "./shared.js";

/** `GET /`: the dashboard's files when there is a dashboard, else a plain page. */
export function assetsRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { app, assets } = deps;

  async function getLandingPage(_request: FastifyRequest, reply: FastifyReply) {
    return reply.type("text/html; charset=utf-8").send(landingPage(app));
  }

  function assetHandler(asset: DashboardAsset) {
    return async function getAsset(request: FastifyRequest, reply: FastifyReply) {
      reply
        .header("etag", asset.etag)
        .header("cache-control", "no-cache")
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header("content-security-policy", DASHBOARD_CSP);
      if (isNotModified(request.headers["if-none-match"], asset.etag)) return reply.code(304).send();
      return reply.type(asset.type).send(asset.body);
    };
  }

  if (assets === undefined) {
    server.get("/", { config: { scope: Public } }, getLandingPage);
  } else {
    // The dashboard: static files only. The page holds no data; it asks the API for it with
    // the token the operator types in, so these routes are public.
    for (const [path, asset] of assets) server.get(path, { config: { scope: Public } }, assetHandler(asset));
  }
}

function landingPage(app: App): string {
  const machines = app.machines
    .map((m) => m.name)
    .map((name) => `<li><code>/v1/${name}</code></li>`)
    .join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>drover</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>drover</h1><p>This server speaks the drover HTTP API. Machines:</p><ul>${machines}</ul>
<p>The API is described at <a href="/openapi.json">/openapi.json</a>; health at <a href="/healthz">/healthz</a>.</p></main></body></html>`;
}
