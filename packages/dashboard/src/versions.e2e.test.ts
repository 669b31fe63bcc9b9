// The dashboard's schema versions in Chromium, against an in-process server on a MemoryStore:
// an entity written by version 1 code and served by version 2 code shows "stored at v1 · code
// v2" until an event migrates it, and the machine's card counts its entities by stored version.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { App, accept, defineMachine, MemoryStore, silentLogger } from "@drover/core";
import { dashboardAssetsDir } from "@drover/dashboard";
import { buildServer, TokenStore } from "@drover/http";
import type { Browser } from "playwright-core";
import { z } from "zod";
import {
  browserRequired,
  launchBrowser,
  missingBrowser,
  screenshotOf,
  watchedPage,
} from "./test-support/browser-harness.js";

const missing = missingBrowser();

/** `shelves` as two deploys define it: version 2 adds a `label` (migrated as "unlabelled"). */
function shelves(version: 1 | 2) {
  const events = z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("Build") }),
    z.strictObject({ type: z.literal("Fill") }),
  ]);
  const common = {
    name: "shelves",
    id: z.string().regex(/^s_[a-z0-9]{1,24}$/),
    events,
    intents: z.strictObject({ type: z.literal("Never") }),
    rejections: z.enum(["never"]),
    creates: ["Build" as const],
    stateName: () => "standing",
  };
  if (version === 1) {
    return defineMachine({
      ...common,
      state: z.strictObject({ books: z.number().int() }),
      create: () => accept({ books: 0 }),
      handle: (state) => accept({ books: state.books + 1 }),
    });
  }
  return defineMachine({
    ...common,
    state: z.strictObject({ books: z.number().int(), label: z.string() }),
    version: 2,
    migrations: { 1: (state) => ({ ...state, label: "unlabelled" }) },
    create: () => accept({ books: 0, label: "new" }),
    handle: (state) => accept({ ...state, books: state.books + 1 }),
  });
}

describe("the dashboard's schema versions in Chromium", {
  skip: missing !== undefined && !browserRequired ? missing : false,
}, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "drover-dashboard-versions-"));
  let server: Awaited<ReturnType<typeof buildServer>>;
  let url: string;
  let admin: string;
  let browser: Browser;

  before(async () => {
    if (missing !== undefined) assert.fail(`DROVER_REQUIRE_SERVICES=1 but ${missing}`);
    const store = new MemoryStore();
    // Version 1 code wrote s_old; version 2 code serves it and writes s_new.
    const old = new App({ store, machines: [shelves(1)], logger: silentLogger });
    assert.equal((await old.run({ machine: "shelves", id: "s_old" }, { type: "Build" })).kind, "processed");
    const app = new App({ store, machines: [shelves(2)], logger: silentLogger });
    assert.equal((await app.run({ machine: "shelves", id: "s_new" }, { type: "Build" })).kind, "processed");
    const tokens = TokenStore.open(dataDir);
    admin = tokens.create({ scopes: ["admin"] }).token;
    server = await buildServer({ app, tokens, dashboard: dashboardAssetsDir() });
    url = await server.listen({ host: "127.0.0.1", port: 0 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("shows an entity's stored state version against the code's, and counts by version", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const { page, problems } = await watchedPage(context);
    await page.goto(url);
    await page.getByLabel("API token").fill(admin);
    await page.getByRole("button", { name: "Sign in" }).click();
    const counts = page.getByTestId("state-versions-shelves");
    await counts.getByText("v1: 1").waitFor();
    assert.equal((await counts.textContent())?.trim(), "Code v2; stored at v1: 1, v2: 1");
    assert.match((await counts.getByText("v1: 1").getAttribute("class")) ?? "", /version-older/);
    await screenshotOf(page.locator(".machine-card"), "versions-overview-card");

    await page.goto(`${url}/#/m/shelves/e/s_old`);
    const stored = page.getByTestId("entity-state-version");
    await stored.getByText("stored at v1 · code v2").waitFor();
    await screenshotOf(page.locator(".summary"), "versions-entity-older");

    // An event migrates the state: the page (live) shows it at the code's version.
    const bumped = await fetch(`${url}/v1/shelves/s_old/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "Fill" }),
    });
    assert.equal(bumped.status, 200);
    await stored.getByText("v2", { exact: true }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });
});
