import type { ServerResponse } from "node:http";
import type { AnyMachine, App, StoredEntity } from "@drover/core";
import { InvalidReason } from "@drover/core";
import type { z } from "zod";
import type { DashboardAssets } from "../dashboard.js";
import type { LiveFeed } from "../live.js";
import type { DroverMetrics } from "../metrics.js";
import type { OpenApiDocument } from "../openapi/index.js";
import type { Problem } from "../problem.js";
import { ProblemKind, problem } from "../problem.js";
import type { Readiness } from "../readiness.js";
import type { ServerOptions } from "../server-options.js";
import { EdgeReason } from "../wire.js";

/** What the route groups share: the app, the server's options and its long-lived parts. */
export interface RouteDeps {
  readonly app: App;
  readonly options: ServerOptions;
  readonly metrics: DroverMetrics;
  readonly live: LiveFeed;
  readonly assets: DashboardAssets | undefined;
  /** The open `GET /v1/stream` answers. */
  readonly streams: Set<ServerResponse>;
  readonly openapi: OpenApiDocument;
  readonly readiness: Readiness;
}

/** An entity a route found, with the machine it belongs to. */
export interface FoundEntity {
  readonly machine: AnyMachine;
  readonly entity: StoredEntity;
}

/** The entity `name`/`id` with its machine, or the problem to answer (unknown machine, bad id, none). */
export async function findEntity(app: App, name: string, id: string): Promise<FoundEntity | Problem> {
  const machine = app.machine(name);
  if (machine === undefined) return unknownMachine(name, app);
  const parsed = parseId(machine, id);
  if (typeof parsed !== "string") return parsed;
  const entity = await app.getEntity({ machine: name, id: parsed });
  return entity === undefined ? problem(404, ProblemKind.NotFound, `no ${name} ${id}`) : { machine, entity };
}

/** `id` as `machine`'s id schema parses it, or the 400 problem naming what is wrong with it. */
export function parseId(machine: AnyMachine, id: string): string | Problem {
  const parsed = machine.schemas.id.safeParse(id);
  if (parsed.success) return parsed.data;
  return problem(400, ProblemKind.Invalid, `invalid ${machine.name} id ${JSON.stringify(id)}`, {
    reason: InvalidReason.InvalidId,
    issues: parsed.error.issues.map((issue) => ({
      path: issue.path.map(String),
      message: issue.message,
      code: issue.code,
    })),
  });
}

export function unknownMachine(name: string, app: App): Problem {
  return problem(
    404,
    ProblemKind.NotFound,
    `unknown machine "${name}"; this server has: ${app.machines.map((m) => m.name).join(", ")}`,
    { reason: InvalidReason.UnknownMachine },
  );
}

export function invalidQuery(error: z.ZodError): Problem {
  const issues = error.issues.map((issue) => ({
    path: issue.path.map(String),
    message: issue.message,
    code: issue.code,
  }));
  return problem(
    400,
    ProblemKind.Invalid,
    `invalid query: ${issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; ")}`,
    {
      reason: EdgeReason.InvalidQuery,
      issues,
    },
  );
}
