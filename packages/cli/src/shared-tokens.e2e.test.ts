// Issue 21, part 4: tokens shared by every `drover serve` on one PostgreSQL database. Two real
// servers on one database: a token minted through one (or by `drover token create`) is accepted
// by both, a revoked one is refused by both within ~2 s, and a server that finds an old
// tokens.json in its data directory imports it once.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { TokenStore } from "@drover/http";
import { dropDatabase, skipUnlessPostgres, withDatabase } from "@drover/postgres/testing";
import { drover } from "./test-support/run-drover.js";
import { Served } from "./test-support/served.js";

const dir = mkdtempSync(join(tmpdir(), "drover-shared-tokens-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function status(served: Served, token: string): Promise<number> {
  const answer = await fetch(`${served.url}/v1/token`, { headers: { authorization: `Bearer ${token}` } });
  await answer.arrayBuffer();
  return answer.status;
}

/** Poll until every server answers `want` to `token`; how long it took, or a failure after `ms`. */
async function until(servers: readonly Served[], token: string, want: number, ms: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const got = await Promise.all(servers.map((served) => status(served, token)));
    if (got.every((code) => code === want)) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`after ${ms} ms the servers answer ${got.join(", ")}, not ${want}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("tokens shared by every drover serve on one PostgreSQL database", async () => {
  const skip = await skipUnlessPostgres();
  const database = `drover_tokens_${process.pid}_${randomBytes(4).toString("hex")}`;
  const url = withDatabase(database);
  after(async () => {
    if (skip === false) await dropDatabase(database);
  });

  it("accepts a token minted on either server or by the CLI on both, and refuses a revoked one on both within 2 s", {
    skip,
  }, async () => {
    // The first server's data directory holds a tokens.json from before: it is imported once.
    const oldData = join(dir, "a");
    const old = TokenStore.open(oldData).create({ scopes: ["read"], name: "from the file" });
    const a = await Served.start(["--db", url, "--data-dir", oldData]);
    const b = await Served.start(["--db", url, "--data-dir", join(dir, "b")]);
    try {
      // No admin token was generated: the imported one counts.
      assert.doesNotMatch(a.output() + b.output(), /admin token \(shown once/);
      assert.match(a.output(), /imported 1 of the 1 tokens of \S*tokens\.json into table \S*api_tokens on /);
      assert.equal(existsSync(join(oldData, "tokens.json")), false);
      assert.equal(existsSync(join(oldData, "tokens.json.imported")), true);
      await until([a, b], old.token, 200, 1_000);

      const created = drover(["token", "create", "--scopes", "admin", "--name", "ops", "--db", url, "--json"]);
      assert.equal(created.code, 0, created.stderr);
      const admin = JSON.parse(created.stdout) as { id: string; token: string };
      await until([a, b], admin.token, 200, 1_000);

      const listed = drover(["token", "list", "--db", url, "--json"]);
      assert.deepEqual(
        (JSON.parse(listed.stdout) as { tokens: { id: string; name: string }[] }).tokens.map((t) => t.name),
        ["from the file", "ops"],
      );
      const text = drover(["token", "list", "--db", url]);
      assert.match(text.stdout, /^tok_\S+ {2}read {2}\S+ {2}from the file\ntok_\S+ {2}admin {2}\S+ {2}ops\n$/);

      const revoked = drover(["token", "revoke", admin.id, "--db", url]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.equal(revoked.stdout, `token ${admin.id} revoked\n`);
      const took = await until([a, b], admin.token, 401, 2_500);
      assert.ok(took <= 2_500, `refused after ${took} ms`);
      assert.equal(drover(["token", "revoke", admin.id, "--db", url]).code, 1);

      // Restarting the first server imports nothing again: the revoked token stays revoked.
      assert.equal(await a.stop(), 0);
      const again = await Served.start(["--db", url, "--data-dir", oldData]);
      try {
        assert.doesNotMatch(again.output(), /imported/);
        assert.equal(await status(again, admin.token), 401);
        assert.equal(await status(again, old.token), 200);
      } finally {
        assert.equal(await again.stop(), 0);
      }
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it("generates one admin token on a fresh database, printed by the server that made it, and it works on both", {
    skip,
  }, async () => {
    const fresh = `${database}_b`;
    const freshUrl = withDatabase(fresh);
    try {
      const [a, b] = await Promise.all([
        Served.start(["--db", freshUrl, "--data-dir", join(dir, "c")]),
        Served.start(["--db", freshUrl, "--data-dir", join(dir, "d")]),
      ]);
      try {
        const printed = [a, b].flatMap((served) => {
          const match = /admin token \(shown once; stored hashed in table \S*api_tokens on [^)]*\): (drv_\S+)/.exec(
            served.output(),
          );
          return match?.[1] === undefined ? [] : [match[1]];
        });
        assert.equal(printed.length, 1, a.output() + b.output());
        await until([a, b], printed[0] ?? "", 200, 1_000);
        assert.equal(existsSync(join(dir, "c", "tokens.json")), false);
      } finally {
        await a.stop();
        await b.stop();
      }
    } finally {
      await dropDatabase(fresh);
    }
  });
});
