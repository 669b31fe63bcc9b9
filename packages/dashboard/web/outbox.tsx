import { type OutboxPageBody, type OutboxRecordBody, type RetriedBody, StreamEvent } from "@drover/http/wire";
import { useState } from "preact/hooks";
import type { Access } from "./access.js";
import { ApiError, api, segment, typeOf } from "./api.js";
import { ago, formatTime, json } from "./format.js";
import { describe, useLive, useLoad } from "./hooks.js";
import { IntentTypes } from "./intent-types.js";
import { to } from "./router.js";

/** Pending intents and dead letters, with their last error; admins can retry dead ones. */
export function OutboxView({ status, access }: { status: "pending" | "dead"; access: Access }) {
  const rows = useLoad(
    (signal) =>
      access.admin
        ? api<OutboxPageBody>(`/v1/outbox?status=${status}&limit=200`, { signal }).then((body) => body.items)
        : Promise.resolve([]),
    [status, access.admin],
  );
  useLive(
    (message) =>
      message?.event === StreamEvent.Attempt ||
      message?.event === StreamEvent.Step ||
      message?.event === StreamEvent.DeadLetter,
    rows.reload,
    500,
  );
  return (
    <>
      <h1 tabIndex={-1}>Outbox</h1>
      <nav aria-label="Outbox rows" class="tabs">
        <a href={to.outbox("dead")} aria-current={status === "dead" ? "page" : undefined}>
          Dead letters
        </a>
        <a href={to.outbox("pending")} aria-current={status === "pending" ? "page" : undefined}>
          Pending
        </a>
      </nav>
      {!access.admin ? (
        <p class="muted">The outbox needs a token with the admin scope.</p>
      ) : (
        <>
          {rows.error === undefined ? null : (
            <p role="alert" class="error">
              {describe(rows.error)}
            </p>
          )}
          <OutboxTable
            rows={rows.data ?? []}
            access={access}
            onRetried={rows.reload}
            showEntity
            caption={status === "dead" ? "Dead letters: intents that failed for good" : "Pending intents"}
          />
          <IntentTypes />
        </>
      )}
    </>
  );
}

/** Outbox rows as a table; dead ones get a Retry button for admins. */
export function OutboxTable(props: {
  rows: readonly OutboxRecordBody[];
  access: Access;
  onRetried: () => void;
  showEntity: boolean;
  caption?: string;
}) {
  const { rows, access, showEntity } = props;
  const [message, setMessage] = useState<{ tone: "ok" | "bad"; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const retry = async (row: OutboxRecordBody) => {
    setBusy(row.intentId);
    setMessage(null);
    try {
      await api<RetriedBody>(`/v1/outbox/${segment(row.intentId)}/retry`, { method: "POST" });
      setMessage({ tone: "ok", text: `Retrying ${typeOf(row.intent)} (${row.intentId}).` });
      props.onRetried();
    } catch (failure) {
      const text = failure instanceof ApiError ? describe(failure) : String(failure);
      setMessage({ tone: "bad", text: `Could not retry ${row.intentId}: ${text}` });
    } finally {
      setBusy(null);
    }
  };
  return (
    <>
      <p class={`outcome outcome-${message?.tone ?? "none"}`} role="status" aria-live="polite">
        {message?.text ?? ""}
      </p>
      {rows.length === 0 ? (
        <p class="muted">No outbox rows here.</p>
      ) : (
        <div class="table-wrap">
          <table class="outbox stack">
            {props.caption === undefined ? null : <caption>{props.caption}</caption>}
            <thead>
              <tr>
                <th scope="col">Intent</th>
                {showEntity ? <th scope="col">Entity</th> : null}
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Attempts
                </th>
                <th scope="col">Last error</th>
                <th scope="col">Created</th>
                {access.admin ? (
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.intentId} data-intent-id={row.intentId}>
                  <th scope="row" data-label="Intent">
                    <span class="intent">{typeOf(row.intent)}</span>
                    <br />
                    <small class="mono muted">{row.intentId}</small>
                    <details>
                      <summary>JSON</summary>
                      <pre class="json">{json(row.intent)}</pre>
                    </details>
                  </th>
                  {showEntity ? (
                    <td data-label="Entity">
                      <a href={to.entity(row.machine, row.entityId)} class="mono">
                        {row.machine} {row.entityId}
                      </a>
                    </td>
                  ) : null}
                  <td data-label="Status">
                    <span class={`badge outbox-${row.status}`}>{row.status}</span>
                    {row.status === "pending" ? (
                      <small class="muted">
                        {" "}
                        next <time dateTime={row.nextAttemptAt}>{ago(row.nextAttemptAt)}</time>
                      </small>
                    ) : null}
                  </td>
                  <td class="num" data-label="Attempts">
                    {row.attempts}
                  </td>
                  <td class="last-error" data-label="Last error">
                    {row.lastError ?? <span class="muted">—</span>}
                  </td>
                  <td data-label="Created">
                    <time dateTime={row.createdAt}>{formatTime(row.createdAt)}</time>
                  </td>
                  {access.admin ? (
                    <td>
                      {row.status === "dead" ? (
                        <button
                          type="button"
                          onClick={() => void retry(row)}
                          disabled={busy === row.intentId}
                          aria-label={`Retry ${typeOf(row.intent)} ${row.intentId}`}
                        >
                          Retry
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
