// Black-box tests of issue 20's contract for operators, on the payments server `npm start`
// runs (`drover serve` with the payments config), over real HTTP and the real CLI: a
// dead-lettered AuthorizeWithProvider brings the payment to `failed` with `IntentFailed` in
// its journal (DROVER_MAX_ATTEMPTS, DROVER_BACKOFF_MS), and `drover outbox pause|resume`
// against the database of the running server holds and releases an intent type.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { ServerProcess } from "./test-support/http-harness.js";
import { body, call, paymentId, startServer } from "./test-support/http-harness.js";
import { serverEnv } from "./test-support/server-env.js";

const run = promisify(execFile);
const DROVER = join(import.meta.dirname, "../../../packages/cli/bin/drover.js");
const servers: ServerProcess[] = [];

after(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

async function start(options: Parameters<typeof startServer>[0]): Promise<ServerProcess> {
  const server = await startServer(options);
  servers.push(server);
  return server;
}

async function request(server: ServerProcess, id: string) {
  const answer = await call(server.url, "POST", `/v1/payments/${id}/events`, {
    token: server.tokens.write,
    json: { type: "RequestPayment", amount: 125_000, currency: "EUR", customerId: "cus_42" },
  });
  assert.equal(answer.status, 200, answer.text);
}

async function statusOf(server: ServerProcess, id: string): Promise<string | undefined> {
  const answer = await call(server.url, "GET", `/v1/payments/${id}`, { token: server.tokens.read });
  return (body(answer).state as { status?: string } | undefined)?.status;
}

/** Poll until the payment has `status`, at most `ms` (the dispatcher's work is asynchronous). */
async function until(server: ServerProcess, id: string, status: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  let seen: string | undefined;
  while (Date.now() < deadline) {
    seen = await statusOf(server, id);
    if (seen === status) return;
    await sleep(50);
  }
  assert.fail(`payment ${id} is ${seen}, not ${status}, after ${ms} ms`);
}

/** `drover <args>` against the server's database, as an operator would run it beside it. */
async function drover(server: ServerProcess, args: readonly string[]) {
  const env = serverEnv({ DROVER_DB: `sqlite:${join(server.dataDir, "drover.db")}` });
  // The payments config (dist/config.js), so the CLI checks the type against its machines.
  const config = join(import.meta.dirname, "config.js");
  return run(process.execPath, [DROVER, "--config", config, ...args], { env });
}

describe("operating intents (issue 20)", () => {
  it("fails a payment whose authorization is dead-lettered, and its journal shows IntentFailed", async () => {
    const server = await start({ failureRate: 1, env: { DROVER_MAX_ATTEMPTS: "3", DROVER_BACKOFF_MS: "20" } });
    const id = paymentId();
    await request(server, id);
    await until(server, id, "failed");
    const payment = body(await call(server.url, "GET", `/v1/payments/${id}`, { token: server.tokens.read }));
    assert.equal((payment.state as { failureReason?: string }).failureReason, "provider_unavailable");
    const history = await call(server.url, "GET", `/v1/payments/${id}/history`, { token: server.tokens.read });
    const entries = (body(history).items ?? body(history).entries) as {
      event: { type: string } & Record<string, unknown>;
    }[];
    const failed = entries.find((entry) => entry.event.type === "IntentFailed");
    assert.ok(failed, history.text);
    assert.equal(failed.event.intentType, "AuthorizeWithProvider");
    assert.equal(failed.event.attempts, 3);
    const dead = await call(server.url, "GET", "/v1/outbox?status=dead", { token: server.tokens.admin });
    const rows = body(dead).items as { intentId: string; attempts: number }[];
    assert.ok(
      rows.some((row) => row.intentId === failed.event.intentId && row.attempts === 3),
      dead.text,
    );
    // A caller may not send IntentFailed: it is drover's.
    const forged = await call(server.url, "POST", `/v1/payments/${id}/events`, {
      token: server.tokens.write,
      json: failed.event,
    });
    assert.equal(forged.status, 400, forged.text);
  });

  it("holds a paused intent type without spending attempts, from another process, and resumes it", async () => {
    const server = await start({});
    const paused = await drover(server, ["outbox", "pause", "AuthorizeWithProvider"]);
    assert.match(paused.stdout, /AuthorizeWithProvider/);
    const id = paymentId();
    await request(server, id);
    // Well past the dispatcher's wake-up and a poll: still authorizing, its intent untouched.
    await sleep(1500);
    assert.equal(await statusOf(server, id), "authorizing");
    const outbox = await call(server.url, "GET", `/v1/payments/${id}/outbox`, { token: server.tokens.admin });
    const [row] = body(outbox).items as { status: string; attempts: number }[];
    assert.deepEqual([row?.status, row?.attempts], ["pending", 0], outbox.text);
    await drover(server, ["outbox", "resume", "AuthorizeWithProvider"]);
    await until(server, id, "authorized");
  });
});
