import { type MachineSummary, type MachinesBody, type RunResultKind, StreamEvent } from "@drover/http/wire";
import { api } from "./api.js";
import { Sparkline } from "./charts.js";
import { ago, rate } from "./format.js";
import { describe, useLive, useLiveTick, useLoad } from "./hooks.js";
import { live, totalsByKind } from "./live.js";
import { to } from "./router.js";
import { Schedules } from "./schedules.js";
import { StateVersionCounts } from "./versions.js";

const KINDS = [
  "processed",
  "rejected",
  "invalid",
  "not_found",
  "duplicate",
  "conflict",
  "unreadable",
] as const satisfies readonly RunResultKind[];

/** The first page: machines with their entities by state, the live charts, the latest events. */
export function Overview() {
  const machines = useLoad((signal) => api<MachinesBody>("/v1/machines", { signal }).then((body) => body.machines), []);
  useLive((message) => message?.event === StreamEvent.Step && message.data.kind === "processed", machines.reload, 500);
  return (
    <>
      <h1 tabIndex={-1}>Overview</h1>
      <section aria-labelledby="machines-heading">
        <h2 id="machines-heading">Machines</h2>
        {machines.error === undefined ? null : (
          <p role="alert" class="error">
            {describe(machines.error)}
          </p>
        )}
        {machines.data === undefined ? (
          <p>Loading…</p>
        ) : (
          <div class="cards">
            {machines.data.map((machine) => (
              <MachineCard key={machine.name} machine={machine} />
            ))}
          </div>
        )}
      </section>
      <Metrics />
      <Schedules />
      <RecentSteps />
    </>
  );
}

function MachineCard({ machine }: { machine: MachineSummary }) {
  return (
    <article class="card machine-card" aria-labelledby={`machine-${machine.name}`}>
      <h3 id={`machine-${machine.name}`}>
        <a href={to.machine(machine.name)}>{machine.name}</a>
      </h3>
      <p class="total">
        <strong>{machine.total}</strong> {machine.total === 1 ? "entity" : "entities"}
      </p>
      <table class="counts">
        <caption class="sr-only">{machine.name} entities by state</caption>
        <thead>
          <tr>
            <th scope="col">State</th>
            <th scope="col" class="num">
              Count
            </th>
          </tr>
        </thead>
        <tbody>
          {machine.states.map(({ status, count }) => (
            <tr key={status ?? ""}>
              <th scope="row">
                {status === null ? (
                  <span class="muted">(no status)</span>
                ) : (
                  <a href={to.machine(machine.name, { status })}>
                    <span class={`badge state-${cssName(status)}`}>{status}</span>
                  </a>
                )}
              </th>
              <td class="num">{count}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <StateVersionCounts machine={machine} />
    </article>
  );
}

/** The key metrics as small live charts, fed by the stream's stats. */
export function Metrics() {
  useLiveTick((message) => message === null || message.event === StreamEvent.Stats, 100);
  const samples = live.samples;
  const stats = live.stats;
  const last = samples.at(-1);
  const totals = stats === null ? {} : totalsByKind(stats);
  return (
    <section aria-labelledby="metrics-heading">
      <h2 id="metrics-heading">Metrics</h2>
      {stats === null ? (
        <p>Waiting for the first figures…</p>
      ) : (
        <div class="charts">
          <Sparkline
            label="Events"
            values={samples.map((sample) => sample.eventsPerSecond)}
            current={rate(last?.eventsPerSecond ?? 0)}
            unit="/s"
          />
          <Sparkline
            label="Outbox pending"
            values={samples.map((sample) => sample.pending)}
            current={String(stats.outbox.pending ?? 0)}
            tone="warn"
          />
          <Sparkline
            label="Dead letters"
            values={samples.map((sample) => sample.dead)}
            current={String(stats.outbox.dead ?? 0)}
            tone="bad"
          />
          <Sparkline
            label="Dead timers"
            values={samples.map((sample) => sample.deadTimers)}
            current={String(stats.timers?.dead ?? 0)}
            tone="bad"
          />
          {KINDS.filter((kind) => kind === "processed" || kind === "rejected" || (totals[kind] ?? 0) > 0).map(
            (kind) => (
              <Sparkline
                key={kind}
                label={`Results: ${kind}`}
                values={samples.map((sample) => sample.byKind[kind] ?? 0)}
                current={String(totals[kind] ?? 0)}
                unit="total"
                tone={kind === "processed" ? "ok" : "bad"}
              />
            ),
          )}
        </div>
      )}
    </section>
  );
}

function RecentSteps() {
  useLiveTick((message) => message?.event === StreamEvent.Step, 200);
  return (
    <section aria-labelledby="recent-heading">
      <h2 id="recent-heading">Latest events</h2>
      {live.steps.length === 0 ? (
        <p class="muted">Nothing yet: events this server runs appear here as they happen.</p>
      ) : (
        <ol class="feed" aria-live="polite" aria-relevant="additions">
          {live.steps.slice(0, 15).map((step) => (
            <li key={`${step.at}-${step.machine}-${step.id}-${step.eventId ?? ""}-${step.kind}`}>
              <span class={`badge kind-${step.kind}`}>{step.kind}</span>{" "}
              <a href={to.entity(step.machine, step.id)}>
                {step.machine} {step.id}
              </a>{" "}
              <span class="event-type">{step.type ?? "?"}</span>
              {step.status === undefined || step.status === null ? null : (
                <>
                  {" → "}
                  <span class={`badge state-${cssName(step.status)}`}>{step.status}</span>
                </>
              )}
              {step.reason === undefined ? null : <span class="muted"> ({step.reason})</span>}{" "}
              <time dateTime={step.at} class="muted">
                {ago(step.at)}
              </time>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** A state name as a CSS class suffix (only letters, digits, `-`, `_`). */
export function cssName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_");
}
