// Black-box tests of the `drover` command: the built bin run as a child process, in temporary
// directories with SQLite files (and once against PostgreSQL), checking output and exit codes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { AnyMachine } from "@drover/core";
import { exploreMachine } from "@drover/core/graph";
import { TokenStore } from "@drover/http";
import { dropDatabase, skipUnlessPostgres, withDatabase } from "@drover/postgres/testing";
import { SqliteStore } from "@drover/sqlite";
import { runCli } from "./cli.js";
import { captureIo } from "./test-support/capture.js";
import { assertOneLine, BIN, drover, PACKAGE, ROOT } from "./test-support/run-drover.js";

const ROOT_CONFIG = join(ROOT, "drover.config.ts");
const CHANGED_RULE = join(PACKAGE, "test-support", "fixtures", "changed-rule");

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "drover-cli-"));
  dirs.push(dir);
  return dir;
}

const newId = () => `pay_${randomBytes(12).toString("hex")}`;
const REQUEST = JSON.stringify({ type: "RequestPayment", amount: 125_000, currency: "EUR", customerId: "cus_42" });

describe("drover --help", () => {
  it("shows help with exit 0 for the program and every command", () => {
    const top = drover(["--help"]);
    assert.equal(top.code, 0);
    for (const command of [
      "serve",
      "send",
      "inspect",
      "history",
      "outbox",
      "replay",
      "upgrade",
      "diagram",
      "migrate",
      "token",
      "check",
    ]) {
      assert.match(top.stdout, new RegExp(`\\n  ${command}\\b`));
    }
    assert.match(top.stdout, /Exit codes: 0 ok, 1 rejected or not found, 2 usage or invalid input, 3 infrastructure/);
    for (const command of [
      ["serve"],
      ["send"],
      ["inspect"],
      ["history"],
      ["outbox"],
      ["replay"],
      ["upgrade"],
      ["diagram"],
      ["migrate"],
      ["token", "create"],
    ]) {
      const help = drover([...command, "--help"]);
      assert.equal(help.code, 0, command.join(" "));
      assert.match(help.stdout, new RegExp(`^Usage: drover ${command.join(" ")}`));
    }
  });

  it("answers an unknown command or a missing argument with exit 2 and one line", () => {
    const unknown = drover(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assertOneLine(unknown, /unknown command 'frobnicate'/);
    const missing = drover(["send", "payments"]);
    assert.equal(missing.code, 2);
    assertOneLine(missing, /missing required argument 'id'/);
  });
});

describe("drover check", () => {
  const FIXTURES = join(ROOT, "packages", "check", "fixtures");

  it("reports each seeded violation with file and line (exit 1), nothing on clean code (exit 0)", () => {
    const dirty = drover(["check", "--project", join(FIXTURES, "violations", "tsconfig.json")]);
    assert.equal(dirty.code, 1, dirty.stderr);
    for (const rule of ["impure-machine", "domain-branching", "bare-enum-literal", "bare-primitive"]) {
      assert.match(
        dirty.stdout,
        new RegExp(`^packages/check/fixtures/violations/src/\\S+\\.ts:\\d+:\\d+  ${rule}  `, "m"),
      );
    }
    const json = drover(["check", "--json", "--project", join(FIXTURES, "violations", "tsconfig.json")]);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { findings: { rule: string; line: number }[] };
    assert.ok(report.findings.length > 0 && report.findings.every((finding) => finding.line > 0));
    const clean = drover(["check", "--project", join(FIXTURES, "clean", "tsconfig.json")]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /^no findings in \d+ files/);
  });

  it("exits 2 for an unknown option or rule, with drover-check's usage", () => {
    const bogus = drover(["check", "--bogus"]);
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /Unknown option '--bogus'/);
    const rule = drover(["check", "--rule", "nope", "--project", join(FIXTURES, "clean", "tsconfig.json")]);
    assert.equal(rule.code, 2);
    assert.match(rule.stderr, /unknown rule nope/);
  });
});

