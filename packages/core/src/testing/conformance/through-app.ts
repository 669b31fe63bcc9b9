import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { App } from "../../app.js";
import { defineEffects } from "../../effects.js";
import { PermanentEffectError } from "../../errors.js";
import { intentFailedEventId } from "../../intent-failed.js";
import { silentLogger } from "../../logger.js";
import type { Store } from "../../ports.js";
import { OutboxStatus, TimerStatus } from "../../ports.js";
import { alarmMachine } from "../alarm-machine.js";
import type { Suite } from "./suite.js";
import { peers } from "./suite.js";

const ALARM = { machine: "alarm", id: "a_1" };

function alarmApp(store: Store, dial: () => Promise<void>, concurrency?: number) {
  const limits = concurrency === undefined ? {} : { limits: { Dial: { concurrency } } };
  return new App({
    store,
    machines: [alarmMachine],
    effects: [defineEffects(alarmMachine, { Dial: dial }, limits)],
    logger: silentLogger,
  });
}

/**
 * Issue 20's features with a real App on the store: a dead letter heard by its entity once,
 * keyed timers replaced and cancelled, and a concurrency limit held by two apps sharing the
 * store (two processes, where the adapter offers `openPeer`).
 */
export function throughAppSpec(suite: Suite): void {
  const { describe, it, withStore } = suite;
  const withPeers = peers(suite);
  describe("operating intents through the App", () => {
    it(
      "tells the entity of a dead intent once, with event id <intentId>#failed",
      withStore(async (store) => {
        const app = alarmApp(store, async () => {
          throw new PermanentEffectError("no such number");
        });
        await app.run(ALARM, { type: "Create" });
        await app.run(ALARM, { type: "Call", number: "000" });
        await app.idle();
        const [dead] = await app.deadLetters();
        assert.equal(dead?.status, OutboxStatus.Dead);
        const told = (await store.history(ALARM)).filter(
          (entry) => (entry.event as { type?: string }).type === "IntentFailed",
        );
        assert.deepEqual(
          told.map((entry) => entry.eventId),
          [intentFailedEventId(dead?.intentId ?? "")],
        );
      }),
    );

    it(
      "replaces a keyed timer and cancels one: only the survivor fires",
      withStore(async (store) => {
        const app = alarmApp(store, async () => {});
        const now = Date.now();
        await app.run(ALARM, { type: "Create" });
        await app.run(ALARM, { type: "Arm", at: now - 2000, label: "replaced", key: "wake" });
        await app.run(ALARM, { type: "Arm", at: now - 1000, label: "kept", key: "wake" });
        await app.run(ALARM, { type: "Arm", at: now - 1000, label: "cancelled", key: "snooze" });
        await app.run(ALARM, { type: "Disarm", key: "snooze" });
        await app.idle();
        assert.deepEqual((await app.getEntity(ALARM))?.state, { rings: ["kept"], failures: [] });
        assert.deepEqual(await app.timerStats(), {
          [TimerStatus.Pending]: 0,
          [TimerStatus.Fired]: 1,
          [TimerStatus.Cancelled]: 2,
          [TimerStatus.Dead]: 0,
        });
      }),
    );

    if (withPeers !== undefined) {
      it(
        "holds a concurrency limit across two apps on the store",
        withPeers(1, async (store, [peer]) => {
          assert.ok(peer);
          let running = 0;
          let most = 0;
          const dial = async () => {
            running++;
            most = Math.max(most, running);
            await sleep(30);
            running--;
          };
          const apps = [alarmApp(store, dial, 2), alarmApp(peer, dial, 2)];
          const [first] = apps;
          assert.ok(first);
          for (let i = 0; i < 8; i++) {
            const ref = { machine: "alarm", id: `a_${i}` };
            await first.run(ref, { type: "Create" });
            await first.run(ref, { type: "Call", number: "112" });
          }
          for (let round = 0; round < 200; round++) {
            await Promise.all(apps.map((app) => app.dispatcher.runOnce()));
            if ((await first.listOutbox({ status: OutboxStatus.Pending })).length === 0) break;
            await sleep(20);
          }
          assert.equal((await first.listOutbox({ status: OutboxStatus.Done })).length, 8);
          assert.equal(most, 2);
        }),
      );
    }
  });
}
