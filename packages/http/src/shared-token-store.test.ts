import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { StoredToken, TokenSnapshot, TokenVault } from "@drover/core";
import { StoreUnavailableError } from "@drover/core";
import { MemoryTokenVault } from "@drover/core/testing";
import { ENV_ADMIN_PRINCIPAL, ensureAdminToken, importTokenFile, SharedTokenStore, TokenStore } from "./tokens.js";

/** A vault that fails while `down` is set, as a database that went away. */
class FlakyVault implements TokenVault {
  readonly where = "flaky";
  down = false;
  constructor(readonly inner = new MemoryTokenVault()) {}
  #up(): void {
    if (this.down) throw new StoreUnavailableError("the database is down");
  }
  async addToken(token: StoredToken, options?: { ifNone?: boolean }): Promise<boolean> {
    this.#up();
    return this.inner.addToken(token, options);
  }
  async importTokens(tokens: readonly StoredToken[]): Promise<number> {
    this.#up();
    return this.inner.importTokens(tokens);
  }
  async revokeToken(id: string, now: number): Promise<boolean> {
    this.#up();
    return this.inner.revokeToken(id, now);
  }
  async tokensVersion(): Promise<number> {
    this.#up();
    return this.inner.tokensVersion();
  }
  async loadTokens(): Promise<TokenSnapshot> {
    this.#up();
    return this.inner.loadTokens();
  }
}

const envToken = "s3cret-admin-token-from-env";
let open: SharedTokenStore[] = [];
const shared = async (vault: TokenVault, options: Parameters<typeof SharedTokenStore.open>[1] = {}) => {
  const store = await SharedTokenStore.open(vault, { refreshMs: 0, minGapMs: 0, ...options });
  open.push(store);
  return store;
};
afterEach(() => {
  for (const store of open) store.close();
  open = [];
});