describe("drover send, inspect, history", () => {
  const dir = tempDir();
  const db = `sqlite:${join(dir, "drover.db")}`;
  const id = newId();

  it("creates a payment (exit 0) and prints the result, as text and as JSON (event from stdin with -)", () => {
    const text = drover(["send", "payments", id, REQUEST, "--db", db]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`processed: payments ${id} is at version 1 \\(authorizing\\)`));
    assert.match(text.stdout, /AuthorizeWithProvider/);
    const json = drover(["send", "payments", newId(), "-", "--db", db, "--json"], { input: REQUEST });
    assert.equal(json.code, 0);
    const result = JSON.parse(json.stdout);
    assert.equal(result.kind, "processed");
    assert.equal(result.state.status, "authorizing");
  });

  it("exits 1 for a rejection and for an entity that does not exist", () => {
    const rejected = drover(["send", "payments", id, '{"type":"CapturePayment","amount":5000}', "--db", db, "--json"]);
    assert.equal(rejected.code, 1);
    assert.equal(JSON.parse(rejected.stdout).reason, "invalid_transition");
    const missing = drover(["send", "payments", newId(), '{"type":"CancelPayment"}', "--db", db]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /^not found: there is no payments pay_/);
  });

  it("exits 2 for an event its schema refuses, malformed JSON, an unknown machine or an internal event", () => {
    const invalid = drover(["send", "payments", id, '{"type":"RefundPayment","amount":-1}', "--db", db, "--json"]);
    assert.equal(invalid.code, 2);
    assert.equal(JSON.parse(invalid.stdout).reason, "invalid_event");
    const malformed = drover(["send", "payments", id, '{"type":', "--db", db]);
    assert.equal(malformed.code, 2);
    assertOneLine(malformed, /<event-json> is not valid JSON .*; pass one JSON object in quotes/);
    const unknown = drover(["send", "paymentz", id, '{"type":"CancelPayment"}', "--db", db]);
    assert.equal(unknown.code, 2);
    assertOneLine(unknown, /unknown machine "paymentz"; this config has: payments/);
    const internal = drover(["send", "payments", id, '{"type":"AuthorizationExpired"}', "--db", db]);
    assert.equal(internal.code, 2);
    assertOneLine(internal, /AuthorizationExpired is sent by drover itself .* add --internal/);
  });

  it("with --json, also answers a failure as a JSON object on stdout (and the one line on stderr)", () => {
    const malformed = drover(["send", "payments", id, '{"type":', "--db", db, "--json"]);
    assert.equal(malformed.code, 2);
    assertOneLine(malformed, /<event-json> is not valid JSON/);
    assert.deepEqual(Object.keys(JSON.parse(malformed.stdout)), ["kind", "exitCode", "message"]);
    assert.equal(JSON.parse(malformed.stdout).exitCode, 2);
    const unreachable = drover(["inspect", "payments", id, "--db", "postgres://postgres@127.0.0.1:1/x", "--json"]);
    assert.equal(unreachable.code, 3);
    const answer = JSON.parse(unreachable.stdout) as { kind: string; exitCode: number; message: string };
    assert.equal(answer.kind, "error");
    assert.equal(answer.exitCode, 3);
    assert.match(answer.message, /not reachable/);
    const usage = drover(["send", "payments", "--json"]);
    assert.equal(usage.code, 2);
    assert.match(JSON.parse(usage.stdout).message, /missing required argument 'id'/);
  });

  it("treats --idempotency-key as the HTTP API does: the same request is a duplicate, another one a reused key", () => {
    const authorize = '{"type":"ProviderAuthorized","authorizationId":"auth_1"}';
    const args = [
      "send",
      "payments",
      id,
      authorize,
      "--internal",
      "--idempotency-key",
      `key-${id}`,
      "--db",
      db,
      "--json",
    ];
    const first = drover(args);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).version, 2);
    const again = drover(args);
    assert.equal(again.code, 0);
    const duplicate = JSON.parse(again.stdout);
    assert.equal(duplicate.kind, "duplicate");
    assert.equal(duplicate.original.version, 2);
    const reused = drover([
      "send",
      "payments",
      id,
      '{"type":"CancelPayment"}',
      "--idempotency-key",
      `key-${id}`,
      "--db",
      db,
      "--json",
    ]);
    assert.equal(reused.code, 2);
    assert.equal(JSON.parse(reused.stdout).reason, "idempotency_key_reused");
  });

  it("inspects an entity (exit 0), a missing one (exit 1) and a malformed id (exit 2)", () => {
    const found = drover(["inspect", "payments", id, "--db", db, "--json"]);
    assert.equal(found.code, 0, found.stderr);
    const entity = JSON.parse(found.stdout);
    assert.equal(entity.version, 2);
    assert.equal(entity.state.status, "authorized");
    assert.match(entity.createdAt, /^\d{4}-\d\d-\d\dT/);
    const text = drover(["inspect", "payments", id, "--db", db]);
    assert.match(text.stdout, new RegExp(`^payments ${id}: version 2, authorized`));
    const missing = drover(["inspect", "payments", newId(), "--db", db]);
    assert.equal(missing.code, 1);
    assertOneLine(missing, /no payments pay_\w+; it is created by RequestPayment/);
    const malformed = drover(["inspect", "payments", "nope", "--db", db]);
    assert.equal(malformed.code, 2);
    assertOneLine(malformed, /invalid payments id "nope"/);
  });

  it("prints the journal oldest first (exit 0), and exit 1 for an entity without one", () => {
    const json = drover(["history", "payments", id, "--db", db, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const { entries } = JSON.parse(json.stdout);
    assert.deepEqual(
      entries.map((e: { version: number; event: { type: string } }) => [e.version, e.event.type]),
      [
        [1, "RequestPayment"],
        [2, "ProviderAuthorized"],
      ],
    );
    const text = drover(["history", "payments", id, "--db", db]);
    assert.match(text.stdout, /v1 .* RequestPayment .* → authorizing\n/);
    assert.match(text.stdout, /v2 .* ProviderAuthorized .* → authorized\n/);
    const missing = drover(["history", "payments", newId(), "--db", db]);
    assert.equal(missing.code, 1);
  });
});

