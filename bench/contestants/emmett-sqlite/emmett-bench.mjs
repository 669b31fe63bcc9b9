// The Emmett contestant of drover's benchmark, run by the harness in a child process of its
// own (node sqlite3 misbehaves when better-sqlite3 is loaded beside it). Emmett 0.38.5 with
// its SQLite event store and a DeciderCommandHandler: the same payment rules as a decider,
// the same round-robin workload, one command at a time.
//
//   node emmett-bench.mjs '{"db":"/tmp/x.db","entities":1000,"events":2000}'
//
// Prints, as its last line, JSON: { events, applied, seconds, latenciesMs: [p50, p99],
// synchronous, journalMode, stored, busyRetries, error? } (Emmett logs failed transactions to
// stdout itself). A failure mid-run is a result (error + how far it got).
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { DeciderCommandHandler, IllegalStateError } from "@event-driven-io/emmett";
import { getSQLiteEventStore } from "@event-driven-io/emmett-sqlite";
import sqlite3 from "sqlite3";

const options = JSON.parse(process.argv[2] ?? "{}");
const { db: fileName, entities, events } = options;
if (typeof fileName !== "string" || !(entities > 0) || !(events > 0)) {
  console.error('usage: node emmett-bench.mjs \'{"db":"FILE","entities":N,"events":M}\'');
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

function query(sql) {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(fileName);
    db.get(sql, (error, row) => {
      db.close();
      if (error) reject(error);
      else resolve(row);
    });
  });
}

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// WAL is a property of the file (Emmett asks for it on every connection anyway); synchronous
// is per connection, and node-sqlite3's default, which every Emmett connection gets, is FULL.
const journalMode = (await query("PRAGMA journal_mode = WAL")).journal_mode;
const synchronous = { 0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA" }[(await query("PRAGMA synchronous")).synchronous];

// Emmett 0.38.5's connection runs `PRAGMA journal_mode = WAL` without waiting for it, so a
// commit now and then finds that statement still open and fails with SQLITE_BUSY ("SQL
// statements in progress"). Nothing was committed then: retrying the command through the
// CommandHandler's own retry option is what a user would do. The retries are counted.
let busyRetries = 0;
const isBusy = (caught) => caught?.code === "SQLITE_BUSY";
const retry = {
  retries: 5,
  minTimeout: 1,
  factor: 1,
  shouldRetryError: (caught) => {
    if (!isBusy(caught)) return false;
    busyRetries += 1;
    return true;
  },
};
const store = getSQLiteEventStore({ fileName });
const handle = DeciderCommandHandler({ ...decider, retry });
const latencies = new Float64Array(events);
let applied = 0;
let error;
const started = performance.now();
try {
  for (const command of workload()) {
    const t0 = performance.now();
    await handle(store, `payment-${command.data.payment}`, command);
    latencies[applied++] = performance.now() - t0;
  }
} catch (caught) {
  error = caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
}
const seconds = (performance.now() - started) / 1000;
let stored = null;
try {
  stored = (await query("SELECT count(*) AS n FROM emt_messages")).n;
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
    synchronous,
    journalMode,
    stored,
    busyRetries,
    ...(error === undefined ? {} : { error }),
  }),
);