describe("SharedTokenStore", () => {
  it("accepts in one process a token minted in another at once, with its scopes and name", async () => {
    const vault = new MemoryTokenVault();
    const [a, b] = [await shared(vault), await shared(vault)];
    const created = await a.create({ scopes: ["read", "write"], name: "ci" });
    assert.match(created.token, /^drv_/);
    assert.deepEqual(await b.verify(created.token), { id: created.id, scopes: ["read", "write"], name: "ci" });
    assert.deepEqual(await b.list(), [
      { id: created.id, name: "ci", scopes: ["read", "write"], createdAt: created.createdAt },
    ]);
    const stored = (await vault.loadTokens()).tokens[0];
    assert.ok(stored !== undefined && !JSON.stringify(stored).includes(created.token), "only the digest is kept");
  });

  it("answers a known token from memory, and refuses one revoked elsewhere once its view is older than maxAgeMs", async () => {
    const vault = new MemoryTokenVault();
    let now = 0;
    const server = await shared(vault, { maxAgeMs: 2_000, now: () => now });
    const cli = await shared(vault);
    const { token, id } = await cli.create({ scopes: ["admin"] });
    assert.equal((await server.verify(token))?.id, id);
    const reads = vault.reads;
    now = 1_000;
    assert.equal((server.verify(token) as { id: string }).id, id, "answered synchronously");
    assert.equal(vault.reads, reads);
    assert.equal(await cli.revoke(id), true);
    assert.equal(await cli.revoke(id), false);
    now = 2_500;
    assert.equal(await server.verify(token), undefined);
  });

  it("polls the vault's version every refreshMs, so a revoked token is refused without any request", async () => {
    const vault = new MemoryTokenVault();
    const server = await shared(vault, { refreshMs: 20 });
    const { token, id } = await server.create({ scopes: ["read"] });
    await (await shared(vault)).revoke(id);
    const deadline = Date.now() + 2_000;
    while (server.verify(token) !== undefined && !(server.verify(token) instanceof Promise)) {
      assert.ok(Date.now() < deadline, "still accepted after 2 s");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(await server.verify(token), undefined);
  });

  it("reads the vault at most once per minGapMs for a flood of unknown tokens", async () => {
    const vault = new MemoryTokenVault();
    const server = await shared(vault, { minGapMs: 50 });
    const before = vault.reads;
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => server.verify(`drv_nope${i}`)));
    assert.ok(answers.every((answer) => answer === undefined));
    assert.ok(vault.reads - before <= 2, `${vault.reads - before} reads`);
  });

  it("answers with the vault's error when its view is too old and the vault is down, never from the old view", async () => {
    const vault = new FlakyVault();
    let now = 0;
    const server = await shared(vault, { maxAgeMs: 2_000, now: () => now });
    const { token } = await server.create({ scopes: ["read"] });
    vault.down = true;
    now = 1_000;
    assert.equal((server.verify(token) as { scopes: readonly string[] }).scopes[0], "read");
    now = 3_000;
    await assert.rejects(async () => server.verify(token), StoreUnavailableError);
    vault.down = false;
    assert.equal((await server.verify(token))?.scopes[0], "read");
  });

  it("keeps DROVER_ADMIN_TOKEN out of the vault, and makes the first admin token once for every process", async () => {
    const vault = new MemoryTokenVault();
    const [a, b] = [await shared(vault), await shared(vault)];
    assert.deepEqual(await ensureAdminToken(a, { envAdminToken: envToken }), {});
    assert.deepEqual(await a.verify(envToken), ENV_ADMIN_PRINCIPAL);
    assert.deepEqual((await vault.loadTokens()).tokens, []);
    const raced = await Promise.all([ensureAdminToken(b, {}), ensureAdminToken(b, {})]);
    const generated = raced.flatMap((r) => (r.generated === undefined ? [] : [r.generated]));
    assert.equal(generated.length, 1);
    assert.deepEqual((await a.verify(generated[0] ?? ""))?.scopes, ["admin"]);
    assert.deepEqual(await ensureAdminToken(a, {}), {});
  });

  it("ignores scopes it does not know (written by a newer drover): such a token grants only those it knows", async () => {
    const vault = new MemoryTokenVault();
    const server = await shared(vault);
    const { token } = await server.create({ scopes: ["read"] });
    const stored = (await vault.loadTokens()).tokens[0] as StoredToken;
    const other = { ...stored, id: "tok_other0000", digest: "f".repeat(64), scopes: ["read", "superuser"] };
    await vault.addToken(other);
    assert.deepEqual(
      (await server.list()).map((t) => t.scopes),
      [["read"], ["read"]],
    );
    assert.ok(await server.verify(token));
  });
});

describe("importTokenFile", () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "drover-import-"));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("moves a host's file tokens into the vault once: they keep working, the file is renamed, a revoked one stays revoked", async () => {
    const file = TokenStore.open(dataDir);
    const kept = file.create({ scopes: ["write"], name: "old" });
    const revokedLater = file.create({ scopes: ["read"] });
    const copy = fs.readFileSync(path.join(dataDir, "tokens.json"));
    const vault = new MemoryTokenVault();
    assert.equal(await importTokenFile(fs.mkdtempSync(path.join(dataDir, "empty-")), vault), undefined);

    const report = await importTokenFile(dataDir, vault);
    assert.deepEqual(report, {
      file: path.join(dataDir, "tokens.json"),
      found: 2,
      imported: 2,
      renamedTo: path.join(dataDir, "tokens.json.imported"),
    });
    assert.equal(fs.existsSync(path.join(dataDir, "tokens.json")), false);
    const server = await shared(vault);
    assert.deepEqual(await server.verify(kept.token), { id: kept.id, scopes: ["write"], name: "old" });
    assert.deepEqual(
      (await server.list()).map((t) => [t.id, t.createdAt]),
      [
        [kept.id, kept.createdAt],
        [revokedLater.id, revokedLater.createdAt],
      ],
    );
    assert.equal(await server.revoke(revokedLater.id), true);

    // The same file again (copied back, or a crash before the rename): nothing comes back.
    fs.writeFileSync(path.join(dataDir, "tokens.json"), copy);
    const again = await importTokenFile(dataDir, vault);
    assert.equal(again?.imported, 0);
    assert.match(again?.renamedTo ?? "", /tokens\.json\.imported-\d+$/);
    assert.equal(await server.verify(revokedLater.token), undefined);
  });
});
