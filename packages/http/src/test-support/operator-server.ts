import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { AnyMachine, Effects, RecurringSchedule, Store } from "@drover/core";
import { App, defineEffects, MemoryStore, PermanentEffectError, silentLogger } from "@drover/core";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { buildServer } from "../server.js";
import { TokenStore } from "../tokens.js";
import { alarms } from "./alarms.js";

/** A clock the test moves by hand. */
export interface HandClock {
  at: number;
  now(): number;
}

/** What {@link operatorServer} starts: an app of `alarms` on a store, served, and a caller. */
export interface OperatorServer {
  readonly app: App;
  readonly store: Store;
  readonly clock: HandClock;
  readonly server: FastifyInstance;
  readonly admin: string;
  readonly reader: string;
  /** Whether `Beep` fails for good (a dead letter at its first attempt). */
  readonly beeps: { failing: boolean };
  call(method: "GET" | "POST" | "PUT" | "DELETE", url: string, token?: string): Promise<LightMyRequestResponse>;
}

export const T0 = Date.parse("2026-06-01T08:00:00Z");

/**
 * A server of the `alarms` machine for the operator routes' tests: a {@link MemoryStore}, a
 * hand-moved clock, a `Beep` handler that can be made to fail for good, and tokens. Nothing is
 * started: tests drive the dispatcher and the scheduler with `runOnce()`.
 */
export async function operatorServer(
  root: string,
  options: {
    readonly store?: Store;
    readonly machines?: readonly AnyMachine[];
    readonly recurring?: readonly RecurringSchedule[];
  } = {},
): Promise<OperatorServer> {
  const store = options.store ?? new MemoryStore();
  const clock: HandClock = {
    at: T0,
    now() {
      return this.at;
    },
  };
  const beeps = { failing: false };
  const effects: Effects[] = [
    defineEffects(alarms, {
      Beep: async () => {
        if (beeps.failing) throw new PermanentEffectError("the speaker is broken");
        return [];
      },
    }),
  ];
  const app = new App({
    store,
    machines: options.machines ?? [alarms],
    effects,
    clock,
    logger: silentLogger,
    scheduler: { maxAttempts: 2 },
    ...(options.recurring === undefined ? {} : { recurring: options.recurring }),
  });
  const tokens = TokenStore.open(mkdtempSync(join(root, "t-")));
  const admin = tokens.create({ scopes: ["admin"] }).token;
  const reader = tokens.create({ scopes: ["read"] }).token;
  const server = await buildServer({ app, tokens });
  const call: OperatorServer["call"] = (method, url, token = admin) =>
    server.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
  return { app, store, clock, server, admin, reader, beeps, call };
}
