import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { App } from "./app.js";
import { defineEffects } from "./effects.js";
import { ConfigurationError, LeaseLostError } from "./errors.js";
import { Heartbeat } from "./heartbeat.js";
import { checkInstanceName, LeaseIdentity } from "./lease-owner.js";
import { silentLogger } from "./logger.js";
import { MemoryStore } from "./memory-store.js";
import type { Store } from "./ports.js";
import { OutboxStatus } from "./ports.js";
import { tallyMachine } from "./testing/tally-machine.js";
import { DEFAULT_LEASE_MS } from "./work-loop.js";

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

/** Poll `check` every 5 ms until it holds; fail after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function tallyApp(
  store: Store,
  handler: (signal: AbortSignal) => Promise<void>,
  options: { instance?: string; leaseMs?: number } = {},
) {
  return new App({
    store,
    machines: [tallyMachine],
    effects: [defineEffects(tallyMachine, { Noted: async (_intent, ctx) => handler(ctx.signal) })],
    logger: silentLogger,
    ...(options.instance === undefined ? {} : { instance: options.instance }),
    dispatcher: { leaseMs: options.leaseMs ?? 60_000, pollMs: 10, timeoutMs: 20_000 },
    scheduler: { leaseMs: options.leaseMs ?? 60_000, pollMs: 10 },
  });
}

async function addNoted(app: App, id: string): Promise<string> {
  await app.run({ machine: "tally", id }, { type: "Open" }, { eventId: `open-${id}` });
  await app.run({ machine: "tally", id }, { type: "Add", n: 1 }, { eventId: `add-${id}` });
  return `tally/${id}/2/0`;
}

describe("leases", () => {
  it("default to 10 s, renewed every third of it while the work runs", () => {
    assert.equal(DEFAULT_LEASE_MS, 10_000);
  });

  it("keep a handler that runs longer than the lease on its row: no other dispatcher takes it", async () => {
    const store = new MemoryStore();
    let calls = 0;
    const app = tallyApp(
      store,
      async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 700));
      },
      { leaseMs: 150 },
    );
    const rival = tallyApp(store, async () => {
      calls++;
    });
    const intentId = await addNoted(app, "t_long");
    await app.start();
    await until(() => calls === 1);
    await rival.start();
    await until(async () => (await store.findOutbox(intentId))?.status === OutboxStatus.Done);
    await Promise.all([app.stop(), rival.stop()]);
    const row = await store.findOutbox(intentId);
    assert.deepEqual([calls, row?.attempts], [1, 1], "four leases long, run once");
  });

  it("stop an attempt whose lease was lost: its signal aborts, and nothing is recorded for it", async () => {
    const inner = new MemoryStore();
    let lose = false;
    const store = withMethod(inner, "renewOutboxLeases", async (owner, ids, until) =>
      lose ? [] : inner.renewOutboxLeases(owner, ids, until),
    );
    let reason: unknown;
    const app = tallyApp(
      store,
      (signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            reason = signal.reason;
            reject(signal.reason);
          });
        }),
      { leaseMs: 60 },
    );
    const intentId = await addNoted(app, "t_lost");
    const attempts: string[] = [];
    app.observe({ onAttempt: (report) => attempts.push(report.outcome) });
    await app.start();
    await until(async () => (await inner.findOutbox(intentId))?.attempts === 1);
    lose = true;
    await until(() => reason !== undefined);
    await until(() => attempts.length === 1);
    await app.stop();
    assert.ok(reason instanceof LeaseLostError, String(reason));
    const row = await inner.findOutbox(intentId);
    // Still leased to the app (it recorded nothing), not failed, not dead.
    assert.deepEqual(
      [row?.status, row?.attempts, row?.lastError, row?.leaseOwner],
      [OutboxStatus.Pending, 1, null, app.dispatcher.owner],
    );
  });

  it("are freed at start for the instance's earlier incarnation, so its intents run at once", async () => {
    const store = new MemoryStore();
    let ran = 0;
    const killed = tallyApp(store, async () => {}, { instance: "pay-1" });
    const intentId = await addNoted(killed, "t_a");
    const otherId = await addNoted(killed, "t_b");
    // The killed incarnation had claimed t_a (a minute's lease), another instance t_b.
    await store.claimOutbox({ owner: killed.dispatcher.owner, now: Date.now(), leaseMs: 60_000, limit: 1 });
    const other = LeaseIdentity.of("pay-10").owner("dispatcher");
    await store.claimOutbox({ owner: other, now: Date.now(), leaseMs: 60_000, limit: 1 });

    const restarted = tallyApp(
      store,
      async () => {
        ran++;
      },
      { instance: "pay-1" },
    );
    assert.notEqual(restarted.dispatcher.owner, killed.dispatcher.owner);
    await restarted.start();
    await until(async () => (await store.findOutbox(intentId))?.status === OutboxStatus.Done, 2_000);
    await restarted.stop();
    const row = await store.findOutbox(intentId);
    assert.deepEqual([row?.attempts, ran], [2, 1], "the killed attempt stays counted");
    assert.equal((await store.findOutbox(otherId))?.leaseOwner, other, "another instance's lease is left alone");
  });

  it("name owners <instance>#<incarnation>:<role> and refuse instance names with # or spaces", () => {
    const identity = LeaseIdentity.of("pay-eu-1");
    assert.match(identity.owner("dispatcher"), /^pay-eu-1#[0-9a-z]+:dispatcher$/);
    assert.deepEqual(identity.release, {
      ownerPrefix: "pay-eu-1#",
      keepPrefix: `pay-eu-1#${identity.incarnation}:`,
    });
    assert.notEqual(LeaseIdentity.of("pay-eu-1").incarnation, identity.incarnation);
    for (const bad of ["", "a#b", "a b", "é", "x".repeat(201)]) {
      assert.throws(() => checkInstanceName(bad), ConfigurationError, JSON.stringify(bad));
    }
    assert.throws(
      () =>
        new App({
          store: new MemoryStore(),
          machines: [tallyMachine],
          instance: "a",
          dispatcher: { owner: "me" },
        }),
      ConfigurationError,
    );
  });

  it("heartbeat: one renewal per round for every held lease, none once all are released", async () => {
    const rounds: string[][] = [];
    const beat = new Heartbeat({
      role: "test",
      everyMs: 1_000_000,
      renew: async (ids) => {
        rounds.push([...ids]);
        return ids.filter((id) => id !== "b");
      },
      onError: () => {},
    });
    const a = beat.hold("a");
    const b = beat.hold("b");
    await beat.beat();
    assert.deepEqual(rounds, [["a", "b"]]);
    assert.deepEqual([a.aborted, b.aborted], [false, true]);
    assert.ok(b.reason instanceof LeaseLostError);
    beat.release("a");
    beat.release("b");
    await beat.beat();
    assert.equal(rounds.length, 1);
    assert.equal(beat.size, 0);
  });

  it("heartbeat: a failed round aborts nothing (the store may be back for the next)", async () => {
    const errors: unknown[] = [];
    const beat = new Heartbeat({
      role: "test",
      everyMs: 1_000_000,
      renew: async () => {
        throw new Error("store down");
      },
      onError: (error) => errors.push(error),
    });
    const a = beat.hold("a");
    await beat.beat();
    assert.equal(a.aborted, false);
    assert.equal(errors.length, 1);
    beat.release("a");
  });
});
