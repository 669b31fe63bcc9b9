import type { IntentTypeBody, IntentTypeChangeBody, IntentTypesBody } from "@drover/http/wire";
import { useState } from "preact/hooks";
import { ApiError, api, segment } from "./api.js";
import { formatTime } from "./format.js";
import { describe, useLoad } from "./hooks.js";

/**
 * The intent types the machines declare, each with a Pause or Resume button (admins): a paused
 * type's intents wait, keeping their attempts, in every process on the store.
 */
export function IntentTypes() {
  const types = useLoad((signal) => api<IntentTypesBody>("/v1/intent-types", { signal }).then((b) => b.items), []);
  const [message, setMessage] = useState<{ tone: "ok" | "bad"; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const toggle = async (type: IntentTypeBody) => {
    setBusy(type.intentType);
    setMessage(null);
    try {
      const method = type.paused ? "DELETE" : "PUT";
      const changed = await api<IntentTypeChangeBody>(`/v1/intent-types/${segment(type.intentType)}/pause`, {
        method,
      });
      setMessage({
        tone: "ok",
        text: changed.paused
          ? `Paused ${type.intentType}: its intents wait, keeping their attempts.`
          : `Resumed ${type.intentType}: its intents run again.`,
      });
      types.reload();
    } catch (failure) {
      const text = failure instanceof ApiError ? describe(failure) : String(failure);
      setMessage({ tone: "bad", text: `Could not change ${type.intentType}: ${text}` });
    } finally {
      setBusy(null);
    }
  };
  return (
    <section aria-labelledby="intent-types-heading">
      <h2 id="intent-types-heading">Intent types</h2>
      {types.error === undefined ? null : (
        <p role="alert" class="error">
          {describe(types.error)}
        </p>
      )}
      <p class={`outcome outcome-${message?.tone ?? "none"}`} role="status" aria-live="polite">
        {message?.text ?? ""}
      </p>
      {(types.data ?? []).length === 0 ? (
        <p class="muted">No intent types declared.</p>
      ) : (
        <ul class="intent-types">
          {(types.data ?? []).map((type) => (
            <li key={type.intentType} data-intent-type={type.intentType}>
              <span class="intent">{type.intentType}</span>{" "}
              <small class="muted">{type.machines.join(", ") || "declared by no machine"}</small>{" "}
              {type.paused ? (
                <span class="badge paused">
                  paused{type.pausedAt === null ? "" : ` since ${formatTime(type.pausedAt)}`}
                </span>
              ) : null}{" "}
              <button
                type="button"
                onClick={() => void toggle(type)}
                disabled={busy === type.intentType}
                aria-label={`${type.paused ? "Resume" : "Pause"} ${type.intentType}`}
              >
                {type.paused ? "Resume" : "Pause"}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
