import type { SchedulesBody } from "@drover/http/wire";
import { api } from "./api.js";
import { ago, formatTime } from "./format.js";
import { describe, useLoad } from "./hooks.js";
import { to } from "./router.js";

/** The recurring schedules of the server's config, with their next occurrence. */
export function Schedules() {
  const schedules = useLoad((signal) => api<SchedulesBody>("/v1/schedules", { signal }).then((b) => b.items), []);
  const items = schedules.data ?? [];
  if (schedules.error === undefined && items.length === 0) return null;
  return (
    <section aria-labelledby="schedules-heading">
      <h2 id="schedules-heading">Recurring schedules</h2>
      {schedules.error === undefined ? null : (
        <p role="alert" class="error">
          {describe(schedules.error)}
        </p>
      )}
      <div class="table-wrap">
        <table class="schedules stack">
          <caption class="sr-only">Events sent on a cron schedule</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Cron</th>
              <th scope="col">Sends</th>
              <th scope="col">Next</th>
            </tr>
          </thead>
          <tbody>
            {items.map((schedule) => (
              <tr key={schedule.name}>
                <th scope="row" data-label="Name" class="mono">
                  {schedule.name}
                </th>
                <td data-label="Cron">
                  <code>{schedule.cron}</code> <small class="muted">{schedule.tz}</small>
                </td>
                <td data-label="Sends">
                  <span class="event-type">{schedule.eventType ?? "?"}</span> to{" "}
                  <a href={to.entity(schedule.machine, schedule.id)} class="mono">
                    {schedule.machine} {schedule.id}
                  </a>
                </td>
                <td data-label="Next">
                  {schedule.nextAt === null ? (
                    <span class="muted">none</span>
                  ) : (
                    <time dateTime={schedule.nextAt} title={ago(schedule.nextAt)}>
                      {formatTime(schedule.nextAt)}
                    </time>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
