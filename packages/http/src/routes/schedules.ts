import type { Json } from "@drover/core";
import type { FastifyInstance } from "fastify";
import { isoTime } from "../bodies.js";
import { type ScheduleBody, type SchedulesBody, Scope } from "../wire.js";
import type { RouteDeps } from "./shared.js";

/** `GET /v1/schedules`: the app's recurring schedules with their next occurrence (read). */
export function schedulesRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { app } = deps;

  async function listSchedules(): Promise<SchedulesBody> {
    return {
      items: app.recurring.schedules().map(
        (schedule): ScheduleBody => ({
          name: schedule.name,
          cron: schedule.cron,
          tz: schedule.tz ?? "UTC",
          machine: schedule.machine,
          id: schedule.id,
          eventType: typeOf(schedule.event),
          // The config's own value: JSON by the time it is an event.
          event: schedule.event as Json,
          nextAt: schedule.nextAt === null ? null : isoTime(schedule.nextAt),
        }),
      ),
    };
  }

  server.get("/v1/schedules", { config: { scope: Scope.Read } }, listSchedules);
}

function typeOf(event: unknown): string | null {
  if (event === null || typeof event !== "object") return null;
  const type = (event as { type?: unknown }).type;
  return typeof type === "string" ? type : null;
}
