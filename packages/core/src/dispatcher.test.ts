import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { App } from "./app.js";
import { Dispatcher } from "./dispatcher.js";
import type { EffectContext, EffectHandlers } from "./effects.js";
import { defineEffects, followUp } from "./effects.js";
import { PermanentEffectError } from "./errors.js";
import { silentLogger } from "./logger.js";
import { MemoryStore } from "./memory-store.js";
import type { Store } from "./ports.js";
import { OutboxStatus } from "./ports.js";
import { Runtime } from "./runtime.js";
import { tallyMachine } from "./testing/tally-machine.js";

const T0 = Date.UTC(2026, 0, 1);

/** An app on a memory store with a hand-driven clock and the given tally effect handlers. */
function setup(
  handlers: EffectHandlers<typeof tallyMachine>,
  settings: { maxAttempts?: number; timeoutMs?: number } = {},
) {
  const clock = { t: T0, now: () => clock.t };
  const store = new MemoryStore();
  const app = new App({
    store,
    machines: [tallyMachine],
    effects: [defineEffects(tallyMachine, handlers)],
    clock,
    logger: silentLogger,
    dispatcher: {
      backoff: { initialMs: 1000, maxMs: 60_000 },
      random: () => 1,
      maxAttempts: settings.maxAttempts ?? 10,
      timeoutMs: settings.timeoutMs ?? 10_000,
      leaseMs: 30_000,
    },
  });
  const add = async (id: string, n: number, eventId?: string) => {
    await app.run({ machine: "tally", id }, { type: "Open" }, { eventId: `open-${id}` });
    return app.run({ machine: "tally", id }, { type: "Add", n }, eventId === undefined ? {} : { eventId });
  };
  return { clock, store, app, add };
}

