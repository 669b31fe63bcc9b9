import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { ConfigurationError } from "@drover/core";
import { ENV_ADMIN_PRINCIPAL, ensureAdminToken, grants, parseScopes, TOKENS_FILE, TokenStore } from "./tokens.js";
import { Scope } from "./wire.js";

let dataDir: string;
beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "drover-tokens-"));
});
afterEach(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const tokensFile = () => path.join(dataDir, TOKENS_FILE);
const modeOf = (file: string) => fs.statSync(file).mode & 0o777;
const envToken = "s3cret-admin-token-from-env";

/** Flips one character of the secret part, keeping the length and the alphabet. */
function nearMiss(token: string, at: number): string {
  const chars = [...token];
  chars[at] = chars[at] === "A" ? "B" : "A";
  return chars.join("");
}

describe("grants", () => {
  it("lets admin do everything, write do write and read, read only read", () => {
    const table: [Scope, Scope, boolean][] = [
      ["admin", "admin", true],
      ["admin", "write", true],
      ["admin", "read", true],
      ["write", "admin", false],
      ["write", "write", true],
      ["write", "read", true],
      ["read", "admin", false],
      ["read", "write", false],
      ["read", "read", true],
    ];
    for (const [held, needed, expected] of table) assert.equal(grants([held], needed), expected, `${held} → ${needed}`);
  });

  it("grants nothing to no scopes", () => {
    assert.equal(grants([], Scope.Read), false);
  });
});

describe("parseScopes", () => {
  it("parses a comma list and drops duplicates", () => {
    assert.deepEqual(parseScopes("read, write,read"), ["read", "write"]);
  });

  it("refuses an unknown scope, naming the valid ones", () => {
    assert.throws(
      () => parseScopes(["read", "owner"]),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        /unknown scope "owner", valid scopes are read, write, admin/.test(error.message),
    );
  });

  it("refuses an empty list", () => {
    assert.throws(() => parseScopes([]), /at least one scope/);
  });
});

describe("TokenStore", () => {
  it("creates the data directory if it is missing", () => {
    const nested = path.join(dataDir, "a", "b");
    const store = TokenStore.open(nested);
    assert.equal(store.size, 0);
    assert.ok(fs.statSync(nested).isDirectory());
  });

  it("mints drv_ tokens of 32 random bytes in base64url, and verifies them", () => {
    const store = TokenStore.open(dataDir);
    const created = store.create({ scopes: [Scope.Write], name: "ci" });
    assert.match(created.token, /^drv_[A-Za-z0-9_-]{43}$/);
    assert.match(created.id, /^tok_/);
    assert.equal(created.name, "ci");
    assert.deepEqual(created.scopes, ["write"]);
    assert.ok(!Number.isNaN(Date.parse(created.createdAt)));
    assert.deepEqual(store.verify(created.token), { id: created.id, scopes: ["write"], name: "ci" });
  });

  it("names a token null when no name is given", () => {
    const store = TokenStore.open(dataDir);
    assert.equal(store.create({ scopes: ["read"] }).name, null);
  });

  it("refuses to mint a token with an unknown scope", () => {
    const store = TokenStore.open(dataDir);
    assert.throws(() => store.create({ scopes: ["root"] }), /unknown scope "root"/);
    assert.equal(store.size, 0);
  });

  it("rejects tokens it never minted", () => {
    const store = TokenStore.open(dataDir);
    store.create({ scopes: ["read"] });
    assert.equal(store.verify(""), undefined);
    assert.equal(store.verify("drv_nope"), undefined);
    assert.equal(store.verify(`drv_${"A".repeat(43)}`), undefined);
  });

  it("verifies each of many tokens and rejects same-length near-misses of every one", () => {
    const store = TokenStore.open(dataDir);
    const created = Array.from({ length: 50 }, (_, i) =>
      store.create({ scopes: [i % 2 ? Scope.Read : Scope.Admin], name: `t${i}` }),
    );
    for (const { id, token, scopes } of created) {
      assert.deepEqual(store.verify(token)?.id, id);
      assert.deepEqual(store.verify(token)?.scopes, scopes);
      for (const at of [4, 20, token.length - 1]) {
        const miss = nearMiss(token, at);
        assert.equal(miss.length, token.length);
        assert.equal(store.verify(miss), undefined, `near-miss at ${at} of ${id}`);
      }
    }
  });

  it("stores only a sha-256 hash on disk, never the token", () => {
    const store = TokenStore.open(dataDir);
    const { token, id } = store.create({ scopes: ["admin"], name: "ops" });
    const text = fs.readFileSync(tokensFile(), "utf8");
    assert.ok(!text.includes(token), "token in clear on disk");
    assert.ok(!text.includes(token.slice(4)), "token body in clear on disk");
    const file = JSON.parse(text);
    assert.equal(file.version, 1);
    assert.equal(file.tokens[0].id, id);
    assert.match(file.tokens[0].hash, /^[0-9a-f]{64}$/);
  });

  it("lists tokens without secrets or hashes", () => {
    const store = TokenStore.open(dataDir);
    const a = store.create({ scopes: ["read"], name: "a" });
    const b = store.create({ scopes: ["write", "read"] });
    assert.deepEqual(store.list(), [
      { id: a.id, name: "a", scopes: ["read"], createdAt: a.createdAt },
      { id: b.id, name: null, scopes: ["write", "read"], createdAt: b.createdAt },
    ]);
  });

  it("writes the file with mode 0600, and keeps it 0600 after a rewrite", () => {
    const store = TokenStore.open(dataDir);
    const { id } = store.create({ scopes: ["read"] });
    assert.equal(modeOf(tokensFile()), 0o600);
    store.create({ scopes: ["write"] });
    assert.equal(modeOf(tokensFile()), 0o600);
    store.revoke(id);
    assert.equal(modeOf(tokensFile()), 0o600);
  });

  it("tightens an existing file to 0600 when opening it", () => {
    TokenStore.open(dataDir).create({ scopes: ["read"] });
    fs.chmodSync(tokensFile(), 0o644);
    TokenStore.open(dataDir);
    assert.equal(modeOf(tokensFile()), 0o600);
  });

  it("leaves no temporary files behind", () => {
    const store = TokenStore.open(dataDir);
    store.create({ scopes: ["read"] });
    store.create({ scopes: ["read"] });
    assert.deepEqual(fs.readdirSync(dataDir), [TOKENS_FILE]);
  });

  it("keeps tokens across a reopen", () => {
    const { token, id } = TokenStore.open(dataDir).create({ scopes: ["write"], name: "w" });
    const reopened = TokenStore.open(dataDir);
    assert.equal(reopened.size, 1);
    assert.deepEqual(reopened.verify(token), { id, scopes: ["write"], name: "w" });
  });

  it("revokes a token, for itself and after a reopen", () => {
    const store = TokenStore.open(dataDir);
    const keep = store.create({ scopes: ["read"] });
    const drop = store.create({ scopes: ["admin"] });
    assert.equal(store.revoke(drop.id), true);
    assert.equal(store.verify(drop.token), undefined);
    assert.ok(store.verify(keep.token));
    assert.equal(store.size, 1);
    const reopened = TokenStore.open(dataDir);
    assert.equal(reopened.verify(drop.token), undefined);
    assert.ok(reopened.verify(keep.token));
  });

  it("answers false when revoking an unknown id", () => {
    const store = TokenStore.open(dataDir);
    store.create({ scopes: ["read"] });
    assert.equal(store.revoke("tok_unknown000"), false);
    assert.equal(store.size, 1);
  });

  it("sees a token minted by another process sharing the file at once, and one revoked there within recheckMs", () => {
    let now = 0;
    const server = TokenStore.open(dataDir, { recheckMs: 250, now: () => now });
    const cli = TokenStore.open(dataDir);
    const early = cli.create({ scopes: ["read"] });
    assert.equal(server.verify(early.token)?.id, early.id);
    // Just read: a token minted since is still found (an unknown token looks again).
    const minted = cli.create({ scopes: ["read"] });
    assert.equal(server.verify(minted.token)?.id, minted.id);
    cli.revoke(minted.id);
    now = 249;
    assert.equal(server.verify(minted.token)?.id, minted.id, "trusted for recheckMs after the last look");
    now = 250;
    assert.equal(server.verify(minted.token), undefined);
    assert.equal(server.verify(early.token)?.id, early.id);
  });

  it("with recheckMs 0, refuses a token revoked by another process at its next use", () => {
    const server = TokenStore.open(dataDir, { recheckMs: 0 });
    const cli = TokenStore.open(dataDir);
    const minted = cli.create({ scopes: ["read"] });
    assert.equal(server.verify(minted.token)?.id, minted.id);
    cli.revoke(minted.id);
    assert.equal(server.verify(minted.token), undefined);
  });

  it("refuses a recheckMs that is not a number of milliseconds", () => {
    assert.throws(() => TokenStore.open(dataDir, { recheckMs: -1 }), /recheckMs must be/);
    assert.throws(() => TokenStore.open(dataDir, { recheckMs: Number.NaN }), /recheckMs must be/);
  });

  describe("refuses a malformed file, saying which file, what is wrong and what to do", () => {
    const cases: [string, string, RegExp][] = [
      ["not JSON", "{nope", /is not valid JSON/],
      ["wrong shape", JSON.stringify({ tokens: "x" }), /malformed: version: .*tokens: /],
      [
        "an unknown scope",
        JSON.stringify({
          version: 1,
          tokens: [
            {
              id: "tok_abcdefgh",
              name: null,
              scopes: ["owner"],
              hash: "0".repeat(64),
              createdAt: "2026-01-01T00:00:00Z",
            },
          ],
        }),
        /tokens\.0\.scopes\.0: unknown scope "owner", valid scopes are read, write, admin/,
      ],
      [
        "a hash that is no sha-256 hex",
        JSON.stringify({
          version: 1,
          tokens: [
            { id: "tok_abcdefgh", name: null, scopes: ["read"], hash: "drv_plain", createdAt: "2026-01-01T00:00:00Z" },
          ],
        }),
        /tokens\.0\.hash: must be a sha-256 hex digest/,
      ],
      [
        "a duplicate id",
        JSON.stringify({
          version: 1,
          tokens: [1, 2].map(() => ({
            id: "tok_abcdefgh",
            name: null,
            scopes: ["read"],
            hash: "0".repeat(64),
            createdAt: "2026-01-01T00:00:00Z",
          })),
        }),
        /has tok_abcdefgh twice/,
      ],
    ];
    for (const [what, content, expected] of cases) {
      it(`with ${what}`, () => {
        fs.writeFileSync(tokensFile(), content, { mode: 0o600 });
        assert.throws(
          () => TokenStore.open(dataDir),
          (error: unknown) => {
            assert.ok(error instanceof ConfigurationError, String(error));
            assert.match(error.message, expected);
            assert.ok(error.message.includes(tokensFile()), "names the file");
            assert.match(error.message, /fix it, or delete it/);
            return true;
          },
        );
      });
    }
  });

  it("fails closed when the file turns malformed while open", () => {
    const store = TokenStore.open(dataDir);
    const { token } = store.create({ scopes: ["admin"] });
    fs.writeFileSync(tokensFile(), "garbage");
    assert.throws(() => store.verify(token), ConfigurationError);
  });
});

describe("ensureAdminToken", async () => {
  it("generates an admin token on the first start, and only then", async () => {
    const store = TokenStore.open(dataDir);
    const first = await ensureAdminToken(store, {});
    assert.ok(first.generated);
    assert.match(first.generated, /^drv_/);
    assert.deepEqual(store.verify(first.generated), {
      id: store.list()[0]?.id,
      scopes: ["admin"],
      name: "admin (generated on first start)",
    });
    assert.deepEqual(await ensureAdminToken(store, {}), {});
    assert.deepEqual(await ensureAdminToken(TokenStore.open(dataDir), {}), {});
    assert.equal(store.size, 1);
  });

  it("generates nothing when other tokens exist", async () => {
    const store = TokenStore.open(dataDir);
    store.create({ scopes: ["read"] });
    assert.deepEqual(await ensureAdminToken(store, {}), {});
    assert.equal(store.size, 1);
  });

  it("accepts DROVER_ADMIN_TOKEN as admin without writing it anywhere, and generates nothing", async () => {
    const store = TokenStore.open(dataDir);
    assert.deepEqual(await ensureAdminToken(store, { envAdminToken: envToken }), {});
    assert.deepEqual(store.verify(envToken), ENV_ADMIN_PRINCIPAL);
    assert.equal(store.size, 0);
    assert.deepEqual(store.list(), []);
    assert.equal(fs.existsSync(tokensFile()), false);
    assert.equal(store.verify(nearMiss(envToken, 3)), undefined);
  });

  it("keeps DROVER_ADMIN_TOKEN out of the file when other tokens are written", async () => {
    const store = TokenStore.open(dataDir);
    await ensureAdminToken(store, { envAdminToken: envToken });
    const other = store.create({ scopes: ["read"] });
    const text = fs.readFileSync(tokensFile(), "utf8");
    assert.ok(!text.includes(envToken));
    assert.equal(JSON.parse(text).tokens.length, 1);
    assert.equal(store.verify(other.token)?.id, other.id);
    assert.equal(store.verify(envToken)?.id, ENV_ADMIN_PRINCIPAL.id);
    assert.equal(TokenStore.open(dataDir).verify(envToken), undefined);
  });

  it("refuses a DROVER_ADMIN_TOKEN shorter than 16 characters, saying what to do", async () => {
    const store = TokenStore.open(dataDir);
    for (const short of ["", "short", "x".repeat(15)]) {
      await assert.rejects(
        async () => ensureAdminToken(store, { envAdminToken: short }),
        (error: unknown) =>
          error instanceof ConfigurationError &&
          /DROVER_ADMIN_TOKEN must be at least 16 characters, got \d+; use a long random value/.test(error.message),
      );
    }
    assert.equal(store.verify("x".repeat(15)), undefined);
    assert.equal(store.size, 0);
  });

  it("refuses a DROVER_ADMIN_TOKEN that cannot be sent as a bearer token", async () => {
    const store = TokenStore.open(dataDir);
    await assert.rejects(
      async () => ensureAdminToken(store, { envAdminToken: "has a space in it, sadly" }),
      /may only contain/,
    );
  });
});
