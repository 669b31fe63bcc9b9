import {
  type EntityBody,
  type HistoryBody,
  type JournalEntryBody,
  type MachinesBody,
  type OutboxPageBody,
  StreamEvent,
} from "@drover/http/wire";
import type { ComponentChildren } from "preact";
import type { Access } from "./access.js";
import { ApiError, api, segment, typeOf } from "./api.js";
import { StateDiagram, takenSteps } from "./diagram.js";
import { EventFormPanel } from "./event-form.js";
import { formatTime, json } from "./format.js";
import { describe, useLive, useLoad } from "./hooks.js";
import { OutboxTable } from "./outbox.js";
import { cssName } from "./overview.js";
import { to } from "./router.js";
import { StateVersion } from "./versions.js";

/** One entity: its state and version, its journal as a timeline, its outbox rows. */
export function EntityPage({ machine, id, access }: { machine: string; id: string; access: Access }) {
  const base = `/v1/${segment(machine)}/${segment(id)}`;
  const entity = useLoad((signal) => api<EntityBody>(base, { signal }), [base]);
  const history = useLoad(
    (signal) => api<HistoryBody>(`${base}/history`, { signal }).then((body) => body.entries),
    [base],
  );
  // The version the running code reads and writes, to set the stored one against.
  const code = useLoad(
    (signal) =>
      api<MachinesBody>("/v1/machines", { signal }).then(
        (body) => body.machines.find((candidate) => candidate.name === machine)?.version,
      ),
    [machine],
  );
  const outbox = useLoad(
    (signal) =>
      access.admin
        ? api<OutboxPageBody>(`${base}/outbox`, { signal }).then((body) => body.items)
        : Promise.resolve(undefined),
    [base, access.admin],
  );
  const reload = () => {
    entity.reload();
    history.reload();
    outbox.reload();
  };
  useLive(
    (message) =>
      (message?.event === StreamEvent.Step && message.data.machine === machine && message.data.id === id) ||
      (message?.event === StreamEvent.Attempt && message.data.machine === machine && message.data.entityId === id),
    reload,
    250,
  );

  const notFound = entity.error instanceof ApiError && entity.error.status === 404;
  const status = entity.data?.status ?? null;
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={to.overview()}>Overview</a> / <a href={to.machine(machine)}>{machine}</a> /{" "}
        <span class="mono">{id}</span>
      </nav>
      <h1 tabIndex={-1} class="mono entity-title">
        {id}
      </h1>
      {entity.error === undefined ? null : (
        <p role="alert" class="error">
          {notFound ? `There is no ${machine} ${id} (yet).` : describe(entity.error)}
        </p>
      )}
      {entity.data === undefined ? null : (
        <section class="summary" aria-label="Current state">
          <dl class="facts">
            <Fact term="State">
              {status === null ? (
                <span class="muted">(no status)</span>
              ) : (
                <span class={`badge state-${cssName(status)}`} data-testid="entity-status">
                  {status}
                </span>
              )}
            </Fact>
            <Fact term="Version" testId="entity-version">
              {entity.data.version}
            </Fact>
            <Fact term="State schema" testId="entity-state-version">
              <StateVersion stored={entity.data.stateVersion} code={code.data} />
            </Fact>
            <Fact term="Created">
              <time dateTime={entity.data.createdAt}>{formatTime(entity.data.createdAt)}</time>
            </Fact>
            <Fact term="Updated">
              <time dateTime={entity.data.updatedAt}>{formatTime(entity.data.updatedAt)}</time>
            </Fact>
          </dl>
          <details>
            <summary>State as JSON</summary>
            <pre class="json">{json(entity.data.state)}</pre>
          </details>
        </section>
      )}
      {entity.data === undefined ? null : (
        <section aria-labelledby="diagram-heading">
          <h2 id="diagram-heading">State diagram</h2>
          <StateDiagram machine={machine} current={status} taken={takenSteps(history.data ?? [], typeOf)} />
        </section>
      )}
      <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">Timeline</h2>
        {history.error === undefined || notFound ? null : (
          <p role="alert" class="error">
            {describe(history.error)}
          </p>
        )}
        <ol class="timeline">
          {(history.data ?? []).map((entry) => (
            <TimelineEntry key={entry.version} entry={entry} />
          ))}
        </ol>
      </section>
      <section aria-labelledby="entity-outbox-heading">
        <h2 id="entity-outbox-heading">Outbox</h2>
        {!access.admin ? (
          <p class="muted">The outbox needs a token with the admin scope.</p>
        ) : outbox.error !== undefined && !notFound ? (
          <p role="alert" class="error">
            {describe(outbox.error)}
          </p>
        ) : (
          <OutboxTable rows={outbox.data ?? []} access={access} onRetried={reload} showEntity={false} />
        )}
      </section>
      {access.write && entity.data !== undefined ? (
        <EventFormPanel machine={machine} id={id} heading="Send an event" onSent={reload} />
      ) : null}
    </>
  );
}

/** One term of the summary's description list. */
function Fact({ term, testId, children }: { term: string; testId?: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd data-testid={testId}>{children}</dd>
    </div>
  );
}

function TimelineEntry({ entry }: { entry: JournalEntryBody }) {
  const { status } = entry;
  return (
    <li class="timeline-entry">
      <div class="timeline-head">
        <span
          class="version"
          title={`version ${entry.version}; state schema v${entry.stateVersion}, event schema v${entry.eventVersion}`}
        >
          v{entry.version}
        </span>
        <strong class="event-type">{typeOf(entry.event)}</strong>
        {status === null ? null : (
          <>
            <span aria-hidden="true">→</span>
            <span class="sr-only">led to</span>
            <span class={`badge state-${cssName(status)}`}>{status}</span>
          </>
        )}
        <time dateTime={entry.at} class="muted">
          {formatTime(entry.at)}
        </time>
      </div>
      <p class="muted small">
        event id <span class="mono event-id">{entry.eventId}</span>
      </p>
      {entry.intents.length === 0 ? null : (
        <p class="intents">
          Intents:{" "}
          {entry.intents.map((record, index) => (
            <span key={record.id}>
              {index === 0 ? null : ", "}
              <span class="intent" title={record.id}>
                {typeOf(record.intent)}
              </span>
            </span>
          ))}
        </p>
      )}
      <details>
        <summary>Event, decision and intents as JSON</summary>
        <h3 class="small">Event</h3>
        <pre class="json">{json(entry.event)}</pre>
        <h3 class="small">Decision (new state)</h3>
        <pre class="json">{json(entry.state)}</pre>
        {entry.intents.length === 0 ? null : (
          <>
            <h3 class="small">Intents</h3>
            <pre class="json">{json(entry.intents)}</pre>
          </>
        )}
      </details>
    </li>
  );
}
