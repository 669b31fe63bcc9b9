import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { acceptedWrite, rejectionWrite } from "@drover/core/testing";
import { channelFor, quoteLiteral } from "./identifiers.js";
import type { PostgresStore } from "./postgres-store.js";
import {
  freshSchema,
  openStore,
  postgresAvailable,
  terminateConnections,
  waitFor,
  withAdmin,
} from "./test-support/fixtures.js";

/**
 * A listener that counts its calls, and a marker: a notification sent by hand after the
 * commits under test. Notifications arrive in commit order, so once the marker is in, any
 * notice of an earlier commit is in too — absence is checked without sleeping.
 */
function counter() {
  let calls = 0;
  return {
    listener: () => {
      calls++;
    },
    get calls() {
      return calls;
    },
  };
}

async function mark(schema: string): Promise<void> {
  await withAdmin((client) => client.query(`SELECT pg_notify(${quoteLiteral(channelFor(schema))}, 'marker')`));
}

/** Wait until the LISTEN connection of the stores on `schema` is up (it starts with the first watcher). */
async function listening(schema: string, count = 1): Promise<void> {
  await waitFor("the LISTEN connection", async () =>
    withAdmin(async (client) => {
      const result = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'",
        [`drover:${schema}`],
      );
      return (result.rows[0]?.n ?? 0) >= count;
    }),
  );
}

async function withStores(body: (a: PostgresStore, b: PostgresStore, schema: string) => Promise<void>): Promise<void> {
  const schema = freshSchema();
  const a = await openStore({ schema });
  const b = await openStore({ schema });
  try {
    await body(a, b, schema);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** Two stores on one schema; a counting listener on the first is listening when `body` starts. */
function withWatcher(body: (seen: ReturnType<typeof counter>, b: PostgresStore, schema: string) => Promise<void>) {
  return withStores(async (a, b, schema) => {
    const seen = counter();
    const stop = a.watch(seen.listener);
    try {
      await listening(schema);
      await body(seen, b, schema);
    } finally {
      stop();
    }
  });
}

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore: watch (LISTEN/NOTIFY)", () => {
    it("wakes a listener of another store when a commit writes outbox rows or timers, and not otherwise", () =>
      withWatcher(async (seen, b, schema) => {
        // No intents: nothing for a dispatcher, no notice.
        await b.commit([acceptedWrite("t_a", "evt_1", 0, { n: 1 }), rejectionWrite("t_a", "evt_2", 1, "closed")]);
        await mark(schema);
        await waitFor("the marker", () => seen.calls >= 1);
        assert.equal(seen.calls, 1);
        // An intent: a notice. A timer: a notice.
        await b.commit([acceptedWrite("t_a", "evt_3", 1, { n: 2 }, [{ type: "Noted", n: 2 }])]);
        await waitFor("the notice of an outbox row", () => seen.calls >= 2);
        await b.commit([acceptedWrite("t_a", "evt_4", 2, { n: 3 }, [], [{ type: "Close" }])]);
        await waitFor("the notice of a timer", () => seen.calls >= 3);
        await mark(schema);
        await waitFor("the marker", () => seen.calls >= 4);
        assert.equal(seen.calls, 4);
      }));

    it("does not wake the committing store's own listener, nor one that stopped", () =>
      withStores(async (a, b, schema) => {
        const own = counter();
        const stopped = counter();
        const stopOwn = a.watch(own.listener);
        const stop = a.watch(stopped.listener);
        stop();
        stop();
        try {
          await listening(schema);
          await a.commit([acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }])]);
          await mark(schema);
          await waitFor("the marker", () => own.calls >= 1);
          assert.equal(own.calls, 1, "only the marker");
          assert.equal(stopped.calls, 0);
          // b's commits are news to a.
          await b.commit([acceptedWrite("t_b", "evt_2", 0, { n: 1 }, [{ type: "Noted", n: 1 }])]);
          await waitFor("b's notice", () => own.calls >= 2);
        } finally {
          stopOwn();
        }
      }));

    it("listens again by itself after its connection is killed, and looks for work once it is back", () =>
      withWatcher(async (seen, b, schema) => {
        assert.ok((await terminateConnections(schema)) >= 1);
        // The reconnection itself calls the listener: notices sent meanwhile were lost.
        await waitFor("the call after reconnecting", () => seen.calls >= 1);
        await listening(schema);
        const before = seen.calls;
        await b.commit([acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }])]);
        await waitFor("the notice after reconnecting", () => seen.calls > before);
      }));
  });
}
