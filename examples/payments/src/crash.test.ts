import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { JournalEntry, OutboxRecord } from "@drover/core";
import { OutboxStatus, RunResultKind, replayJournal, stableStringify } from "@drover/core";
import { between, seededRandom } from "@drover/core/testing";
import { SqliteStore } from "@drover/sqlite";
import type { PaymentIntent, PaymentState } from "./payments.js";
import { PaymentStatus, payments } from "./payments.js";
import type { ProviderLedger } from "./provider.js";
import { LedgerOutcome, ledgerByKey, ledgerByPayment, SimulatedProvider } from "./provider.js";
import { serveProvider } from "./provider-http.js";
import type { PlannedPayment } from "./test-support/crash-app.js";
import { crashPlan, FINAL_STATUSES, plannedEventIds } from "./test-support/crash-app.js";

const CHILD = fileURLToPath(new URL("./test-support/crash-app.js", import.meta.url));
/** Kills of a child that was running; kills during start-up come on top. */
const KILLS = 10;
const STARTUP_DEADLINE_MS = 10_000;
const CONVERGENCE_DEADLINE_MS = 20_000;

const dir = mkdtempSync(join(tmpdir(), "drover-payments-crash-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("the payments App under SIGKILL", () => {
  it("moves no money twice and applies no event twice, however often it is killed", { timeout: 60_000 }, async (t) => {
    const seed = Number(process.env.DROVER_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    t.diagnostic(`payments crash test seed ${seed} (rerun with DROVER_CRASH_SEED=${seed})`);
    const why = (what: string) => `seed ${seed}: ${what}`;
    const random = seededRandom(seed ^ 0x5bd1e995);
    const path = join(dir, "payments.db");
    const plan = crashPlan(seed);

    // The provider lives here, outside the process that gets killed, and keeps its books.
    const provider = new SimulatedProvider({
      latencyMs: { min: 2, max: 10 },
      failureRate: 0.1,
      random: seededRandom(seed),
      env: {},
    });
    const server = await serveProvider(provider, { host: "127.0.0.1", port: 0 });
    const started = Date.now();
    try {
      let kills = 0;
      let startupKills = 0;
      for (let round = 0; kills < KILLS; round++) {
        const child = start(path, server.url, seed);
        // Now and then kill during start-up: opening, migrating, the first events.
        if (round > 0 && random() < 0.2) {
          await sleep(between(random, 0, 150));
          startupKills++;
        } else {
          await child.started;
          const exitedFirst = await Promise.race([
            sleep(between(random, 0, 250)).then(() => false),
            child.exited.then(() => true),
          ]);
          assert.ok(
            !exitedFirst,
            why(
              `the child finished after ${kills} kills, before the test could kill it ${KILLS} times: ${child.output()}`,
            ),
          );
          kills++;
        }
        child.process.kill("SIGKILL");
        const status = await child.exited;
        if (status.signal !== "SIGKILL") {
          assert.fail(why(`the child exited on its own (code ${status.code}): ${child.output()}`));
        }
      }
      t.diagnostic(`${kills} kills while running, ${startupKills} during start-up, in ${Date.now() - started} ms`);

      // Now let one run to the end.
      const last = start(path, server.url, seed);
      const status = await Promise.race([
        last.exited,
        sleep(CONVERGENCE_DEADLINE_MS, undefined, { ref: false }).then(() => {
          last.process.kill("SIGKILL");
          return undefined;
        }),
      ]);
      assert.ok(status !== undefined, why(`no convergence within ${CONVERGENCE_DEADLINE_MS} ms: ${last.output()}`));
      assert.equal(status.code, 0, why(`the last run failed: ${last.output()}`));
      t.diagnostic(`converged ${Date.now() - started} ms after the first start`);
    } finally {
      await server.close();
    }

    const ledger = provider.ledger();
    const store = SqliteStore.open({ path });
    try {
      await check(store, plan, ledger, why, (line) => t.diagnostic(line));
    } finally {
      await store.close();
    }
  });
});

async function check(
  store: SqliteStore,
  plan: readonly PlannedPayment[],
  ledger: ProviderLedger,
  why: (what: string) => string,
  report: (line: string) => void,
): Promise<void> {
  // The outbox: nothing pending; anything dead says why.
  const outbox = await store.listOutbox({ limit: 1_000_000 });
  const pending = outbox.filter((row) => row.status === OutboxStatus.Pending);
  assert.deepEqual(
    pending.map((row) => row.intentId),
    [],
    why("intents still pending"),
  );
  const dead = outbox.filter((row) => row.status === OutboxStatus.Dead);
  for (const row of dead) assert.ok(row.lastError, why(`dead intent ${row.intentId} has no last_error`));
  const outboxById = new Map(outbox.map((row) => [row.intentId, row]));

  // Every payment went as far as its plan, and is in a state a payment may rest in.
  const journal: JournalEntry[] = [];
  for (const p of plan) {
    const ref = { machine: "payments", id: p.id };
    const entity = await store.getEntity(ref);
    assert.ok(entity !== undefined, why(`${p.id} was never created`));
    const state = entity.state as unknown as PaymentState;
    assert.ok(FINAL_STATUSES.has(state.status), why(`${p.id} ended ${state.status}`));
    assert.equal(state.status, expectedStatus(p), why(`${p.id} ended ${state.status}; plan: ${JSON.stringify(p)}`));

    const history = await store.history(ref);
    assert.deepEqual(
      history.map((entry) => entry.version),
      Array.from({ length: entity.version }, (_, v) => v + 1),
      why(`${p.id}: journal versions are not 1..${entity.version}`),
    );
    assert.equal(
      stableStringify(history.at(-1)?.state),
      stableStringify(entity.state),
      why(`${p.id}: state vs journal`),
    );
    assert.deepEqual(replayJournal(payments, history), [], why(`${p.id}: the journal does not replay`));
    journal.push(...history);
  }

  // No event applied twice: journal event ids are unique, and journal and inbox agree on
  // every event id that could exist — the plan's, the follow-ups' and the timers'.
  const journalIds = journal.map((entry) => entry.eventId);
  assert.equal(new Set(journalIds).size, journalIds.length, why("an event id appears twice in the journal"));
  for (const entry of journal) {
    const inbox = await store.findInbox(entry.eventId);
    assert.equal(inbox?.result.kind, RunResultKind.Processed, why(`no processed inbox row for ${entry.eventId}`));
    assert.equal(inbox?.result.kind === RunResultKind.Processed && inbox.result.version, entry.version);
    assert.equal(inbox?.id, entry.id, why(`inbox entity of ${entry.eventId}`));
  }
  const timers = await store.listTimers();
  const universe = new Set([
    ...plannedEventIds(plan),
    ...outbox.map((row) => `${row.intentId}#0`),
    ...timers.map((timer) => timer.timerId),
  ]);
  const journaled = new Set(journalIds);
  for (const eventId of journaled) assert.ok(universe.has(eventId), why(`unexpected event id ${eventId}`));
  let processed = 0;
  for (const eventId of universe) {
    const inbox = await store.findInbox(eventId);
    if (inbox?.result.kind === RunResultKind.Processed) {
      processed++;
      assert.ok(journaled.has(eventId), why(`${eventId} is processed in the inbox but not in the journal`));
    }
  }
  assert.equal(processed, journal.length, why("processed inbox rows vs journal rows"));

  // Every outbox row was written by a journal entry, and the other way round.
  const journalIntents = journal.flatMap((entry) =>
    entry.intents
      .filter((record) => !["Schedule", "CancelSchedule"].includes((record.intent as { type: string }).type))
      .map((r) => r.id),
  );
  assert.deepEqual([...journalIntents].sort(), [...outboxById.keys()].sort(), why("outbox rows vs journal intents"));

  // The provider: it only ever saw intent ids as keys, did at most one thing per key, and
  // its books agree with every payment's state.
  for (const [key, entries] of ledgerByKey(ledger)) {
    assert.equal(entries.length, 1, why(`the provider acted ${entries.length} times for key ${key}`));
    const row = outboxById.get(key);
    assert.ok(row !== undefined, why(`the provider saw key ${key}, which is no intent`));
    assert.equal(row.entityId, entries[0]?.paymentId, why(`key ${key} acted on another payment`));
  }
  const books = ledgerByPayment(ledger);
  for (const p of plan) {
    const state = (await store.getEntity({ machine: "payments", id: p.id }))?.state as unknown as PaymentState;
    const entries = books.get(p.id) ?? { authorizations: [], declines: [], captures: [], voids: [], refunds: [] };
    const label = (what: string) => why(`${p.id} (${state.status}): ${what}`);
    assert.ok(entries.authorizations.length + entries.declines.length <= 1, label("authorized or declined twice"));
    assert.ok(entries.captures.length <= 1, label("captured twice"));
    assert.ok(entries.voids.length <= 1, label("voided twice"));
    const done = (type: PaymentIntent["type"]) =>
      outbox.filter((row) => row.entityId === p.id && row.status === OutboxStatus.Done && intentType(row) === type)
        .length;

    if ("authorizationId" in state && state.authorizationId !== undefined) {
      assert.deepEqual(
        entries.authorizations.map((e) => e.authorizationId),
        [state.authorizationId],
        label("the provider's authorization is not the payment's"),
      );
    } else if (state.status === PaymentStatus.Declined) {
      assert.equal(entries.declines.length, 1, label("declined without the provider declining"));
    } else {
      assert.equal(entries.authorizations.length, 0, label("the provider holds funds the payment does not know of"));
    }
    assert.equal(entries.captures.length, done("CaptureWithProvider"), label("captures vs capture intents done"));
    assert.equal(sum(entries.captures.map((e) => e.amount ?? 0)), state.captured, label("captured amount"));
    assert.equal(entries.refunds.length, done("RefundWithProvider"), label("refunds vs refund intents done"));
    assert.equal(entries.refunds.length, state.refunds, label("refund count"));
    assert.equal(sum(entries.refunds.map((e) => e.amount ?? 0)), state.refunded, label("refunded amount"));
    assert.equal(entries.voids.length, done("VoidAuthorization"), label("voids vs void intents done"));
    if (state.status === PaymentStatus.Cancelled && state.authorizationId !== undefined) {
      assert.deepEqual(
        entries.voids.map((e) => e.authorizationId),
        [state.authorizationId],
        label("a cancelled payment's hold was not voided"),
      );
    }
  }
  const outcomes = ledger.entries.reduce<Record<string, number>>(
    (count, e) => Object.assign(count, { [e.outcome]: (count[e.outcome] ?? 0) + 1 }),
    {},
  );
  report(
    `${plan.length} payments, ${journal.length} journal rows, ${outbox.length} intents (${dead.length} dead); provider: ` +
      `${Object.values(ledger.requests).reduce((a, b) => a + b, 0)} requests, ${ledger.failedBefore} failed before ` +
      `and ${ledger.failedAfter} after acting, ${ledger.replays} replays; ${JSON.stringify(outcomes)}`,
  );
  assert.ok((outcomes[LedgerOutcome.Authorized] ?? 0) > 10, why("hardly anything was authorized"));
}

/** Where a payment's plan leads it. */
function expectedStatus(p: PlannedPayment): PaymentStatus {
  if (p.customerId.startsWith("cus_decline")) return PaymentStatus.Declined;
  if (p.cancel) return PaymentStatus.Cancelled;
  if (p.capture === null) return PaymentStatus.Authorized;
  const refunded = sum(p.refunds);
  if (refunded === 0) return PaymentStatus.Captured;
  return refunded === p.capture ? PaymentStatus.Refunded : PaymentStatus.PartiallyRefunded;
}

function intentType(row: OutboxRecord): string {
  return (row.intent as { type: string }).type;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface Child {
  readonly process: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  /** Resolves when the child printed `started`; fails the test if it exits or stalls first. */
  readonly started: Promise<void>;
  /** What it wrote, for failure messages. */
  output(): string;
}

function start(path: string, url: string, seed: number): Child {
  const child = spawn(process.execPath, [CHILD, path, url, String(seed)], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const exited = new Promise<ExitStatus>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const announced = new Promise<void>((resolve) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("started\n")) resolve();
    });
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-4_000);
  });
  const output = () => `stdout: ${out.slice(-500)} stderr: ${err}`;
  const started = (async () => {
    const timer = new AbortController();
    const outcome = await Promise.race([
      announced.then(() => "started" as const),
      exited.then(() => "exited" as const),
      sleep(STARTUP_DEADLINE_MS, "late" as const, { signal: timer.signal }).catch(() => "late" as const),
    ]).finally(() => timer.abort());
    if (outcome !== "started") {
      child.kill("SIGKILL");
      assert.fail(`the crash child did not start (${outcome}): ${output()}`);
    }
  })();
  // Not every child is awaited for `started` (start-up kills): keep its failure from going unhandled.
  started.catch(() => {});
  return { process: child, exited, started, output };
}
