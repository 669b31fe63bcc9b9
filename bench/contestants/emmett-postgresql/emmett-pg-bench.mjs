// The Emmett PostgreSQL contestant of drover's benchmark, run by the harness in a child
// process of its own (its own package folder and lock file: emmett-postgresql exists only as
// 0.42.0, with emmett 0.42.0). Emmett with its PostgreSQL event store and a
// DeciderCommandHandler: the same payment rules as a decider, the same round-robin workload,
// `concurrency` commands at a time (each awaiting its own before taking the next).
//
//   node emmett-pg-bench.mjs '{"url":"postgres://…/db","entities":1000,"events":2000,"concurrency":1}'
//
// Prints, as its last line, JSON: { events, applied, seconds, latenciesMs: [p50, p99],
// stored, retries, settings: { fsync, synchronous_commit }, error? }. A failure mid-run is a
// result (error + how far it got).
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { DeciderCommandHandler, IllegalStateError } from "@event-driven-io/emmett";
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql";
import pg from "pg";

const options = JSON.parse(process.argv[2] ?? "{}");
const { url, entities, events } = options;
const concurrency = options.concurrency ?? 1;
if (typeof url !== "string" || !(entities > 0) || !(events > 0) || !(concurrency > 0)) {
  console.error('usage: node emmett-pg-bench.mjs \'{"url":"postgres://…","entities":N,"events":M,"concurrency":C}\'');
  process.exit(2);
}

const REQUESTED_AMOUNT = 100_000_000;
const CAPTURED_AMOUNT = 100;
const REFUNDED_AMOUNT = 50;

/** The same payment rules as the benchmark's drover machine, as an Emmett decider. */
const decider = {
  initialState: () => ({ status: "none", amount: 0, captured: 0, refunded: 0 }),
  decide: (command, state) => {
    const { payment, amount } = command.data;
    switch (command.type) {
      case "RequestPayment":
        if (state.status !== "none") throw new IllegalStateError("already_requested");
        return { type: "PaymentRequested", data: { payment, amount } };
      case "Capture":
        if (state.status === "none") throw new IllegalStateError("not_found");
        if (state.captured + amount > state.amount) throw new IllegalStateError("over_capture");
        return { type: "PaymentCaptured", data: { payment, amount } };
      case "Refund":
        if (state.status === "none") throw new IllegalStateError("not_found");
        if (state.refunded + amount > state.captured) throw new IllegalStateError("over_refund");
        return { type: "PaymentRefunded", data: { payment, amount } };
      default:
        throw new IllegalStateError(`unknown command ${command.type}`);
    }
  },
  evolve: (state, event) => {
    switch (event.type) {
      case "PaymentRequested":
        return { status: "requested", amount: event.data.amount, captured: 0, refunded: 0 };
      case "PaymentCaptured":
        return { ...state, captured: state.captured + event.data.amount };
      case "PaymentRefunded":
        return { ...state, refunded: state.refunded + event.data.amount };
      default:
        return state;
    }
  },
};

/** The benchmark's workload: round robin, each entity RequestPayment then Capture/Refund. */
function* workload() {
  const counts = new Uint32Array(entities);
  for (let seq = 0; seq < events; seq++) {
    const index = seq % entities;
    const nth = counts[index]++;
    const payment = `pay_${String(index).padStart(7, "0")}`;
    const type = nth === 0 ? "RequestPayment" : nth % 2 === 1 ? "Capture" : "Refund";
    const amount = nth === 0 ? REQUESTED_AMOUNT : nth % 2 === 1 ? CAPTURED_AMOUNT : REFUNDED_AMOUNT;
    yield { type, data: { payment, amount }, metadata: { commandId: randomUUID(), now: new Date() } };
  }
}

async function query(sql) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows[0];
  } finally {
    await client.end();
  }
}

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const settings = await query(
  "SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit",
);
// Concurrent commands never share a stream here (round robin over 1,000), so a version
// conflict should not happen; should one, the CommandHandler's own retry is what a user has.
let retries = 0;
const retry = {
  retries: 5,
  minTimeout: 1,
  factor: 1,
  shouldRetryError: (caught) => {
    if (caught?.name !== "ExpectedVersionConflictError" && caught?.name !== "ConcurrencyError") return false;
    retries += 1;
    return true;
  },
};
const store = getPostgreSQLEventStore(url);
const handle = DeciderCommandHandler({ ...decider, retry });
let applied = 0;
let error;
let seconds = 0;
const latencies = new Float64Array(events);
try {
  // The schema is made on first use: do that before the clock starts.
  await store.schema.migrate();
  await store.readStream("payment-warmup");
  const commands = workload();
  const worker = async () => {
    for (let next = commands.next(); !next.done && error === undefined; next = commands.next()) {
      const command = next.value;
      const t0 = performance.now();
      await handle(store, `payment-${command.data.payment}`, command);
      latencies[applied++] = performance.now() - t0;
    }
  };
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, () =>
        worker().catch((caught) => {
          error ??= caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
        }),
      ),
    );
  } finally {
    seconds = (performance.now() - started) / 1000;
  }
} catch (caught) {
  error ??= caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
}
await store.close().catch(() => undefined);
let stored = null;
try {
  stored = Number((await query("SELECT count(*) AS n FROM emt_messages")).n);
} catch (caught) {
  error ??= `counting events: ${caught instanceof Error ? caught.message : String(caught)}`;
}
const sorted = latencies.slice(0, applied).sort();
console.log(
  JSON.stringify({
    events,
    applied,
    seconds,
    latenciesMs: [quantile(sorted, 0.5), quantile(sorted, 0.99)],
    stored,
    retries,
    settings,
    ...(error === undefined ? {} : { error }),
  }),
);
