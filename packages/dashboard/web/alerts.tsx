import { StreamEvent } from "@drover/http/wire";
import { useLiveTick } from "./hooks.js";
import { live } from "./live.js";
import { to } from "./router.js";

/**
 * Notices of dead letters and dead timers as the stream brings them, until dismissed: an
 * operator sees a dead-lettering on any page without reloading anything.
 */
export function Alerts() {
  useLiveTick(
    (message) =>
      message === null || message.event === StreamEvent.DeadLetter || message.event === StreamEvent.TimerDead,
    100,
  );
  return (
    <section class="alerts" aria-label="Alerts" aria-live="assertive">
      {live.alerts.map((alert) => (
        <div key={alert.id} class="alert" data-alert={alert.event}>
          {alert.event === StreamEvent.DeadLetter ? (
            <p>
              <strong>Dead letter:</strong> {alert.data.intentType} of{" "}
              <a href={to.entity(alert.data.machine, alert.data.entityId)}>
                {alert.data.machine} {alert.data.entityId}
              </a>{" "}
              gave up after {alert.data.attempts} attempt{alert.data.attempts === 1 ? "" : "s"}:{" "}
              <span class="last-error">{alert.data.error}</span> <a href={to.outbox("dead")}>Dead letters</a>
            </p>
          ) : (
            <p>
              <strong>Dead timer:</strong>{" "}
              <a href={to.entity(alert.data.machine, alert.data.entityId)}>
                {alert.data.machine} {alert.data.entityId}
              </a>{" "}
              after {alert.data.attempts} attempt{alert.data.attempts === 1 ? "" : "s"}:{" "}
              <span class="last-error">{alert.data.error}</span> <a href={to.timers("dead")}>Dead timers</a>
            </p>
          )}
          <button type="button" class="link" onClick={() => live.dismiss(alert.id)} aria-label="Dismiss">
            Dismiss
          </button>
        </div>
      ))}
    </section>
  );
}
