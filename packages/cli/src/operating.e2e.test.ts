// The operator commands of issue 20 on a real SQLite file: `drover outbox pause|resume|paused`
// from another process against a running `drover serve` (the paused type's intents stay pending
// with their attempts unchanged, resume runs them), `drover timers` and `drover timers retry`,
// and serve's `--max-attempts` / `--backoff-ms`.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App, accept, defineMachine, schedule, scheduleSchema, silentLogger } from "@drover/core";
import { SqliteStore } from "@drover/sqlite";
import { z } from "zod";
import { assertOneLine, drover } from "./test-support/run-drover.js";
import { Served } from "./test-support/served.js";

const dir = mkdtempSync(join(tmpdir(), "drover-operating-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = "operating-admin-0123456789abcdef";

function paymentId(): string {
  return `pay_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`.padEnd(20, "x");
}

async function api(served: Served, method: string, path: string, body?: unknown) {
  const answer = await fetch(`${served.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: answer.status, json: (await answer.json()) as Record<string, unknown> };
}

async function statusOf(served: Served, id: string): Promise<string | undefined> {
  return ((await api(served, "GET", `/v1/payments/${id}`)).json.state as { status?: string } | undefined)?.status;
}

describe("drover outbox pause | resume | paused", () => {
  it("holds a paused intent type on a running server, attempts unchanged, and resume runs it", async () => {
    const db = `sqlite:${join(dir, "pause.db")}`;
    const served = await Served.start(["--db", db, "--data-dir", join(dir, "pause-data")], {
      env: { DROVER_ADMIN_TOKEN: TOKEN, PAYMENTS_PROVIDER_LATENCY_MS: "1" },
    });
    try {
      const paused = drover(["outbox", "pause", "AuthorizeWithProvider", "--db", db]);
      assert.equal(paused.code, 0, paused.stderr);
      assert.match(paused.stdout, /^paused AuthorizeWithProvider: its intents wait, keeping their attempts/);
      const twice = drover(["outbox", "pause", "AuthorizeWithProvider", "--db", db]);
      assert.equal(twice.code, 0, twice.stderr);
      assert.match(twice.stdout, /^AuthorizeWithProvider is already paused \(since \d{4}-\d\d-\d\dT/);
      const listed = drover(["outbox", "paused", "--db", db, "--json"]);
      assert.deepEqual(
        (JSON.parse(listed.stdout) as { items: { intentType: string }[] }).items.map((item) => item.intentType),
        ["AuthorizeWithProvider"],
      );

      const id = paymentId();
      const created = await api(served, "POST", `/v1/payments/${id}/events`, {
        type: "RequestPayment",
        amount: 1_000,
        currency: "EUR",
        customerId: "cus_42",
      });
      assert.equal(created.status, 200, JSON.stringify(created.json));
      // Past the dispatcher's wake-up and a poll: still waiting, its intent untouched.
      await sleep(1_500);
      assert.equal(await statusOf(served, id), "authorizing");
      const pending = drover(["outbox", "--db", db, "--json"]);
      const rows = (JSON.parse(pending.stdout) as { items: { intentId: string; status: string; attempts: number }[] })
        .items;
      const row = rows.find((candidate) => candidate.intentId === `payments/${id}/1/0`);
      assert.deepEqual([row?.status, row?.attempts], ["pending", 0], pending.stdout);
      const overHttp = await api(served, "GET", "/v1/intent-types/paused");
      assert.deepEqual(
        (overHttp.json.items as { intentType: string }[]).map((item) => item.intentType),
        ["AuthorizeWithProvider"],
      );

      const resumed = drover(["outbox", "resume", "AuthorizeWithProvider", "--db", db]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stdout, /^resumed AuthorizeWithProvider/);
      const deadline = Date.now() + 15_000;
      while ((await statusOf(served, id)) !== "authorized") {
        assert.ok(Date.now() < deadline, `payment ${id} is ${await statusOf(served, id)}`);
        await sleep(50);
      }
      const again = drover(["outbox", "resume", "AuthorizeWithProvider", "--db", db]);
      assert.deepEqual([again.code, again.stdout], [0, "AuthorizeWithProvider is not paused; nothing to resume\n"]);
      assert.equal(drover(["outbox", "paused", "--db", db]).stdout, "no paused intent types\n");
    } finally {
      assert.equal(await served.stop(), 0);
    }
  });

  it("refuses an intent type no machine declares (exit 2), naming the declared ones", () => {
    const db = `sqlite:${join(dir, "typo.db")}`;
    const typo = drover(["outbox", "pause", "AuthoriseWithProvider", "--db", db]);
    assert.equal(typo.code, 2);
    assertOneLine(typo, /intent type "AuthoriseWithProvider"; its intent types: .*AuthorizeWithProvider/);
    assert.equal(drover(["outbox", "resume", "Nope", "--db", db]).code, 2);
    assert.equal(drover(["outbox", "paused", "--db", db]).stdout, "no paused intent types\n");
  });
});

// A beacon schedules `Ping` under a key; the same machine after a deploy that dropped `Ping`
// finds the timer's event invalid, so the timer is dead at its first firing.
const BeaconId = z.string().regex(/^b_[a-z0-9]{1,24}$/);
const Ping = z.strictObject({ type: z.literal("Ping") });
const Start = z.strictObject({ type: z.literal("Start"), at: z.number().int() });
const BeaconRejection = { Never: "never" } as const;
function beacons(withPing: boolean) {
  return defineMachine({
    name: "beacons",
    id: BeaconId,
    state: z.strictObject({ pings: z.number().int() }),
    events: (withPing
      ? z.discriminatedUnion("type", [Start, Ping])
      : z.discriminatedUnion("type", [Start])) as z.ZodType<z.output<typeof Start> | z.output<typeof Ping>>,
    intents: scheduleSchema(Ping),
    rejections: z.enum(BeaconRejection),
    creates: ["Start"],
    create: (event) =>
      accept({ pings: 0 }, schedule(event.type === "Start" ? event.at : 0, { type: "Ping" as const }, { key: "ping" })),
    handle: (state) => accept({ pings: state.pings + 1 }),
  });
}

describe("drover timers", () => {
  it("lists timers with their key and status, and retries a dead one", async () => {
    const path = join(dir, "timers.db");
    const db = `sqlite:${path}`;
    const T0 = Date.parse("2026-06-01T08:00:00Z");
    const store = SqliteStore.open({ path });
    try {
      const setter = new App({ store, machines: [beacons(true)], logger: silentLogger, clock: { now: () => T0 } });
      await setter.run({ machine: "beacons", id: "b_one" }, { type: "Start", at: T0 + 1_000 });
      await setter.run({ machine: "beacons", id: "b_two" }, { type: "Start", at: T0 + 9_000_000 });
      const deployed = new App({
        store,
        machines: [beacons(false)],
        logger: silentLogger,
        clock: { now: () => T0 + 2_000 },
      });
      assert.equal(await deployed.scheduler.runOnce(), 1);
    } finally {
      await store.close();
    }

    const pending = drover(["timers", "--db", db]);
    assert.equal(pending.code, 0, pending.stderr);
    const lines = pending.stdout.trimEnd().split("\n");
    assert.equal(lines[0], "pending timers (1):");
    assert.match(
      lines[1] ?? "",
      /^ {2}beacons\/b_two\/1\/0 {2}beacons b_two {2}Ping {2}key ping {2}pending, 0 attempts, due /,
    );
    assert.equal(lines.at(-1), "1 dead timer: drover timers --status dead");

    const dead = drover(["timers", "--status", "dead", "--db", db, "--json"]);
    const [timer] = (JSON.parse(dead.stdout) as { items: { timerId: string; status: string; lastError: string }[] })
      .items;
    assert.deepEqual([timer?.timerId, timer?.status], ["beacons/b_one/1/0", "dead"]);
    assert.match(timer?.lastError ?? "", /invalid event/);
    assert.equal(drover(["timers", "--machine", "beacons", "--db", db]).code, 2, "--machine needs --id");
    assert.equal(drover(["timers", "--status", "asleep", "--db", db]).code, 2);

    const retried = drover(["timers", "retry", "beacons/b_one/1/0", "--db", db]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /^timer beacons\/b_one\/1\/0 is pending again, due now/);
    const twice = drover(["timers", "retry", "beacons/b_one/1/0", "--db", db]);
    assert.equal(twice.code, 1);
    assertOneLine(twice, /timer beacons\/b_one\/1\/0 is pending, not dead; only dead timers can be retried/);
    const unknown = drover(["timers", "retry", "beacons/b_none/1/0", "--db", db]);
    assert.equal(unknown.code, 1);
    assertOneLine(unknown, /no timer beacons\/b_none\/1\/0; list dead timers with drover timers --status dead/);
  });
});

describe("drover serve --max-attempts / --backoff-ms", () => {
  it("refuses a bad value in one line (exit 2), naming the flag or the variable", () => {
    const flag = drover(["serve", "--port", "0", "--max-attempts", "0", "--data-dir", join(dir, "bad")]);
    assert.equal(flag.code, 2);
    assertOneLine(flag, /--max-attempts must be a whole number of attempts 1–1000, got 0$/);
    const env = drover(["serve", "--port", "0", "--data-dir", join(dir, "bad")], {
      env: { DROVER_BACKOFF_MS: "soon" },
    });
    assert.equal(env.code, 2);
    assertOneLine(env, /DROVER_BACKOFF_MS must be a whole number of milliseconds 1–3600000, got soon$/);
  });
});

describe("drover serve --lease-ms / --instance", () => {
  it("refuses a bad value in one line (exit 2), naming the flag or the variable", () => {
    const flag = drover(["serve", "--port", "0", "--lease-ms", "100", "--data-dir", join(dir, "bad")]);
    assert.equal(flag.code, 2);
    assertOneLine(flag, /--lease-ms must be a whole number of milliseconds 1000–3600000, got 100$/);
    const env = drover(["serve", "--port", "0", "--data-dir", join(dir, "bad")], {
      env: { DROVER_INSTANCE: "eu#1" },
    });
    assert.equal(env.code, 2);
    assertOneLine(
      env,
      /DROVER_INSTANCE: an instance name must be 1–200 printable ASCII characters without spaces or "#", got "eu#1"$/,
    );
  });
});
