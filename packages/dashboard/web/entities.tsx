import { type EntityPageBody, type MachinesBody, StreamEvent } from "@drover/http/wire";
import { useEffect, useState } from "preact/hooks";
import type { Access } from "./access.js";
import { api, segment } from "./api.js";
import { StateDiagram } from "./diagram.js";
import { EventFormPanel } from "./event-form.js";
import { ago } from "./format.js";
import { describe, useLive, useLoad } from "./hooks.js";
import { cssName } from "./overview.js";
import { to } from "./router.js";
import { StateVersionCounts } from "./versions.js";

const PAGE_SIZE = 20;

/** A machine's entities: searchable by id prefix, filtered by state, a page at a time. */
export function EntityList(props: { machine: string; prefix: string; status: string; access: Access }) {
  const { machine, prefix, status, access } = props;
  // Cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<(string | undefined)[]>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [search, setSearch] = useState(prefix);
  useEffect(() => {
    setCursors([]);
    setCursor(undefined);
    setSearch(prefix);
  }, [machine, prefix, status]);

  const page = useLoad(
    (signal) => {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (cursor !== undefined) query.set("cursor", cursor);
      if (prefix !== "") query.set("prefix", prefix);
      if (status !== "") query.set("status", status);
      return api<EntityPageBody>(`/v1/${segment(machine)}?${query}`, { signal });
    },
    [machine, prefix, status, cursor],
  );
  const summary = useLoad(
    (signal) =>
      api<MachinesBody>("/v1/machines", { signal }).then((body) =>
        body.machines.find((candidate) => candidate.name === machine),
      ),
    [machine],
  );
  useLive(
    (message) =>
      message?.event === StreamEvent.Step && message.data.machine === machine && message.data.kind === "processed",
    () => {
      page.reload();
      summary.reload();
    },
    500,
  );

  const applySearch = (event: Event) => {
    event.preventDefault();
    location.hash = to.machine(machine, { prefix: search.trim(), status });
  };

  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={to.overview()}>Overview</a> / <span>{machine}</span>
      </nav>
      <h1 tabIndex={-1}>{machine}</h1>
      {summary.data === undefined ? null : <StateVersionCounts machine={summary.data} />}
      <form class="filters" aria-label="Search and filter" onSubmit={applySearch}>
        <div class="field">
          <label for="search">Id starts with</label>
          <input
            id="search"
            type="search"
            value={search}
            onInput={(event) => setSearch(event.currentTarget.value)}
            autocomplete="off"
            spellcheck={false}
          />
        </div>
        <div class="field">
          <label for="state-filter">State</label>
          <select
            id="state-filter"
            value={status}
            onChange={(event) => {
              location.hash = to.machine(machine, { prefix, status: event.currentTarget.value });
            }}
          >
            <option value="">All states</option>
            {(summary.data?.states ?? [])
              .filter((count) => count.status !== null)
              .map((count) => (
                <option key={count.status} value={count.status ?? ""}>
                  {count.status} ({count.count})
                </option>
              ))}
            {status !== "" && !(summary.data?.states ?? []).some((count) => count.status === status) ? (
              <option value={status}>{status}</option>
            ) : null}
          </select>
        </div>
        <button type="submit">Search</button>
        {prefix !== "" || status !== "" ? (
          <a class="button secondary" href={to.machine(machine)}>
            Clear
          </a>
        ) : null}
      </form>
      {page.error === undefined ? null : (
        <p role="alert" class="error">
          {describe(page.error)}
        </p>
      )}
      <div class="table-wrap">
        <table class="entities stack" aria-busy={page.loading ? "true" : "false"}>
          <caption>
            {machine} entities{prefix === "" ? "" : `, id starting with “${prefix}”`}
            {status === "" ? "" : `, in state ${status}`}
            {summary.data === undefined ? "" : ` — ${summary.data.total} in all`}
          </caption>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">State</th>
              <th scope="col" class="num">
                Version
              </th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {(page.data?.items ?? []).map((entity) => {
              const state = entity.status;
              return (
                <tr key={entity.id}>
                  <td data-label="Id">
                    <a href={to.entity(machine, entity.id)} class="mono">
                      {entity.id}
                    </a>
                  </td>
                  <td data-label="State">
                    {state === null ? (
                      <span class="muted">—</span>
                    ) : (
                      <span class={`badge state-${cssName(state)}`}>{state}</span>
                    )}
                  </td>
                  <td class="num" data-label="Version">
                    {entity.version}
                  </td>
                  <td data-label="Updated">
                    <time dateTime={entity.updatedAt} title={entity.updatedAt}>
                      {ago(entity.updatedAt)}
                    </time>
                  </td>
                </tr>
              );
            })}
            {page.data !== undefined && page.data.items.length === 0 ? (
              <tr>
                <td colSpan={4} class="muted">
                  No entities match.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={cursors.length === 0}
          onClick={() => {
            setCursor(cursors.at(-1));
            setCursors(cursors.slice(0, -1));
          }}
        >
          Previous page
        </button>
        <span>Page {cursors.length + 1}</span>
        <button
          type="button"
          disabled={page.data?.nextCursor == null}
          onClick={() => {
            const next = page.data?.nextCursor;
            if (next == null) return;
            setCursors([...cursors, cursor]);
            setCursor(next);
          }}
        >
          Next page
        </button>
      </nav>
      <details class="machine-diagram">
        <summary>State diagram of {machine}</summary>
        <StateDiagram machine={machine} current={status === "" ? null : status} taken={[]} />
      </details>
      {access.write ? (
        <EventFormPanel
          machine={machine}
          heading={`New ${machine} entity or event`}
          onSent={(id) => {
            location.hash = to.entity(machine, id);
          }}
        />
      ) : null}
    </>
  );
}
