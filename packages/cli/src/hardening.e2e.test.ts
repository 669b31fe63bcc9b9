// `drover serve` hardened for operators (issue 21), black-box: /readyz answers without a
// token, the slow-client flags reach the server (a client dripping header lines gets 408 in
// time), a bad value is a usage error, and no token sent in a URL or header reaches the log.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { assertOneLine, drover } from "./test-support/run-drover.js";
import { Served } from "./test-support/served.js";

const dir = mkdtempSync(join(tmpdir(), "drover-hardening-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = "drv_hardening_admin_0123456789abcdef";

/** A connection that sends a request line, then a header line every 200 ms; resolves with the answer once closed. */
function dripHeaders(url: string): Promise<{ status: string | undefined; afterMs: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write("GET /readyz HTTP/1.1\r\n"));
    let received = "";
    let lines = 0;
    const timer = setInterval(() => {
      if (lines++ < 50) socket.write("X-Slow: 1\r\n");
    }, 200);
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ status: /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1], afterMs: performance.now() - started });
    });
  });
}

describe("drover serve, hardened", () => {
  it("answers /readyz, cuts slow clients with 408 and logs no token", async () => {
    const served = await Served.start(
      ["--data-dir", join(dir, "data"), "--headers-timeout-ms", "1000", "--request-timeout-ms", "2000"],
      { env: { DROVER_ADMIN_TOKEN: TOKEN, DROVER_LOG_LEVEL: "debug", DROVER_LOG_FORMAT: "json" } },
    );
    try {
      const ready = await fetch(`${served.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { status: string }).status, "ready");

      const slow = await dripHeaders(served.url);
      assert.equal(slow.status, "408");
      assert.ok(slow.afterMs < 3_000, `cut after ${slow.afterMs} ms`);

      assert.equal((await fetch(`${served.url}/v1/payments?access_token=${TOKEN}`)).status, 401);
      assert.equal(
        (await fetch(`${served.url}/v1/payments?limit=1`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
        200,
      );
      assert.equal((await fetch(`${served.url}/v1/payments`, { headers: { authorization: TOKEN } })).status, 401);
    } finally {
      assert.equal(await served.stop(), 0);
    }
    const log = served.output();
    assert.match(log, /access_token=\[redacted\]/);
    assert.equal(log.includes(TOKEN), false, "the admin token is in the log");
  });

  it("refuses a headers timeout longer than the request timeout (exit 2)", () => {
    const refused = drover(["serve", "--port", "0", "--data-dir", join(dir, "bad")], {
      env: { DROVER_HEADERS_TIMEOUT_MS: "20000", DROVER_REQUEST_TIMEOUT_MS: "5000" },
    });
    assert.equal(refused.code, 2);
    assertOneLine(refused, /must not be longer than the request timeout \(5000\), got 20000$/);
    const bad = drover(["serve", "--port", "0", "--max-connections", "many", "--data-dir", join(dir, "bad")]);
    assert.equal(bad.code, 2);
    assertOneLine(bad, /--max-connections must be a whole number of connections 1–1000000, got many$/);
  });
});