/** `store` with one method replaced (the rest bound to the real store). */
function withMethod<K extends keyof Store>(store: Store, name: K, method: Store[K]): Store {
  return new Proxy(store, {
    get: (target, prop, receiver) => {
      if (prop === name) return method;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function outboxRow(store: Store, intentId: string) {
  return (await store.listOutbox()).find((row) => row.intentId === intentId);
}

describe("Dispatcher", () => {
  it("executes an intent with its stable id as the idempotency key and marks it done", async () => {
    const seen: EffectContext[] = [];
    const { app, add, store } = setup({
      Noted: async (_intent, ctx) => {
        seen.push(ctx);
      },
    });
    await add("t_a", 5);
    assert.equal(await app.dispatcher.runOnce(), 1);
    assert.deepEqual(
      seen.map((ctx) => [ctx.intentId, ctx.machine, ctx.entityId, ctx.attempt]),
      [["tally/t_a/2/0", "tally", "t_a", 1]],
    );
    assert.equal((await outboxRow(store, "tally/t_a/2/0"))?.status, OutboxStatus.Done);
    assert.equal(await app.dispatcher.runOnce(), 0);
  });

  it("retries a failing handler after an exponential backoff, then succeeds", async () => {
    let calls = 0;
    const { app, add, store, clock } = setup({
      Noted: async () => {
        calls++;
        if (calls < 3) throw new Error(`provider down (${calls})`);
      },
    });
    await add("t_a", 5);
    await app.dispatcher.runOnce();
    let row = await outboxRow(store, "tally/t_a/2/0");
    assert.deepEqual([row?.status, row?.attempts, row?.lastError], ["pending", 1, "Error: provider down (1)"]);
    assert.equal(row?.nextAttemptAt, T0 + 1000);
    assert.equal(await app.dispatcher.runOnce(), 0, "not before its retry time");
    clock.t = T0 + 1000;
    await app.dispatcher.runOnce();
    row = await outboxRow(store, "tally/t_a/2/0");
    assert.deepEqual([row?.attempts, row?.nextAttemptAt], [2, T0 + 1000 + 2000], "the delay doubles");
    clock.t = T0 + 3000;
    await app.dispatcher.runOnce();
    row = await outboxRow(store, "tally/t_a/2/0");
    assert.deepEqual([row?.status, row?.attempts, calls], ["done", 3, 3]);
  });

  it("dead-letters an intent after maxAttempts with its last error, and runs it again on retry", async () => {
    let fail = true;
    const { app, add, store, clock } = setup(
      {
        Noted: async () => {
          if (fail) throw new TypeError("card network unreachable");
        },
      },
      { maxAttempts: 3 },
    );
    await add("t_a", 5);
    for (let i = 0; i < 3; i++) {
      await app.dispatcher.runOnce();
      clock.t += 60_000;
    }
    const [dead] = await app.deadLetters();
    assert.deepEqual(
      [dead?.intentId, dead?.status, dead?.attempts, dead?.lastError],
      ["tally/t_a/2/0", "dead", 3, "TypeError: card network unreachable"],
    );
    assert.equal(await app.dispatcher.runOnce(), 0, "a dead letter is not retried by itself");
    fail = false;
    assert.equal(await app.retryDeadLetter("tally/t_a/2/0"), true);
    assert.equal(await app.retryDeadLetter("tally/t_a/2/0"), false, "it is no longer dead");
    await app.dispatcher.runOnce();
    assert.equal((await outboxRow(store, "tally/t_a/2/0"))?.status, "done");
    assert.deepEqual(await app.deadLetters(), []);
  });

  it("dead-letters at once an intent whose handler says retrying cannot help", async () => {
    const { app, add } = setup({
      Noted: async () => {
        throw new PermanentEffectError("the provider refused for good");
      },
    });
    await add("t_a", 5);
    await app.dispatcher.runOnce();
    const [dead] = await app.deadLetters();
    assert.deepEqual([dead?.attempts, dead?.lastError], [1, "PermanentEffectError: the provider refused for good"]);
  });

  it("dead-letters at once an intent no handler serves, saying which", async () => {
    const { app, add } = setup({});
    await add("t_a", 5);
    await app.dispatcher.runOnce();
    const [dead] = await app.deadLetters();
    assert.equal(dead?.attempts, 1);
    assert.match(dead?.lastError ?? "", /no effect handler for tally intent Noted/);
  });

  it("counts a handler that throws something that is not an Error as a failed attempt", async () => {
    const { app, add, store } = setup({
      Noted: () => Promise.reject({ code: 42 }),
    });
    await add("t_a", 5);
    await app.dispatcher.runOnce();
    const row = await outboxRow(store, "tally/t_a/2/0");
    assert.deepEqual([row?.status, row?.lastError], ["pending", 'non-Error thrown: {"code":42}']);
  });

  it("counts a handler that hangs past its timeout as failed, and aborts its signal", async () => {
    let signal: AbortSignal | undefined;
    const { app, add, store } = setup(
      {
        Noted: (_intent, ctx) => {
          signal = ctx.signal;
          return new Promise(() => {});
        },
      },
      { timeoutMs: 20 },
    );
    await add("t_a", 5);
    await app.dispatcher.runOnce();
    const row = await outboxRow(store, "tally/t_a/2/0");
    assert.equal(row?.status, "pending");
    assert.match(row?.lastError ?? "", /EffectTimeoutError: the Noted handler did not finish within 20 ms/);
    assert.equal(signal?.aborted, true);
  });

  it("lets another dispatcher take over an intent whose lease expired", async () => {
    const done: string[] = [];
    const { app, add, store, clock } = setup({
      Noted: async (_intent, ctx) => {
        done.push(ctx.intentId);
      },
    });
    await add("t_a", 5);
    // A dispatcher in a process that then died: it holds the lease and never answers.
    const [claimed] = await store.claimOutbox({ owner: "crashed", now: clock.t, leaseMs: 30_000, limit: 10 });
    assert.equal(claimed?.intentId, "tally/t_a/2/0");
    assert.equal(await app.dispatcher.runOnce(), 0, "the lease still holds");
    clock.t += 30_000;
    assert.equal(await app.dispatcher.runOnce(), 1);
    assert.deepEqual(done, ["tally/t_a/2/0"]);
    const row = await outboxRow(store, "tally/t_a/2/0");
    assert.deepEqual([row?.status, row?.attempts], ["done", 2]);
    assert.equal(await store.completeOutbox("tally/t_a/2/0", "crashed", clock.t), false);
  });

  it("dead-letters an intent whose lease keeps expiring (a handler that kills its process)", async () => {
    const { app, add, store, clock } = setup({ Noted: async () => {} }, { maxAttempts: 2 });
    await add("t_a", 5);
    for (let i = 0; i < 2; i++) {
      await store.claimOutbox({ owner: `crashed-${i}`, now: clock.t, leaseMs: 1000, limit: 10 });
      clock.t += 1000;
    }
    await app.dispatcher.runOnce();
    const [dead] = await app.deadLetters();
    assert.match(dead?.lastError ?? "", /gave up after 2 attempts/);
  });

  it("applies follow-up events once, with ids derived from the intent id, even when the intent runs again", async () => {
    let runs = 0;
    const handlers: EffectHandlers<typeof tallyMachine> = {
      Noted: async (intent, ctx) => {
        // The follow-ups' own Noted intents (on t_sum) get no follow-ups of their own.
        if (ctx.entityId !== "t_a") return;
        runs++;
        return [
          followUp(tallyMachine, "t_sum", { type: "Add", n: intent.n }),
          followUp(tallyMachine, "t_sum", { type: "Add", n: 1 }),
        ];
      },
    };
    const { app, add, store, clock } = setup(handlers);
    await app.run({ machine: "tally", id: "t_sum" }, { type: "Open" });
    await add("t_a", 7);
    // A first dispatcher applies the follow-ups, then "dies" before it can mark the intent done.
    const crashing = withMethod(store, "completeOutbox", async () => {
      throw new Error("killed before completing");
    });
    const first = new Dispatcher({
      store: crashing,
      run: app.run.bind(app),
      effects: [defineEffects(tallyMachine, handlers)],
      clock,
      logger: silentLogger,
    });
    await first.runOnce();
    assert.equal((await outboxRow(store, "tally/t_a/2/0"))?.status, "pending");
    clock.t += 30_000;
    await app.dispatcher.runOnce();
    assert.equal(runs, 2, "the intent ran twice");
    assert.equal((await outboxRow(store, "tally/t_a/2/0"))?.status, "done");
    const sum = await store.getEntity({ machine: "tally", id: "t_sum" });
    assert.deepEqual(sum?.state, { open: true, total: 8, adds: 2 }, "its follow-ups were applied once");
    const history = await store.history({ machine: "tally", id: "t_sum" });
    assert.deepEqual(history.map((e) => e.eventId).slice(1), ["tally/t_a/2/0#0", "tally/t_a/2/0#1"]);
  });

  it("fails the attempt when a follow-up event is invalid", async () => {
    const { app, add, store } = setup({
      Noted: async () => [{ machine: "tally", id: "t_a", event: { type: "Add", n: -1 } }],
    });
    await add("t_a", 5);
    await app.dispatcher.runOnce();
    const row = await outboxRow(store, "tally/t_a/2/0");
    assert.equal(row?.status, "pending");
    assert.match(row?.lastError ?? "", /FollowUpError: follow-up #0 to tally\/t_a is invalid/);
  });

  it("runs one entity's intents in commit order, and different entities side by side", async () => {
    const log: string[] = [];
    const { app, add } = setup({
      Noted: async (intent, ctx) => {
        log.push(`start ${ctx.entityId}:${intent.n}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push(`end ${ctx.entityId}:${intent.n}`);
      },
    });
    await add("t_a", 1);
    await app.run({ machine: "tally", id: "t_a" }, { type: "Add", n: 2 });
    await add("t_b", 3);
    await app.dispatcher.runOnce();
    assert.deepEqual(log.slice(0, 2), ["start t_a:1", "start t_b:3"], "heads of two entities run concurrently");
    assert.ok(!log.includes("start t_a:2"), "t_a's second intent waits for its first");
    await app.dispatcher.runOnce();
    assert.deepEqual(log.slice(4), ["start t_a:2", "end t_a:2"]);
  });
});

/**
 * An app on `store` that polls only once an hour, so that only a wake-up can run an intent in
 * time; `done` resolves when a Noted intent has run.
 */
function pollingHourly(store: Store) {
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const app = new App({
    store,
    machines: [tallyMachine],
    effects: [defineEffects(tallyMachine, { Noted: async () => resolveDone() })],
    logger: silentLogger,
    dispatcher: { pollMs: 3_600_000 },
    scheduler: { pollMs: 3_600_000 },
  });
  return { app, done };
}

describe("App", () => {
  it("wakes the dispatcher right after a commit instead of waiting for the poll", async () => {
    const { app, done } = pollingHourly(new MemoryStore());
    await app.start();
    await app.run({ machine: "tally", id: "t_a" }, { type: "Open" });
    await app.run({ machine: "tally", id: "t_a" }, { type: "Add", n: 1 });
    await done;
    await app.stop();
  });

  it("listens to the store's notices of other processes' commits while started", async () => {
    let listener: (() => void) | undefined;
    let unwatched = false;
    const watching = withMethod(new MemoryStore(), "watch", (fn: () => void) => {
      listener = fn;
      return () => {
        unwatched = true;
      };
    });
    const { app, done } = pollingHourly(watching);
    await app.start();
    assert.ok(listener !== undefined, "the app watches the store");
    // Another process commits an intent straight into the store; only its notice can wake us.
    const elsewhere = new Runtime({ store: watching, machines: [tallyMachine] });
    await elsewhere.run({ machine: "tally", id: "t_a" }, { type: "Open" });
    await elsewhere.run({ machine: "tally", id: "t_a" }, { type: "Add", n: 1 });
    listener?.();
    await done;
    await app.stop();
    assert.equal(unwatched, true);
  });

  it("stops after the intents in flight are done", async () => {
    const store = new MemoryStore();
    let finished = false;
    const app = new App({
      store,
      machines: [tallyMachine],
      effects: [
        defineEffects(tallyMachine, {
          Noted: async () => {
            await new Promise((resolve) => setTimeout(resolve, 50));
            finished = true;
          },
        }),
      ],
      logger: silentLogger,
    });
    await app.start();
    await app.run({ machine: "tally", id: "t_a" }, { type: "Open" });
    await app.run({ machine: "tally", id: "t_a" }, { type: "Add", n: 1 });
    while (app.dispatcher.inFlight === 0 && !finished) await new Promise((resolve) => setTimeout(resolve, 1));
    await app.stop({ timeoutMs: 5000 });
    assert.equal(finished, true);
    assert.equal((await store.listOutbox())[0]?.status, "done");
  });

  it("aborts stragglers when stopping takes longer than its bound; they run again later", async () => {
    const store = new MemoryStore();
    const app = new App({
      store,
      machines: [tallyMachine],
      effects: [defineEffects(tallyMachine, { Noted: () => new Promise(() => {}) })],
      logger: silentLogger,
    });
    await app.start();
    await app.run({ machine: "tally", id: "t_a" }, { type: "Open" });
    await app.run({ machine: "tally", id: "t_a" }, { type: "Add", n: 1 });
    while (app.dispatcher.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    await app.stop({ timeoutMs: 20 });
    const [row] = await store.listOutbox();
    assert.equal(row?.status, "pending");
    assert.match(row?.lastError ?? "", /aborted: the dispatcher is stopping/);
  });

  it("warns at start about intents that no effect handler serves", async () => {
    const warnings: string[] = [];
    const app = new App({
      store: new MemoryStore(),
      machines: [tallyMachine],
      logger: { ...silentLogger, warn: (_fields, message) => warnings.push(message) },
    });
    assert.deepEqual(app.unservedIntents(), [{ machine: "tally", intents: ["Noted"] }]);
    await app.start();
    await app.stop();
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? "",
      /declares intents that no effect handler serves; they will be dead-lettered: Noted/,
    );
  });

  it("refuses effects for a machine it does not have", () => {
    assert.throws(
      () =>
        new App({
          store: new MemoryStore(),
          machines: [],
          effects: [defineEffects(tallyMachine, {})],
          logger: silentLogger,
        }),
      /effects are registered for machine "tally", which is not in this app/,
    );
  });
});
