import { StreamEvent, type TimerBody, type TimerPageBody, type TimerStatus } from "@drover/http/wire";
import { useState } from "preact/hooks";
import type { Access } from "./access.js";
import { ApiError, api, segment, typeOf } from "./api.js";
import { ago, formatTime, json } from "./format.js";
import { describe, useLive, useLoad } from "./hooks.js";
import { TIMER_STATUSES, to } from "./router.js";

const CAPTIONS: Readonly<Record<TimerStatus, string>> = {
  pending: "Pending timers, soonest due first",
  dead: "Dead timers: their firing failed until attempts ran out, or their event no longer fits",
  cancelled: "Timers cancelled or replaced by their machine",
  fired: "Fired timers",
};

/** Timers by status, with their key and last error; admins can retry dead ones. */
export function TimersView({ status, access }: { status: TimerStatus; access: Access }) {
  const rows = useLoad(
    (signal) =>
      access.admin
        ? api<TimerPageBody>(`/v1/timers?status=${status}&limit=200`, { signal }).then((body) => body.items)
        : Promise.resolve([]),
    [status, access.admin],
  );
  useLive(
    (message) => message?.event === StreamEvent.TimerDead || message?.event === StreamEvent.Step,
    rows.reload,
    500,
  );
  const [message, setMessage] = useState<{ tone: "ok" | "bad"; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const retry = async (timer: TimerBody) => {
    setBusy(timer.timerId);
    setMessage(null);
    try {
      await api<TimerBody>(`/v1/timers/${segment(timer.timerId)}/retry`, { method: "POST" });
      setMessage({ tone: "ok", text: `Retrying timer ${typeOf(timer.event)} (${timer.timerId}).` });
      rows.reload();
    } catch (failure) {
      const text = failure instanceof ApiError ? describe(failure) : String(failure);
      setMessage({ tone: "bad", text: `Could not retry ${timer.timerId}: ${text}` });
    } finally {
      setBusy(null);
    }
  };
  const items = rows.data ?? [];
  return (
    <>
      <h1 tabIndex={-1}>Timers</h1>
      <nav aria-label="Timer statuses" class="tabs">
        {TIMER_STATUSES.map((name) => (
          <a key={name} href={to.timers(name)} aria-current={status === name ? "page" : undefined}>
            {name[0]?.toUpperCase()}
            {name.slice(1)}
          </a>
        ))}
      </nav>
      {!access.admin ? (
        <p class="muted">Timers need a token with the admin scope.</p>
      ) : (
        <>
          {rows.error === undefined ? null : (
            <p role="alert" class="error">
              {describe(rows.error)}
            </p>
          )}
          <p class={`outcome outcome-${message?.tone ?? "none"}`} role="status" aria-live="polite">
            {message?.text ?? ""}
          </p>
          {items.length === 0 ? (
            <p class="muted">No {status} timers.</p>
          ) : (
            <div class="table-wrap">
              <table class="outbox timers stack">
                <caption>{CAPTIONS[status]}</caption>
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">Entity</th>
                    <th scope="col">Key</th>
                    <th scope="col">Status</th>
                    <th scope="col" class="num">
                      Attempts
                    </th>
                    <th scope="col">Last error</th>
                    <th scope="col">Due</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((timer) => (
                    <tr key={timer.timerId} data-timer-id={timer.timerId}>
                      <th scope="row" data-label="Event">
                        <span class="intent">{typeOf(timer.event)}</span>
                        <br />
                        <small class="mono muted">{timer.timerId}</small>
                        <details>
                          <summary>JSON</summary>
                          <pre class="json">{json(timer.event)}</pre>
                        </details>
                      </th>
                      <td data-label="Entity">
                        <a href={to.entity(timer.machine, timer.entityId)} class="mono">
                          {timer.machine} {timer.entityId}
                        </a>
                      </td>
                      <td data-label="Key" class="mono">
                        {timer.key ?? <span class="muted">—</span>}
                      </td>
                      <td data-label="Status">
                        <span class={`badge timer-${timer.status}`}>{timer.status}</span>
                      </td>
                      <td class="num" data-label="Attempts">
                        {timer.attempts}
                      </td>
                      <td class="last-error" data-label="Last error">
                        {timer.lastError ?? <span class="muted">—</span>}
                      </td>
                      <td data-label="Due">
                        <time dateTime={timer.dueAt} title={ago(timer.dueAt)}>
                          {formatTime(timer.dueAt)}
                        </time>
                      </td>
                      <td>
                        {timer.status === "dead" ? (
                          <button
                            type="button"
                            onClick={() => void retry(timer)}
                            disabled={busy === timer.timerId}
                            aria-label={`Retry timer ${typeOf(timer.event)} ${timer.timerId}`}
                          >
                            Retry
                          </button>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </>
  );
}
