import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { Json, Typed } from "@drover/core";
import { DecisionKind, decide, isSchedule, RunResultKind, replayJournal, stableStringify } from "@drover/core";
import Database from "better-sqlite3";
import { SqliteStore } from "./sqlite-store.js";
import { ENTITIES, entityId, prng } from "./test-support/crash-child.js";
import { tally } from "./test-support/crash-tally.js";

const CHILD = fileURLToPath(new URL("./test-support/crash-child.js", import.meta.url));
/** Kills of a child that was running steps; kills during start-up come on top. */
const KILLS = 12;
const STARTUP_DEADLINE_MS = 10_000;

const dir = mkdtempSync(join(tmpdir(), "drover-crash-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("SqliteStore under SIGKILL", () => {
  it("keeps every entity, journal, inbox, outbox and timer consistent", { timeout: 60_000 }, async (t) => {
    const seed = Number(process.env.DROVER_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    t.diagnostic(`crash test seed ${seed} (rerun with DROVER_CRASH_SEED=${seed})`);
    const random = prng(seed);
    const path = join(dir, "crash.db");

    let kills = 0;
    let startupKills = 0;
    for (let round = 0; kills < KILLS; round++) {
      const child = spawn(process.execPath, [CHILD, path, String(seed + round)], { stdio: ["ignore", "pipe", "pipe"] });
      const exited = exit(child);
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      // Now and then kill during start-up: opening, migrating, creating the entities.
      if (round > 0 && random() < 0.2) {
        await sleep(Math.floor(random() * 60));
        startupKills++;
      } else {
        await running(child, exited, () => stderr);
        await sleep(20 + Math.floor(random() * 300));
        kills++;
      }
      child.kill("SIGKILL");
      const status = await exited;
      assert.equal(
        status.signal,
        "SIGKILL",
        `seed ${seed}: the child exited on its own (code ${status.code}): ${stderr}`,
      );
    }
    t.diagnostic(`${kills} kills while running, ${startupKills} during start-up`);

    const raw = new Database(path);
    try {
      assert.deepEqual(raw.pragma("integrity_check"), [{ integrity_check: "ok" }], `seed ${seed}`);
    } finally {
      raw.close();
    }

    const store = SqliteStore.open({ path });
    try {
      let journalRows = 0;
      const outboxIds: string[] = [];
      const timerIds: string[] = [];
      for (let i = 0; i < ENTITIES; i++) {
        const ref = { machine: "tally", id: entityId(i) };
        const entity = await store.getEntity(ref);
        assert.ok(entity !== undefined, `seed ${seed}: ${ref.id} was never created`);
        const history = await store.history(ref);
        journalRows += history.length;
        assert.equal(entity.version, history.length, `seed ${seed}: ${ref.id} version vs journal rows`);
        assert.deepEqual(
          history.map((entry) => entry.version),
          Array.from({ length: history.length }, (_, v) => v + 1),
          `seed ${seed}: ${ref.id} journal versions are not 1..${entity.version}`,
        );
        assert.deepEqual(entity.state, history.at(-1)?.state, `seed ${seed}: ${ref.id} state vs last journal row`);
        assert.deepEqual(replayJournal(tally, history), [], `seed ${seed}: ${ref.id} journal does not replay`);

        let folded: Json | undefined;
        for (const entry of history) {
          const ctx = { entityId: entry.id, eventId: entry.eventId, at: entry.at };
          const outcome = decide(tally, folded, folded !== undefined, entry.event as unknown as Typed, ctx);
          assert.equal(
            outcome.kind,
            DecisionKind.Accepted,
            `seed ${seed}: ${ref.id} v${entry.version} is not accepted on replay`,
          );
          if (outcome.kind === DecisionKind.Accepted) folded = JSON.parse(JSON.stringify(outcome.state)) as Json;

          const inbox = await store.findInbox(entry.eventId);
          assert.equal(
            inbox?.result.kind,
            RunResultKind.Processed,
            `seed ${seed}: no processed inbox row for ${entry.eventId}`,
          );
          assert.equal(inbox?.result.version, entry.version, `seed ${seed}: inbox version of ${entry.eventId}`);
          assert.equal(inbox?.id, ref.id);

          for (const record of entry.intents) {
            (isSchedule(record.intent as unknown as Typed) ? timerIds : outboxIds).push(record.id);
          }
        }
        assert.equal(
          stableStringify(folded),
          stableStringify(entity.state),
          `seed ${seed}: ${ref.id} state vs fold of its journal`,
        );
      }

      const outbox = await store.listOutbox();
      assert.equal(outbox.length, outboxIds.length, `seed ${seed}: outbox rows vs intents in the journal`);
      assert.deepEqual(outbox.map((row) => row.intentId).sort(), outboxIds.sort());
      const timers = await store.listTimers();
      assert.equal(timers.length, timerIds.length, `seed ${seed}: timers vs schedule intents in the journal`);
      assert.deepEqual(timers.map((row) => row.timerId).sort(), timerIds.sort());

      const check = new Database(path, { readonly: true });
      try {
        const processed = check
          .prepare("SELECT count(*) FROM inbox WHERE json_extract(result, '$.kind') = 'processed'")
          .pluck()
          .get();
        assert.equal(processed, journalRows, `seed ${seed}: processed inbox rows vs journal rows`);
      } finally {
        check.close();
      }
      assert.ok(
        journalRows > ENTITIES * 10,
        `seed ${seed}: only ${journalRows} journal rows; did the child make progress?`,
      );
      t.diagnostic(`${journalRows} journal rows, ${outbox.length} outbox rows, ${timers.length} timers checked`);
    } finally {
      await store.close();
    }
  });
});

interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

function exit(child: ChildProcess): Promise<ExitStatus> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

/** Resolve when the child prints `running`; fail if it exits first or takes too long. */
async function running(child: ChildProcess, exited: Promise<ExitStatus>, stderr: () => string): Promise<void> {
  const started = new Promise<void>((resolve) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("running\n")) resolve();
    });
  });
  const timer = new AbortController();
  const outcome = await Promise.race([
    started.then(() => "running" as const),
    exited.then(() => "exited" as const),
    sleep(STARTUP_DEADLINE_MS, "late" as const, { signal: timer.signal }).catch(() => "late" as const),
  ]).finally(() => timer.abort());
  if (outcome !== "running") {
    child.kill("SIGKILL");
    assert.fail(`the crash child did not start (${outcome}): ${stderr()}`);
  }
}