describe("drover outbox", () => {
  it("lists pending intents and dead letters, and retries a dead letter", async () => {
    const dir = tempDir();
    const path = join(dir, "drover.db");
    const db = `sqlite:${path}`;
    const id = newId();
    assert.equal(drover(["send", "payments", id, REQUEST, "--db", db]).code, 0);
    const intentId = `payments/${id}/1/0`;

    const pending = drover(["outbox", "--db", db]);
    assert.equal(pending.code, 0);
    assert.match(pending.stdout, new RegExp(`${intentId}  AuthorizeWithProvider  pending, 0 attempts`));
    assert.equal(drover(["outbox", "--dead", "--db", db]).stdout, "no dead letters\n");
    const notDead = drover(["outbox", "--retry", intentId, "--db", db]);
    assert.equal(notDead.code, 1);
    assertOneLine(notDead, /is pending, not dead; only dead letters can be retried/);
    const unknown = drover(["outbox", "--retry", "payments/nope/1/0", "--db", db]);
    assert.equal(unknown.code, 1);
    assertOneLine(unknown, /no intent payments\/nope\/1\/0 in the outbox/);

    // Kill the intent the way a dispatcher does when it gives up.
    const store = SqliteStore.open({ path });
    const now = Date.now() + 1000;
    const [claimed] = await store.claimOutbox({ owner: "test", now, leaseMs: 60_000, limit: 1 });
    assert.equal(claimed?.intentId, intentId);
    assert.ok(await store.failOutbox(intentId, "test", { error: "provider says no", now, retryAt: null }));
    await store.close();

    const dead = drover(["outbox", "--dead", "--db", db, "--json"]);
    assert.equal(dead.code, 0);
    const listed = JSON.parse(dead.stdout);
    assert.equal(listed.status, "dead");
    assert.equal(listed.items[0].intentId, intentId);
    assert.equal(listed.items[0].lastError, "provider says no");
    const retried = drover(["outbox", "--retry", intentId, "--db", db]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /is pending again/);
    assert.match(drover(["outbox", "--db", db]).stdout, new RegExp(intentId));
  });
});

