// Slow and idle clients (issue 21.2): a client that sends its headers or its body a little at
// a time gets 408 and is closed within its timeout, one that sends nothing or idles after a
// request is closed too, and meanwhile ordinary requests are answered. Beyond the connection
// cap, new connections are closed at once. Short timeouts (0.5–1.5 s) keep the test quick;
// every client stops writing by itself after a bounded number of lines.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MemoryStore } from "@drover/core";
import type { FastifyInstance } from "fastify";
import type { ConnectionLimits } from "./connection-limits.js";
import { buildServer } from "./server.js";
import { closedLedgerApp } from "./test-support/closed-ledger.js";
import { TokenStore } from "./tokens.js";

const root = mkdtempSync(join(tmpdir(), "drover-http-slow-"));
after(() => rmSync(root, { recursive: true, force: true }));

const LIMITS = { requestTimeoutMs: 1_500, headersTimeoutMs: 1_000, keepAliveTimeoutMs: 500 } as const;
/** What Node's check interval (a quarter of the headers timeout here) and a loaded machine may add. */
const SLACK_MS = 1_500;

interface Held {
  /** Resolves when the server closed the connection: the status it answered (if any) and when. */
  readonly closed: Promise<{ readonly status: number | undefined; readonly afterMs: number }>;
  readonly isOpen: () => boolean;
  readonly destroy: () => void;
}

/** A raw connection that writes `first`, then `drip` every `everyMs` (at most `drips` times) until closed. */
function hold(port: number, first: string, drip: string, options: { everyMs: number; drips: number }): Held {
  const socket = connect({ port, host: "127.0.0.1" });
  const started = performance.now();
  let received = "";
  let open = true;
  let drips = 0;
  socket.on("connect", () => {
    if (first !== "") socket.write(first);
  });
  const timer = setInterval(() => {
    if (!open || drips >= options.drips || drip === "") return;
    drips += 1;
    socket.write(drip);
  }, options.everyMs);
  socket.on("data", (chunk) => {
    received += chunk.toString("latin1");
  });
  const closed = new Promise<{ status: number | undefined; afterMs: number }>((resolve) => {
    socket.on("error", () => undefined);
    socket.on("close", () => {
      open = false;
      clearInterval(timer);
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(received)?.[1];
      resolve({ status: status === undefined ? undefined : Number(status), afterMs: performance.now() - started });
    });
  });
  return { closed, isOpen: () => open, destroy: () => socket.destroy() };
}

async function listening(limits: ConnectionLimits): Promise<{ server: FastifyInstance; port: number; token: string }> {
  const tokens = TokenStore.open(mkdtempSync(join(root, "t-")));
  const token = tokens.create({ scopes: ["read", "write"] }).token;
  const server = await buildServer({ app: closedLedgerApp(new MemoryStore()), tokens, connections: limits });
  await server.listen({ host: "127.0.0.1", port: 0 });
  return { server, port: (server.server.address() as AddressInfo).port, token };
}

describe("slow and idle clients", () => {
  it("answers 408 to slow headers and bodies and closes them in time, serving ordinary requests meanwhile", async () => {
    const { server, port, token } = await listening({ ...LIMITS, maxConnections: 100 });
    const drip = { everyMs: 200, drips: 50 };
    const slowHeaders = Array.from({ length: 20 }, () =>
      hold(port, "GET /healthz HTTP/1.1\r\nHost: drover\r\n", "X-Slow: 1\r\n", drip),
    );
    const slowBodies = Array.from({ length: 20 }, (_, i) =>
      hold(
        port,
        `POST /v1/tally/t_slow${i}/events HTTP/1.1\r\nHost: drover\r\nAuthorization: Bearer ${token}\r\n` +
          "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
        " ",
        drip,
      ),
    );
    const silent = Array.from({ length: 5 }, () => hold(port, "", "", drip));
    const all = [...slowHeaders, ...slowBodies, ...silent];
    try {
      // Ordinary requests, while every slow client is held.
      for (let i = 0; i < 20; i += 1) {
        const response = await fetch(`http://127.0.0.1:${port}/v1/tally/t_ok${i}/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ type: "Open" }),
        });
        assert.equal(response.status, 200, await response.text());
      }
      assert.equal(all.filter((client) => client.isOpen()).length, all.length, "answered while all were held");

      for (const { closed } of slowHeaders) {
        const { status, afterMs } = await closed;
        assert.equal(status, 408);
        assert.ok(afterMs < LIMITS.headersTimeoutMs + SLACK_MS, `slow headers cut after ${afterMs} ms`);
      }
      for (const { closed } of slowBodies) {
        const { status, afterMs } = await closed;
        assert.equal(status, 408);
        assert.ok(afterMs < LIMITS.requestTimeoutMs + SLACK_MS, `slow body cut after ${afterMs} ms`);
      }
      for (const { closed } of silent) {
        const { afterMs } = await closed;
        assert.ok(afterMs < LIMITS.headersTimeoutMs + SLACK_MS, `silent connection cut after ${afterMs} ms`);
      }
    } finally {
      for (const client of all) client.destroy();
      await server.close();
    }
  });

  it("closes an idle keep-alive connection after its timeout", async () => {
    const { server, port } = await listening({ ...LIMITS });
    try {
      const client = hold(port, "GET /healthz HTTP/1.1\r\nHost: drover\r\n\r\n", "", { everyMs: 100, drips: 0 });
      const { status, afterMs } = await client.closed;
      assert.equal(status, 200);
      assert.ok(afterMs < LIMITS.keepAliveTimeoutMs + SLACK_MS, `idle keep-alive cut after ${afterMs} ms`);
    } finally {
      await server.close();
    }
  });

  it("closes connections beyond the cap as they arrive, and takes new ones once there is room", async () => {
    const { server, port } = await listening({ ...LIMITS, maxConnections: 5 });
    const drip = { everyMs: 200, drips: 50 };
    const held = Array.from({ length: 5 }, () => hold(port, "GET /healthz HTTP/1.1\r\n", "X-Slow: 1\r\n", drip));
    try {
      // Let the five be accepted before the sixth arrives.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const refused = hold(port, "GET /healthz HTTP/1.1\r\nHost: drover\r\n\r\n", "", { everyMs: 100, drips: 0 });
      const outcome = await refused.closed;
      assert.equal(outcome.status, undefined, "no answer beyond the cap");
      assert.ok(
        held.every((client) => client.isOpen()),
        "the held ones were still open when the sixth was closed",
      );
      for (const { closed } of held) assert.equal((await closed).status, 408);
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(response.status, 200);
    } finally {
      for (const client of held) client.destroy();
      await server.close();
    }
  });
});
