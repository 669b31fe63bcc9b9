import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { AcceptedWrite, Json } from "@drover/core";
import { ConfigurationError, StoreUnavailableError } from "@drover/core";
import { acceptedWrite } from "@drover/core/testing";
import pg from "pg";
import { quoteIdent } from "./identifiers.js";
import { migrations } from "./migrations.js";
import { PostgresStore } from "./postgres-store.js";
import { commitOneStatement, commitOneValues } from "./single-step.js";
import { buildStatements } from "./statements.js";
import { commitValues, prepare } from "./step-batch.js";
import {
  entityLockSql,
  freshSchema,
  openStore,
  postgresAvailable,
  TEST_URL,
  waitFor,
  waitingOnLocks,
  withAdmin,
} from "./test-support/fixtures.js";

const T = 1_767_225_600_000;

if (await postgresAvailable(import.meta.url)) {
  describe("PostgresStore: migrations", () => {
    it("migrates a fresh schema once when four processes open it at the same time", async () => {
      const schema = freshSchema();
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore({ schema, poolSize: 1 })));
      try {
        const infos = await Promise.all(stores.map((store) => store.info()));
        assert.deepEqual(
          infos.map((info) => info.schemaVersion),
          [1, 1, 1, 1].map(() => migrations.length),
        );
        const rows = await withAdmin((client) =>
          client.query(`SELECT version, name FROM ${quoteIdent(schema)}.drover_migrations ORDER BY version`),
        );
        assert.deepEqual(
          rows.rows,
          migrations.map((migration) => ({ version: migration.version, name: migration.name })),
        );
        // All four work on the same tables.
        const outcomes = await Promise.all(
          stores.map((store, i) => store.commit([acceptedWrite(`t_${i}`, `evt_${i}`, 0, { n: i })])),
        );
        assert.ok(outcomes.every(([outcome]) => outcome?.kind === "committed"));
        assert.equal((await stores[0]?.listEntities("tally", { limit: 10 }))?.length, 4);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    });

    it("applies nothing when a migrated schema is opened again", async () => {
      const schema = freshSchema();
      await (await openStore({ schema })).close();
      const applied = () =>
        withAdmin(async (client) => {
          const result = await client.query(`SELECT version, applied_at FROM ${quoteIdent(schema)}.drover_migrations`);
          return result.rows;
        });
      const before = await applied();
      await (await openStore({ schema })).close();
      assert.deepEqual(await applied(), before);
    });

    it("refuses a schema migrated by a newer @drover/postgres", async () => {
      const schema = freshSchema();
      await (await openStore({ schema })).close();
      await withAdmin((client) =>
        client.query(`INSERT INTO ${quoteIdent(schema)}.drover_migrations VALUES (99, 'from the future', 0)`),
      );
      await assert.rejects(
        openStore({ schema }),
        (error: unknown) =>
          error instanceof ConfigurationError &&
          error.message.includes(
            `schema version 99, but this @drover/postgres knows versions up to ${migrations.length}`,
          ),
      );
    });

    it("keeps everything inside its schema, whose name may need quoting", async () => {
      const schema = freshSchema('Drover "Test"');
      const store = await openStore({ schema });
      try {
        await store.commit([acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [{ type: "Noted", n: 1 }])]);
        assert.equal((await store.getEntity({ machine: "tally", id: "t_a" }))?.version, 1);
        const tables = await withAdmin(async (client) => {
          const result = await client.query<{ table_name: string }>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
            [schema],
          );
          return result.rows.map((row) => row.table_name);
        });
        assert.deepEqual(tables, [
          "api_token_changes",
          "api_tokens",
          "drover_migrations",
          "entities",
          "inbox",
          "intent_slots",
          "journal",
          "outbox",
          "paused_intent_types",
          "rate_buckets",
          "timers",
        ]);
      } finally {
        await store.close();
      }
    });
  });

  describe("PostgresStore: options", () => {
    it("refuses bad options with a ConfigurationError that says what is wrong", async () => {
      await assert.rejects(PostgresStore.open({}), /either url .* or connection settings/);
      await assert.rejects(
        PostgresStore.open({ url: TEST_URL, connection: { host: "127.0.0.1" } }),
        ConfigurationError,
      );
      await assert.rejects(
        PostgresStore.open({ url: "mysql://x" }),
        (error: unknown) => error instanceof ConfigurationError && /got "mysql:\/\/x"/.test(error.message),
      );
      await assert.rejects(PostgresStore.open({ url: TEST_URL, poolSize: 0 }), /poolSize must be a positive integer/);
      await assert.rejects(PostgresStore.open({ url: TEST_URL, schema: "" }), /schema must be a name/);
      await assert.rejects(PostgresStore.open({ url: TEST_URL, schema: "x".repeat(64) }), /1 to 63 bytes/);
    });

    it("connects with separate connection settings as well as with a URL", async () => {
      const url = new URL(TEST_URL);
      const schema = freshSchema();
      const store = await PostgresStore.open({
        connection: {
          host: url.hostname,
          port: Number(url.port || 5432),
          user: decodeURIComponent(url.username),
          password: decodeURIComponent(url.password),
          database: url.pathname.slice(1),
        },
        schema,
      });
      try {
        const info = await store.info();
        assert.equal(info.schema, schema);
        assert.equal(info.channel, `drover_${schema}`);
        assert.match(info.serverVersion, /^\d+/);
        assert.equal(info.server, `${url.hostname}:${url.port || 5432}/${url.pathname.slice(1)}`);
      } finally {
        await store.close();
      }
    });

    it("runs its connections with custom plans, named after the schema", async () => {
      const schema = freshSchema();
      const store = await openStore({ schema });
      try {
        assert.equal((await store.info()).planCacheMode, "force_custom_plan");
        const names = await withAdmin(async (client) => {
          const result = await client.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
            [`drover:${schema}`],
          );
          return result.rows[0]?.n ?? 0;
        });
        assert.ok(names >= 1);
      } finally {
        await store.close();
      }
    });
  });

  describe("PostgresStore: failures", () => {
    it("says PostgreSQL is unreachable, and what to do, when nothing listens", async () => {
      await assert.rejects(
        PostgresStore.open({ url: "postgres://postgres@127.0.0.1:1/postgres", connectTimeoutMs: 2000 }),
        (error: unknown) =>
          error instanceof StoreUnavailableError &&
          /cannot open the PostgreSQL store at 127\.0\.0\.1:1\/postgres: .*ECONNREFUSED.*start it, or check the host and port/.test(
            error.message,
          ),
      );
    });

    it("creates a missing database, or says how to when told not to", async () => {
      const name = `drover_test_db_${process.pid}_${randomBytes(3).toString("hex")}`;
      const url = new URL(TEST_URL);
      url.pathname = `/${name}`;
      try {
        await assert.rejects(
          PostgresStore.open({ url: url.toString(), createDatabase: false }),
          (error: unknown) =>
            error instanceof StoreUnavailableError &&
            error.message.includes(`database "${name}" does not exist`) &&
            /create it \(createdb NAME, or CREATE DATABASE\)/.test(error.message),
        );
        // Two processes starting together: both find the database there afterwards.
        const stores = await Promise.all([
          PostgresStore.open({ url: url.toString() }),
          PostgresStore.open({ url: url.toString() }),
        ]);
        const [first, second] = stores;
        assert.deepEqual(await first?.commit([acceptedWrite("t_a", "evt_1", 0, { n: 1 })]), [{ kind: "committed" }]);
        assert.deepEqual((await second?.getEntity({ machine: "tally", id: "t_a" }))?.state, { n: 1 });
        await Promise.all(stores.map((store) => store.close()));
      } finally {
        await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
      }
    });

    it("refuses work after close with StoreUnavailableError, and ends its connections", async () => {
      const schema = freshSchema();
      const store = await openStore({ schema });
      const stop = store.watch(() => undefined);
      await store.commit([acceptedWrite("t_a", "evt_1", 0, {})]);
      await store.close();
      stop();
      await assert.rejects(store.claimOutbox({ owner: "w", now: T, leaseMs: 10, limit: 1 }), StoreUnavailableError);
      assert.throws(() => store.watch(() => undefined), StoreUnavailableError);
      // A backend leaves pg_stat_activity when its process exits, a moment after our socket closed.
      const connectionsLeft = () =>
        withAdmin(async (client) => {
          const result = await client.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
            [`drover:${schema}`],
          );
          return result.rows[0]?.n;
        });
      let left = await connectionsLeft();
      for (let tries = 0; left !== 0 && tries < 20; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        left = await connectionsLeft();
      }
      assert.equal(left, 0);
    });
  });

  describe("PostgresStore: state rewrites", () => {
    const rewrite = (id: string, version: number, stateVersion: number, state: unknown = { v: stateVersion }) => ({
      ref: { machine: "tally", id },
      version,
      state: state as Json,
      stateName: null,
      stateVersion,
    });

    it("writes nothing when one state cannot be stored as JSON", async () => {
      const store = await openStore();
      try {
        await store.commit([acceptedWrite("t_a", "evt_1", 0, { n: 1 })]);
        await assert.rejects(
          store.rewriteStates([rewrite("t_a", 1, 2), rewrite("t_b", 1, 2, 10n)]),
          (error: unknown) => error instanceof TypeError,
        );
        assert.deepEqual((await store.getEntity({ machine: "tally", id: "t_a" }))?.state, { n: 1 });
      } finally {
        await store.close();
      }
    });

    it("applies rewrites of one entity in order, each checked against the one before", async () => {
      const store = await openStore();
      try {
        await store.commit([acceptedWrite("t_a", "evt_1", 0, { n: 1 })]);
        assert.deepEqual(
          await store.rewriteStates([rewrite("t_a", 1, 2), rewrite("t_a", 1, 2), rewrite("t_a", 1, 3)]),
          [true, false, true],
        );
        assert.equal((await store.getEntity({ machine: "tally", id: "t_a" }))?.stateVersion, 3);
      } finally {
        await store.close();
      }
    });

    it("waits for the entity locks commits take, so that it queues with them instead of deadlocking", async () => {
      const schema = freshSchema();
      const store = await openStore({ schema });
      try {
        await store.commit([acceptedWrite("t_a", "evt_1", 0, { n: 1 })]);
        const holder = new pg.Client({ connectionString: TEST_URL });
        await holder.connect();
        try {
          // Hold t_a's entity lock as a commit in flight would.
          await holder.query(entityLockSql(schema, "tally", "t_a"));
          let settled = false;
          const pending = store.rewriteStates([rewrite("t_a", 1, 2)]).finally(() => {
            settled = true;
          });
          await waitFor("the rewrite to wait for the lock", async () => (await waitingOnLocks(schema)) === 1);
          assert.equal(settled, false);
          assert.equal((await store.getEntity({ machine: "tally", id: "t_a" }))?.stateVersion, 1);
          await holder.query("SELECT pg_advisory_unlock_all()");
          assert.deepEqual(await pending, [true]);
        } finally {
          await holder.end();
        }
      } finally {
        await store.close();
      }
    });
  });

  /**
   * The generic-plan trap: plans made while the tables are empty (and known to be) are kept.
   * `run`'s statements go on a session with the tables freshly analysed empty, and the plans
   * they really ran with (auto_explain, nested statements included) come back.
   */
  async function plansOnEmptyTables(s: string, run: (client: pg.ClientBase) => Promise<void>): Promise<string[]> {
    return withAdmin(async (client) => {
      await client.query(`VACUUM ANALYZE ${s}.entities, ${s}.inbox, ${s}.timers`);
      await client.query(
        "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;" +
          "SET auto_explain.log_level = notice; SET client_min_messages = notice",
      );
      const notices: string[] = [];
      client.on("notice", (notice) => notices.push(notice.message ?? ""));
      await run(client);
      return notices;
    });
  }

  describe("PostgresStore: plans", () => {
    it("looks rows up by primary key in drover_load and drover_commit, even planned on empty analysed tables", async () => {
      const schema = freshSchema();
      const store = await openStore({ schema, poolSize: 1 });
      try {
        const s = quoteIdent(schema);
        const { commit } = buildStatements(schema, { channel: "c", payload: "p" });
        const plans = await plansOnEmptyTables(s, async (client) => {
          const none: never[] = [];
          for (const [kind, expected] of [
            ["accepted", 0],
            ["accepted", 1],
            ["accepted", 1],
            ["rejected", 5],
          ] as const) {
            await client.query(
              commit.text,
              [[kind], ["tally"], ["t_a"], [`evt_${expected}`], ["fp"], [T], [expected], ["{}"], ["{}"], ["[]"], ["{}"]]
                .concat([[1], [`tally/t_a/${expected}/0`], ["{}"]])
                .concat([none, none, none, none, [""], [1], [1], none])
                .concat([["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]])
                .concat([none, none, none]),
            );
          }
          await client.query(`SELECT * FROM ${s}.drover_load('tally', 't_a', 'evt_0')`);
        });
        const lookups = plans.filter((plan) => /FROM .*\.(inbox|entities) AS [a-z]\b|UPDATE .*entities/.test(plan));
        assert.ok(lookups.length >= 4, `expected the functions' lookups among ${plans.length} plans`);
        for (const plan of lookups) {
          assert.doesNotMatch(plan, /Seq Scan/, plan);
          assert.match(plan, /Index Scan using (entities|inbox)_pkey/, plan);
          // Generic plans: the arguments are parameters, not the values of one call.
          assert.match(plan, /\$\d+/, plan);
        }
      } finally {
        await store.close();
      }
    });

    it("moves a lone step's entity by primary key in drover_commit_one, planned on empty analysed tables", async () => {
      const schema = freshSchema();
      const store = await openStore({ schema, poolSize: 1 });
      try {
        const s = quoteIdent(schema);
        const commitOne = commitOneStatement(schema, s, { channel: "c", payload: "p" });
        const trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        const plans = await plansOnEmptyTables(s, async (client) => {
          for (const expected of [0, 1, 2, 3, 4, 5, 6]) {
            const written = await client.query<{ written: boolean }>(commitOne.text, [
              "tally",
              "t_a",
              `evt_${expected}`,
              "fp",
              T,
              expected,
              "{}",
              1,
              "{}",
              null,
              1,
              "[]",
              "{}",
              trace,
              [`tally/t_a/${expected + 1}/0`],
              ["{}"],
              [],
              [],
              [],
              [],
              [],
              [],
            ]);
            assert.equal(written.rows[0]?.written, true);
          }
        });
        const updates = plans.filter((plan) => /UPDATE .*entities/.test(plan));
        // PL/pgSQL plans a statement once per connection: six runs of the update, one plan.
        assert.ok(updates.length >= 1, `expected the function's update among ${plans.length} plans`);
        for (const plan of updates) {
          assert.doesNotMatch(plan, /Seq Scan/, plan);
          assert.match(plan, /Index Scan using entities_pkey/, plan);
          assert.match(plan, /\$\d+|p_machine/, plan);
        }
        assert.equal((await store.getEntity({ machine: "tally", id: "t_a" }))?.version, 7);
        assert.equal((await store.listOutbox()).length, 7);
        assert.equal((await store.findOutbox("tally/t_a/7/0"))?.traceParent, trace);
      } finally {
        await store.close();
      }
    });

    it("cancels and replaces an entity's pending timers through timers_pending_by_key, in both functions", async () => {
      const schema = freshSchema();
      const store = await openStore({ schema, poolSize: 1 });
      try {
        const s = quoteIdent(schema);
        const notice = { channel: "c", payload: "p" };
        const { commit } = buildStatements(schema, notice);
        const commitOne = commitOneStatement(schema, s, notice);
        const keyed = (step: AcceptedWrite, key: string, cancelTimers: string[] = []): AcceptedWrite => ({
          ...step,
          timers: step.timers.map((timer) => ({ ...timer, key })),
          cancelTimers,
        });
        const first = keyed(acceptedWrite("t_a", "evt_1", 0, { n: 1 }, [], [{ type: "Remind" }]), "r");
        const second = keyed(acceptedWrite("t_a", "evt_2", 1, { n: 2 }, [], [{ type: "Remind" }]), "r");
        const third = keyed(acceptedWrite("t_a", "evt_3", 2, { n: 3 }, [], [{ type: "Tick" }]), "s");
        const fourth = { ...acceptedWrite("t_a", "evt_4", 3, { n: 4 }), cancelTimers: ["s"] };
        const plans = await plansOnEmptyTables(s, async (client) => {
          const lone = async (step: AcceptedWrite) => {
            const written = await client.query<{ written: boolean }>(
              commitOne.text,
              commitOneValues(prepare(step, 0), step),
            );
            assert.equal(written.rows[0]?.written, true);
          };
          await lone(first);
          await client.query(commit.text, commitValues([prepare(second, 0)]));
          await client.query(commit.text, commitValues([prepare(third, 0)]));
          await lone(fourth);
        });
        const updates = plans.filter((plan) => /UPDATE .*timers/.test(plan));
        assert.ok(updates.length >= 2, `expected the functions' cancels among ${plans.length} plans`);
        for (const plan of updates) {
          assert.doesNotMatch(plan, /Seq Scan/, plan);
          assert.match(plan, /Index Scan using timers_pending_by_key/, plan);
        }
        assert.deepEqual(
          (await store.listTimers()).map((timer) => [timer.timerId, timer.key, timer.status]),
          [
            ["tally/t_a/1/0", "r", "cancelled"],
            ["tally/t_a/2/0", "r", "pending"],
            ["tally/t_a/3/0", "s", "cancelled"],
          ],
        );
      } finally {
        await store.close();
      }
    });
  });
}
