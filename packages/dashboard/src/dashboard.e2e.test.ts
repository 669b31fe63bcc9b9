// The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real
// server process: sign in, watch a payment created through the API appear live, open its
// timeline, send events from the generated form, retry a dead letter, see a dead letter as it
// happens, pause and resume an intent type, list timers, escape markup, a phone-sized screen and
// the keyboard. Screenshots land in artifacts/dashboard/.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import type { Fixture } from "./test-support/browser-harness.js";
import {
  browserRequired,
  callApi,
  eventually,
  launchBrowser,
  lowContrastText,
  missingBrowser,
  noteId,
  paymentId,
  screenshot,
  screenshotOf,
  startFixture,
  watchedPage,
} from "./test-support/browser-harness.js";

const missing = missingBrowser();
if (missing !== undefined && !browserRequired) {
  console.log(`dashboard browser tests skipped: ${missing}`);
}

const desktop = { width: 1280, height: 900 };

function requestPayment(fixture: Fixture, id: string, extra: Record<string, unknown> = {}) {
  return callApi(fixture, "POST", `/v1/payments/${id}/events`, {
    body: { type: "RequestPayment", amount: 12_500, currency: "EUR", customerId: "cus_42", ...extra },
  });
}

describe("the dashboard in Chromium", { skip: missing !== undefined && !browserRequired ? missing : false }, () => {
  let fixture: Fixture;
  let browser: Browser;

  before(async () => {
    if (missing !== undefined) assert.fail(`DROVER_REQUIRE_SERVICES=1 but ${missing}`);
    [fixture, browser] = await Promise.all([startFixture(), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await fixture?.stop();
  });

  /** A watched page in a fresh browser context, signed in with `token`, on the overview. */
  async function signedInPage(token: string, viewport = desktop) {
    const context = await browser.newContext({ viewport });
    const { page, problems } = await watchedPage(context);
    await page.goto(fixture.url);
    await page.getByLabel("API token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    return { context, page, problems };
  }

  it("signs in with a token kept in the tab's session, never in the URL, and refuses a bad one", async () => {
    const context = await browser.newContext({ viewport: desktop });
    const { page, problems } = await watchedPage(context);
    await page.goto(fixture.url);
    await page.getByLabel("API token").fill("drv_not_a_token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That token is not valid.").waitFor();
    assert.equal(await page.getByLabel("API token").getAttribute("aria-invalid"), "true");
    await screenshot(page, "01-sign-in-refused");

    await page.getByLabel("API token").fill(fixture.tokens.admin);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("drover.token")), fixture.tokens.admin);
    assert.equal(await page.evaluate(() => localStorage.length), 0, "nothing in localStorage");
    assert.ok(!page.url().includes(fixture.tokens.admin), "the token is not in the URL");
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API token").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("drover.token")), null);
    assert.deepEqual(
      problems.filter((problem) => !problem.includes("401")),
      [],
    );
    await context.close();
  });

  it("shows a payment created through the API live, and opens its timeline", async () => {
    const { context, page, problems } = await signedInPage(fixture.tokens.admin);
    await page.getByText("Live", { exact: true }).waitFor();

    const id = paymentId();
    const created = await requestPayment(fixture, id);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    // No reload: the stream brings it to the feed, then the provider's answer follows.
    const feed = page.getByRole("list").filter({ has: page.getByRole("link", { name: `payments ${id}` }) });
    await feed
      .getByRole("link", { name: `payments ${id}` })
      .first()
      .waitFor();
    await page.locator(".feed li", { hasText: "ProviderAuthorized" }).filter({ hasText: id }).waitFor();
    const card = page.getByRole("article").filter({ has: page.getByRole("heading", { name: "payments" }) });
    await card.getByRole("link", { name: "authorized" }).waitFor();
    await screenshot(page, "02-overview-live");

    await page
      .getByRole("link", { name: `payments ${id}` })
      .first()
      .click();
    await page.getByRole("heading", { level: 1, name: id }).waitFor();
    await page.getByTestId("entity-status").filter({ hasText: "authorized" }).waitFor();
    assert.equal(await page.getByTestId("entity-version").textContent(), "2");
    const timeline = page.locator(".timeline-entry");
    // The history loads on its own, after the entity: wait for its entries before counting.
    await timeline.nth(1).waitFor();
    assert.equal(await timeline.count(), 2);
    assert.match((await timeline.nth(0).textContent()) ?? "", /v1\s*RequestPayment.*authorizing/);
    assert.match((await timeline.nth(0).textContent()) ?? "", /AuthorizeWithProvider/);
    assert.match((await timeline.nth(1).textContent()) ?? "", /v2\s*ProviderAuthorized.*authorized/);
    // The state diagram, with the current state highlighted and the path taken marked.
    const diagram = page.getByTestId("state-diagram");
    await diagram.locator('[data-state="authorized"].current').waitFor();
    assert.equal(await diagram.locator(".diagram-node.current").count(), 1);
    assert.equal(await diagram.locator('[data-state="captured"]').count(), 1, "states not reached are drawn too");
    assert.equal(await diagram.locator(".diagram-edge.walked").count(), 2, "creation and authorization");
    assert.match((await diagram.getAttribute("aria-labelledby")) ?? "", /title/);
    assert.match((await diagram.locator("title").textContent()) ?? "", /current state is authorized/);
    const outbox = page.locator("table.outbox");
    await outbox.locator("tr", { hasText: "AuthorizeWithProvider" }).getByText("done").waitFor();
    await screenshot(page, "03-payment-timeline");

    // A new event through the API shows up on the open page without a reload.
    const captured = await callApi(fixture, "POST", `/v1/payments/${id}/events`, {
      body: { type: "CapturePayment", amount: 12_500 },
    });
    assert.equal(captured.status, 200, JSON.stringify(captured.body));
    await page.getByTestId("entity-status").filter({ hasText: "captured" }).waitFor();
    await page.locator(".timeline-entry", { hasText: "CapturePayment" }).waitFor();
    await diagram.locator('[data-state="captured"].current').waitFor();
    await screenshot(page, "03b-payment-captured");
    await screenshotOf(diagram, "03c-state-diagram");
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("sends events from forms generated from the event schemas, with the server's issues next to the fields", async () => {
    const { context, page, problems } = await signedInPage(fixture.tokens.write);
    await page.getByRole("link", { name: "payments", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "payments" }).waitFor();

    const form = page.getByRole("region", { name: "New payments entity or event" });
    const id = paymentId();
    await form.getByLabel("Id", { exact: true }).fill(id);
    await form.getByLabel("Event").selectOption("RequestPayment");
    await form.getByLabel("amount").fill("twelve");
    await form.getByLabel("currency").selectOption("EUR");
    await form.getByLabel("customerId").fill("not a customer");
    await form.getByRole("button", { name: "Send RequestPayment" }).click();
    await form.getByText(/Bad Request \(invalid_event\)/).waitFor();
    const amount = form.getByLabel("amount");
    assert.equal(await amount.getAttribute("aria-invalid"), "true");
    const described = ((await amount.getAttribute("aria-describedby")) ?? "").split(" ");
    assert.equal(described.length, 2, "the field's hint and its error");
    const amountError = described.find((id) => id.endsWith("-error"));
    assert.match((await page.locator(`[id="${amountError}"]`).textContent()) ?? "", /number/i);
    assert.equal(await form.getByLabel("customerId").getAttribute("aria-invalid"), "true");
    assert.equal(await form.getByLabel("currency").getAttribute("aria-invalid"), null);
    await screenshot(page, "04-form-validation");

    await amount.fill("4200");
    await form.getByLabel("customerId").fill("cus_form");
    await form.getByRole("button", { name: "Send RequestPayment" }).click();
    // Sent: the page moves to the new payment.
    await page.getByRole("heading", { level: 1, name: id }).waitFor();
    await page.locator(".timeline-entry", { hasText: "RequestPayment" }).waitFor();
    const entity = await callApi(fixture, "GET", `/v1/payments/${id}`);
    assert.deepEqual((entity.body as { state: { amount: number; customerId: string } }).state.amount, 4200);

    // A rejection is shown with its reason.
    await page.getByTestId("entity-status").filter({ hasText: "authorized" }).waitFor();
    const send = page.getByRole("region", { name: "Send an event" });
    await send.getByLabel("Event").selectOption("RefundPayment");
    await send.getByLabel("amount").fill("100");
    await send.getByRole("button", { name: "Send RefundPayment" }).click();
    await send.getByText(/invalid_transition/).waitFor();
    assert.deepEqual(
      problems.filter((problem) => !/status of 4\d\d/.test(problem)),
      [],
    );
    await context.close();
  });

  it("lists entities a page at a time, searchable by id and filtered by state", async () => {
    const prefix = `pay_list${Date.now().toString(36)}`;
    for (let n = 0; n < 23; n++) {
      const answer = await requestPayment(fixture, `${prefix}_${String(n).padStart(4, "0")}xx`);
      assert.equal(answer.status, 200);
    }
    const { context, page, problems } = await signedInPage(fixture.tokens.read);
    await page.getByRole("link", { name: "payments", exact: true }).click();
    await page.getByLabel("Id starts with").fill(prefix);
    await page.getByRole("button", { name: "Search" }).click();
    const rows = page.locator("table.entities tbody tr");
    await page.getByRole("link", { name: `${prefix}_0000xx` }).waitFor();
    assert.equal(await rows.count(), 20);
    assert.ok(!page.url().includes(fixture.tokens.read));
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByRole("link", { name: `${prefix}_0022xx` }).waitFor();
    // The last page replaces the first in one render, but the live stream may re-render it:
    // wait for the count to settle rather than read it mid-update.
    await page.waitForFunction(() => document.querySelectorAll("table.entities tbody tr").length === 3, null, {
      timeout: 15_000,
    });
    assert.equal(await rows.count(), 3);
    assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);
    await page.getByRole("button", { name: "Previous page" }).click();
    await page.getByRole("link", { name: `${prefix}_0000xx` }).waitFor();

    await page.getByLabel("State", { exact: true }).selectOption("captured");
    await page.getByRole("heading", { level: 1, name: "payments" }).waitFor();
    await page.getByText("No entities match.").waitFor();
    await page.getByRole("link", { name: "Clear" }).click();
    await page.locator("table.entities tbody tr").first().waitFor();
    // A read-only token gets no event form.
    assert.equal(await page.getByRole("region", { name: "New payments entity or event" }).count(), 0);
    await screenshot(page, "05-entity-list");
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("shows a dead letter with its last error, and an admin retries it once the cause is fixed", async () => {
    writeFileSync(fixture.channelDownFile, "down");
    const id = noteId();
    assert.equal(
      (await callApi(fixture, "POST", `/v1/notes/${id}/events`, { body: { type: "Write", title: "Launch day" } }))
        .status,
      200,
    );
    assert.equal((await callApi(fixture, "POST", `/v1/notes/${id}/events`, { body: { type: "Publish" } })).status, 200);
    const intentId = `notes/${id}/2/0`;

    // A reader sees that the outbox is not theirs to see.
    const reader = await signedInPage(fixture.tokens.read);
    await reader.page.getByRole("link", { name: "Outbox" }).click();
    await reader.page.getByText("The outbox needs a token with the admin scope.").waitFor();
    assert.equal(await reader.page.getByRole("button", { name: /^Retry/ }).count(), 0);
    await reader.context.close();

    const { context, page, problems } = await signedInPage(fixture.tokens.admin);
    await page.getByRole("link", { name: "Outbox" }).click();
    await page.getByRole("heading", { level: 1, name: "Outbox" }).waitFor();
    const row = page.locator(`tr[data-intent-id="${intentId}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? "", /Announce/);
    assert.match((await row.locator(".last-error").textContent()) ?? "", /channel is closed/);
    await screenshot(page, "06-dead-letter");

    rmSync(fixture.channelDownFile);
    await row.getByRole("button", { name: `Retry Announce ${intentId}` }).click();
    await page.getByText(`Retrying Announce (${intentId}).`).waitFor();
    await row.waitFor({ state: "detached" });
    const done = await eventually("the retried intent to be done", async () => {
      const answer = await callApi(fixture, "GET", `/v1/notes/${id}/outbox`);
      const items = (answer.body as { items: { intentId: string; status: string; attempts: number }[] }).items;
      const item = items.find((candidate) => candidate.intentId === intentId);
      return item?.status === "done" ? item : undefined;
    });
    assert.equal(done.attempts, 1, "a fresh count of attempts");
    await page.goto(`${fixture.url}/#/m/notes/e/${id}`);
    await page.locator("table.outbox tr", { hasText: "Announce" }).getByText("done").waitFor();
    await screenshot(page, "07-dead-letter-retried");
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("shows a dead letter as it happens, pauses and resumes an intent type, and lists timers with their key", async () => {
    const { context, page, problems } = await signedInPage(fixture.tokens.admin);
    await page.getByText("Live", { exact: true }).waitFor();
    // The page is open first: the stream brings the dead letter, nothing is reloaded.
    writeFileSync(fixture.channelDownFile, "down");
    const id = noteId();
    await callApi(fixture, "POST", `/v1/notes/${id}/events`, { body: { type: "Write", title: "Outage" } });
    await callApi(fixture, "POST", `/v1/notes/${id}/events`, { body: { type: "Publish" } });
    const alert = page.locator('.alert[data-alert="dead_letter"]').filter({ hasText: id });
    await alert.waitFor();
    assert.match(
      (await alert.textContent()) ?? "",
      /Dead letter: Announce of notes .* gave up after 1 attempt: .*channel is closed/,
    );
    await screenshot(page, "12-dead-letter-notice");
    await alert.getByRole("button", { name: "Dismiss" }).click();
    await alert.waitFor({ state: "detached" });
    rmSync(fixture.channelDownFile);

    await page.getByRole("link", { name: "Outbox" }).click();
    const announce = page.locator('li[data-intent-type="Announce"]');
    await announce.getByRole("button", { name: "Pause Announce" }).click();
    await page.getByText("Paused Announce: its intents wait, keeping their attempts.").waitFor();
    await announce.locator(".badge.paused").waitFor();
    const paused = await callApi(fixture, "GET", "/v1/intent-types/paused");
    assert.deepEqual(
      (paused.body as { items: { intentType: string }[] }).items.map((item) => item.intentType),
      ["Announce"],
    );
    await screenshot(page, "13-intent-type-paused");
    await announce.getByRole("button", { name: "Resume Announce" }).click();
    await page.getByText("Resumed Announce: its intents run again.").waitFor();
    await announce.getByRole("button", { name: "Pause Announce" }).waitFor();
    assert.deepEqual((await callApi(fixture, "GET", "/v1/intent-types/paused")).body, { items: [] });

    // An authorized payment has its expiry timer, under its key.
    const payment = paymentId();
    assert.equal((await requestPayment(fixture, payment)).status, 200);
    await eventually("the payment to be authorized", async () => {
      const answer = await callApi(fixture, "GET", `/v1/payments/${payment}`);
      return (answer.body as { state: { status: string } }).state.status === "authorized" ? true : undefined;
    });
    await page.getByRole("link", { name: "Timers" }).click();
    await page.getByRole("heading", { level: 1, name: "Timers" }).waitFor();
    const timer = page.locator("tr[data-timer-id]").filter({ hasText: payment });
    await timer.waitFor();
    assert.match((await timer.textContent()) ?? "", /AuthorizationExpired/);
    assert.ok(((await timer.locator('[data-label="Key"]').textContent()) ?? "").length > 1, "the key is shown");
    assert.deepEqual(await lowContrastText(page), [], "the timers page");
    await screenshot(page, "14-timers");
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("renders markup and script sent in a string field as text", async () => {
    const id = noteId();
    const title = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>`;
    const key = "<svg/onload=window.__pwned=3>";
    const written = await callApi(fixture, "POST", `/v1/notes/${id}/events`, {
      body: { type: "Write", title },
      headers: { "idempotency-key": key },
    });
    assert.equal(written.status, 200, JSON.stringify(written.body));

    const { context, page, problems } = await signedInPage(fixture.tokens.admin);
    await page.goto(`${fixture.url}/#/m/notes/e/${id}`);
    await page.getByRole("heading", { level: 1, name: id }).waitFor();
    await page.getByText("State as JSON").click();
    const state = page.locator(".summary pre.json");
    assert.ok(((await state.textContent()) ?? "").includes(JSON.stringify(title).slice(1, -1)));
    assert.equal(await page.locator(".timeline .event-id").first().textContent(), key);
    // Sent from the form too.
    const form = page.getByRole("region", { name: "Send an event" });
    assert.equal(await form.count(), 1);
    const other = noteId();
    await page.goto(`${fixture.url}/#/m/notes`);
    const create = page.getByRole("region", { name: "New notes entity or event" });
    await create.getByLabel("Id", { exact: true }).fill(other);
    await create.getByLabel("Event").selectOption("Write");
    await create.getByLabel("title").fill(title);
    await create.getByRole("button", { name: "Send Write" }).click();
    await page.getByRole("heading", { level: 1, name: other }).waitFor();
    await page.getByText("State as JSON").click();
    assert.ok(((await page.locator(".summary pre.json").textContent()) ?? "").includes("<script>"));

    assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
    assert.equal(await page.locator("main img, main script, main b, main svg[onload]").count(), 0);
    await screenshot(page, "08-escaped-markup");
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("fits a 390 px wide screen", async () => {
    const { context, page, problems } = await signedInPage(fixture.tokens.admin, { width: 390, height: 844 });
    const id = paymentId();
    assert.equal((await requestPayment(fixture, id)).status, 200);
    await page
      .locator(".feed")
      .getByRole("link", { name: `payments ${id}` })
      .first()
      .waitFor();
    // Nothing wider than the screen: no sideways scrolling of the page.
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - 390);
    assert.ok((await overflow()) <= 0, `the overview is ${await overflow()} px too wide`);
    await screenshot(page, "09-mobile-overview");
    await page
      .locator(".feed")
      .getByRole("link", { name: `payments ${id}` })
      .first()
      .click();
    await page.getByRole("heading", { level: 1, name: id }).waitFor();
    await page.locator(".timeline-entry").first().waitFor();
    assert.ok((await overflow()) <= 0, `the entity page is ${await overflow()} px too wide`);
    await screenshot(page, "10-mobile-entity");
    await page.goto(`${fixture.url}/#/m/payments`);
    await page.locator("table.entities tbody tr").first().waitFor();
    assert.ok((await overflow()) <= 0, `the list is ${await overflow()} px too wide`);
    await screenshot(page, "11-mobile-list");
    await page.goto(`${fixture.url}/#/outbox?status=pending`);
    await page.getByRole("heading", { level: 1, name: "Outbox" }).waitFor();
    assert.ok((await overflow()) <= 0, `the outbox is ${await overflow()} px too wide`);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("works with the keyboard: skip link, focus on each page's heading, labelled controls", async () => {
    const context = await browser.newContext({ viewport: desktop });
    const { page, problems } = await watchedPage(context);
    await page.goto(fixture.url);
    // The token field is focusable and labelled; Enter submits.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "token");
    await page.keyboard.type(fixture.tokens.admin);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();

    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "main");

    // Tab to the payments machine's link and follow it with Enter.
    let found = false;
    for (let n = 0; n < 30 && !found; n++) {
      await page.keyboard.press("Tab");
      found = await page.evaluate(
        () => document.activeElement?.tagName === "A" && document.activeElement.textContent === "payments",
      );
    }
    assert.ok(found, "the payments link is reachable with Tab");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "payments" }).waitFor();
    await eventually("focus on the new page's heading", async () =>
      (await page.evaluate(() => document.activeElement?.tagName === "H1")) ? true : undefined,
    );
    const focusRing = await page.evaluate(() => {
      const search = document.getElementById("search");
      search?.focus();
      return search === null ? "" : getComputedStyle(search).outlineStyle;
    });
    assert.notEqual(focusRing, "none", "focused controls show a focus ring");

    // Text is readable: WCAG AA contrast on the pages an operator uses most.
    assert.deepEqual(await lowContrastText(page), [], "the entity list");
    await page.goto(`${fixture.url}/#/`);
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await page.locator(".spark").first().waitFor();
    assert.deepEqual(await lowContrastText(page), [], "the overview");
    await page.goto(`${fixture.url}/#/outbox?status=dead`);
    await page.getByRole("heading", { level: 1, name: "Outbox" }).waitFor();
    assert.deepEqual(await lowContrastText(page), [], "the outbox");
    const first = paymentId();
    assert.equal((await requestPayment(fixture, first)).status, 200);
    await page.goto(`${fixture.url}/#/m/payments/e/${first}`);
    await page.locator(".timeline-entry").first().waitFor();
    assert.deepEqual(await lowContrastText(page), [], "an entity");
    await page.goto(`${fixture.url}/#/m/payments`);
    await page.locator("table.entities tbody tr").first().waitFor();

    // Every control of the page has a label.
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll("input, select, textarea")]
        .filter((element) => (element as HTMLInputElement).labels?.length === 0 && !element.getAttribute("aria-label"))
        .map((element) => element.outerHTML),
    );
    assert.deepEqual(unlabelled, []);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