describe("drover replay", () => {
  const dir = tempDir();
  const db = `sqlite:${join(dir, "drover.db")}`;
  const small = newId();
  const large = newId();
  const created = [
    drover(["send", "payments", small, REQUEST.replace("125000", "50000"), "--db", db]).code,
    drover(["send", "payments", large, REQUEST.replace("125000", "500000"), "--db", db]).code,
    drover(["send", "payments", large, '{"type":"CancelPayment"}', "--db", db]).code,
  ];

  it("finds no divergence with the code that wrote the journal (exit 0)", () => {
    assert.deepEqual(created, [0, 0, 0]);
    const ran = drover(["replay", "payments", "--db", db]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, "replayed 3 events of 2 payments entities: no divergence\n");
    assert.equal(ran.stderr, "", "no progress bar when stderr is not a terminal");
  });

  it("reports each divergence of a changed rule with entity, version and a readable diff (exit 1)", () => {
    const ran = drover(["replay", "payments", "--db", db], { cwd: CHANGED_RULE });
    assert.equal(ran.code, 1, ran.stderr);
    assert.match(
      ran.stdout,
      new RegExp(
        `payments ${large} version 1 \\(RequestPayment, event [^)]+\\): the state differs \\(recorded → now\\)\n` +
          `    ~ status: "authorizing" → "awaiting_verification"\n`,
      ),
    );
    assert.match(
      ran.stdout,
      new RegExp(
        `payments ${large} version 1 .*: the intents differ .*\n    ~ \\[0\\]\\.type: "AuthorizeWithProvider" → "RequestVerification"`,
      ),
    );
    assert.doesNotMatch(ran.stdout, new RegExp(small), "500.00 EUR is below both thresholds");
    assert.match(ran.stdout, /replayed 3 events of 2 payments entities: 2 divergences\n$/);

    const json = drover([
      "replay",
      "payments",
      large,
      "--db",
      db,
      "--json",
      "--config",
      join(CHANGED_RULE, "drover.config.mjs"),
    ]);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout);
    assert.equal(report.events, 2);
    assert.deepEqual(
      report.divergences.map((d: { kind: string; version: number }) => [d.kind, d.version]),
      [
        ["state", 1],
        ["intents", 1],
      ],
    );
  });

  it("draws a progress bar on a terminal, and exits 1 for an entity without a journal", async () => {
    const io = captureIo(true);
    const code = await runCli(["replay", "payments", "--db", db, "--config", ROOT_CONFIG], { ...io, cwd: ROOT });
    assert.equal(code, 0);
    assert.match(io.err(), /replaying \[#+\] 2\/2/);
    const missing = drover(["replay", "payments", newId(), "--db", db]);
    assert.equal(missing.code, 1);
    assertOneLine(missing, /has no journal to replay/);
  });
});

describe("drover diagram", () => {
  it("prints a Mermaid state diagram with every transition the machine takes", () => {
    const ran = drover(["diagram", "payments"]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /^stateDiagram-v2\n/);
    for (const line of [
      "[*] --> authorizing: RequestPayment",
      "[*] --> awaiting_verification: RequestPayment",
      "awaiting_verification --> authorizing: VerifyPayment",
      "authorized --> captured: CapturePayment",
      "captured --> partially_refunded: RefundPayment",
      "partially_refunded --> refunded: RefundPayment",
      "cancelled --> cancelled: ProviderAuthorized",
      "refunded --> [*]",
    ]) {
      assert.ok(ran.stdout.includes(`    ${line}\n`), `missing "${line}" in\n${ran.stdout}`);
    }
  });

  it("prints the graph as JSON, the same the core explores", async () => {
    const ran = drover(["diagram", "payments", "--json"]);
    assert.equal(ran.code, 0);
    // By name at run time: the example depends on this package (its config), so this
    // package's build may not depend on the example's types.
    const example = "@drover/example-payments";
    const { payments } = (await import(example)) as { payments: AnyMachine };
    assert.deepEqual(JSON.parse(ran.stdout), exploreMachine(payments));
  });

  it("exits 2 for an unknown machine", () => {
    const ran = drover(["diagram", "nope"]);
    assert.equal(ran.code, 2);
    assertOneLine(ran, /unknown machine "nope"; this config has: payments/);
  });
});

describe("drover migrate and token create", () => {
  it("migrates a new SQLite file and reports the versions before and after", () => {
    const dir = tempDir();
    const ran = drover(["migrate", "--db", `sqlite:${join(dir, "new.db")}`, "--json"]);
    assert.equal(ran.code, 0, ran.stderr);
    const report = JSON.parse(ran.stdout);
    assert.equal(report.from, 0);
    assert.ok(report.to >= 1);
    assert.deepEqual(
      report.applied,
      Array.from({ length: report.to }, (_, i) => i + 1),
    );
    const again = drover(["migrate", "--db", `sqlite:${join(dir, "new.db")}`]);
    assert.equal(
      again.stdout,
      `sqlite:${join(dir, "new.db")}: drover schema version ${report.to}, nothing to migrate\n`,
    );
  });

  it("mints a token once into the data directory, and refuses an unknown scope (exit 2)", () => {
    const dir = tempDir();
    const ran = drover(["token", "create", "--scopes", "read,write", "--name", "ci", "--data-dir", dir, "--json"]);
    assert.equal(ran.code, 0, ran.stderr);
    const created = JSON.parse(ran.stdout);
    assert.deepEqual(created.scopes, ["read", "write"]);
    assert.deepEqual(TokenStore.open(dir).verify(created.token)?.scopes, ["read", "write"]);
    const text = drover(["token", "create", "--scopes", "admin"], { env: { DROVER_DATA_DIR: dir } });
    assert.match(text.stdout, /^token tok_\S+ \(admin\); shown once, stored hashed in .*tokens\.json:\ndrv_\S+\n$/);
    const bad = drover(["token", "create", "--scopes", "read,root", "--data-dir", dir]);
    assert.equal(bad.code, 2);
    assertOneLine(bad, /unknown scope "root", valid scopes are read, write, admin/);
  });
});

describe("drover errors", () => {
  it("says there is no config (exit 2), and finds a drover.config.mjs in the working directory", () => {
    const empty = tempDir();
    const missing = drover(["inspect", "payments", newId()], { cwd: empty });
    assert.equal(missing.code, 2);
    assertOneLine(
      missing,
      /no drover\.config\.ts \(or \.js, \.mjs\) in .*; run drover where your config is, or pass --config PATH/,
    );
    const wrongPath = drover(["diagram", "payments", "--config", join(empty, "nope.ts")]);
    assert.equal(wrongPath.code, 2);
    assertOneLine(wrongPath, /config file .*nope\.ts does not exist/);
    const mjs = drover(["diagram", "payments"], { cwd: CHANGED_RULE });
    assert.equal(mjs.code, 0, mjs.stderr);
  });

  it("says the database is unreachable in one line (exit 3); --verbose adds the stack", () => {
    const url = "postgres://postgres@127.0.0.1:1/x";
    const ran = drover(["inspect", "payments", newId(), "--db", url]);
    assert.equal(ran.code, 3);
    assertOneLine(ran, /cannot open the PostgreSQL store at 127\.0\.0\.1:1\/x: .*ECONNREFUSED/);
    const verbose = drover(["inspect", "payments", newId(), "--db", url, "--verbose"]);
    assert.equal(verbose.code, 3);
    assert.match(verbose.stderr, /\n\s+at /);
    const bad = drover(["inspect", "payments", newId(), "--db", "mysql://x"]);
    assert.equal(bad.code, 2);
    assertOneLine(bad, /--db must be sqlite:PATH or postgres:\/\/…, got "mysql:\/\/x"/);
  });
});

describe("drover serve", () => {
  it("serves the config's app with flags over env, prints the address and admin token, and stops on SIGTERM; a taken port is exit 3", async () => {
    const dir = tempDir();
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--port", "0", "--data-dir", dir, "--db", `sqlite:${join(dir, "s.db")}`],
      {
        cwd: ROOT,
        env: { ...process.env, DROVER_PORT: "not-a-port", DROVER_LOG_LEVEL: "warn" },
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!/admin token/.test(output) && child.exitCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /drover payments listening on (http:\/\/\S+)/.exec(output)?.[1];
    const token = /admin token \(shown once[^)]*\): (drv_\S+)/.exec(output)?.[1];
    assert.ok(url !== undefined && token !== undefined, output);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    const id = newId();
    const sent = await fetch(`${url}/v1/payments/${id}/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: REQUEST,
    });
    assert.equal(sent.status, 200);
    const taken = drover(["serve", "--port", new URL(url).port, "--data-dir", tempDir()]);
    assert.equal(taken.code, 3);
    assertOneLine(taken, /cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\); pick another --port/);
    child.kill("SIGTERM");
    assert.equal(await exited, 0, output);
  });
});

describe("drover with PostgreSQL", async () => {
  const skip = await skipUnlessPostgres();
  const database = `drover_cli_${process.pid}_${randomBytes(4).toString("hex")}`;
  const url = withDatabase(database);
  after(async () => {
    if (skip === false) await dropDatabase(database);
  });

  it("migrates a new database (created if missing) through --db postgres://…", { skip }, () => {
    const migrated = drover(["migrate", "--db", url, "--json"]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.equal(JSON.parse(migrated.stdout).from, 0);
  });

  it("sends, inspects and replays through --db postgres://…", { skip }, () => {
    const id = newId();
    assert.equal(drover(["send", "payments", id, REQUEST, "--db", url]).code, 0);
    const inspected = drover(["inspect", "payments", id, "--db", url, "--json"]);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.equal(JSON.parse(inspected.stdout).state.status, "authorizing");
    const replayed = drover(["replay", "payments", id, "--db", url]);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stdout, /no divergence/);
  });
});
