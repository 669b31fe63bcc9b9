// The HTTP baseline of issue 16, run as a child process by `http.ts`: a bare Fastify route
// that makes the raw contestant's durable step (drover's schema, WAL, synchronous=FULL) in
// one transaction per request — what a service without drover would write by hand.
// argv: <database file>. Prints `{"url": …}` on stdout once it listens.
import { randomUUID } from "node:crypto";
import { SqliteSynchronous } from "@drover/sqlite";
import Fastify from "fastify";
import { rawStep } from "./contestants/raw.js";
import { openWal } from "./database.js";
import type { PaymentEvent } from "./payment-machine.js";

const [path] = process.argv.slice(2);
if (path === undefined) throw new Error("usage: http-baseline <database file>");
const db = openWal(path, SqliteSynchronous.Full);
const step = db.transaction(rawStep(db)).immediate;
const app = Fastify({ logger: false });
let seq = 0;
app.post<{ Params: { id: string }; Body: PaymentEvent }>("/v1/payments/:id/events", async (request, reply) => {
  const eventId = (request.headers["idempotency-key"] as string | undefined) ?? randomUUID();
  step({ seq: seq++, entity: request.params.id, eventId, at: Date.now(), event: request.body });
  return reply.code(200).send({ kind: "processed", id: request.params.id, eventId });
});
const url = await app.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(`${JSON.stringify({ url })}\n`);
const stop = () => {
  void app.close().finally(() => {
    db.close();
    process.exit(0);
  });
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
