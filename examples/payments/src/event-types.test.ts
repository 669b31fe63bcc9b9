// A caller who sends an event type the machine does not know is told the types a caller may
// send — not drover's own (provider answers, the expiry timer), which it must not send.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { App, MemoryStore, silentLogger } from "@drover/core";
import { buildServer, TokenStore } from "@drover/http";
import { payments } from "./payments.js";

const dir = mkdtempSync(join(tmpdir(), "drover-event-types-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("an unknown event type over HTTP", () => {
  it("is a 400 naming only the types callers may send", async () => {
    const app = new App({ store: new MemoryStore(), machines: [payments], logger: silentLogger });
    const tokens = TokenStore.open(dir);
    const token = tokens.create({ scopes: ["write"] }).token;
    const server = await buildServer({ app, tokens });
    const send = (body: unknown) =>
      server.inject({
        method: "POST",
        url: "/v1/payments/pay_0123456789abcdef/events",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        payload: JSON.stringify(body),
      });
    for (const body of [{ type: "Fly" }, {}]) {
      const answer = await send(body);
      assert.equal(answer.statusCode, 400);
      const problem = answer.json() as { detail: string; reason: string };
      assert.equal(problem.reason, "invalid_event");
      assert.match(
        problem.detail,
        /callers may send: RequestPayment, VerifyPayment, CapturePayment, RefundPayment, CancelPayment$/,
      );
      assert.doesNotMatch(problem.detail, /ProviderAuthorized|AuthorizationExpired/);
    }
    await server.close();
  });
});
