// Helpers of the dashboard's browser tests: the fixture server as a child process (a real
// server on a free port, temporary data directory, known admin token), Debian's Chromium
// driven by playwright-core, and screenshots saved as test artifacts. Not a test file itself.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { serverEnv } from "@drover/example-payments/test-support/server-env";
import { TokenStore } from "@drover/http";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { chromium } from "playwright-core";

/** Debian's Chromium (`.ci/run` installs it); `DROVER_CHROMIUM` names another binary. */
export const CHROMIUM = process.env.DROVER_CHROMIUM ?? "/usr/bin/chromium";

/** The flags the tests run Chromium with: headless, and quiet (no network of its own). */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Why the browser tests cannot run here, or `undefined` if they can. */
export function missingBrowser(): string | undefined {
  return existsSync(CHROMIUM)
    ? undefined
    : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set DROVER_CHROMIUM)`;
}

/** When services are required (CI), a missing browser fails the tests instead of skipping them. */
export const browserRequired = process.env.DROVER_REQUIRE_SERVICES === "1";

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, timeout: 30_000 });
}

/** Where screenshots go: `artifacts/dashboard/` at the repository root (gitignored). */
export const ARTIFACTS =
  process.env.DROVER_ARTIFACTS_DIR ?? fileURLToPath(new URL("../../../../artifacts/dashboard/", import.meta.url));

/** Save a full-page screenshot as `<name>.png` in {@link ARTIFACTS}. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Save a screenshot of one element as `<name>.png` in {@link ARTIFACTS}. */
export async function screenshotOf(locator: Locator, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await locator.screenshot({ path });
  return path;
}

/** A page that fails the test on any script error or failed request it makes. */
export async function watchedPage(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.setDefaultTimeout(10_000);
  return { page, problems };
}

/**
 * Text on the page whose contrast with its background is below WCAG AA (4.5:1, 3:1 for large
 * text), as `"text": ratio` strings. Backgrounds are found by walking up to the first opaque
 * one; SVG text is left to the chart and diagram tests.
 */
export function lowContrastText(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const parse = (color: string): [number, number, number, number] => {
      const parts = color.match(/[\d.]+/g)?.map(Number) ?? [0, 0, 0];
      return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts[3] ?? 1];
    };
    const luminance = ([r, g, b]: number[]) => {
      const channel = (c: number) => {
        const v = c / 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * channel(r ?? 0) + 0.7152 * channel(g ?? 0) + 0.0722 * channel(b ?? 0);
    };
    const background = (element: Element | null): number[] => {
      for (let node = element; node !== null; node = node.parentElement) {
        const color = parse(getComputedStyle(node).backgroundColor);
        if (color[3] > 0.5) return color;
      }
      return [255, 255, 255, 1];
    };
    const failures: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      const element = node.parentElement;
      const text = node.textContent?.trim() ?? "";
      if (element === null || text === "" || element.closest("svg") !== null) continue;
      const style = getComputedStyle(element);
      const box = element.getBoundingClientRect();
      if (style.visibility === "hidden" || style.display === "none" || box.width === 0 || box.height === 0) continue;
      const fg = luminance(parse(style.color));
      const bg = luminance(background(element));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      const size = Number.parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) failures.push(`${JSON.stringify(text.slice(0, 40))}: ${ratio.toFixed(2)}`);
    }
    return failures;
  });
}

// ─── The server ────────────────────────────────────────────────────────────────────────

const SERVER = fileURLToPath(new URL("./fixture-server.js", import.meta.url));
const LISTENING = /listening on (http:\/\/\S+)/;

export interface Fixture {
  readonly url: string;
  readonly dataDir: string;
  readonly tokens: { readonly admin: string; readonly write: string; readonly read: string };
  /** While this file exists, the notes' Announce effect fails for good. */
  readonly channelDownFile: string;
  output(): string;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** Start the fixture server on 127.0.0.1:0; resolves once it listens, with tokens of each scope. */
export async function startFixture(): Promise<Fixture> {
  const dataDir = mkdtempSync(join(tmpdir(), "drover-dashboard-e2e-"));
  const admin = `drv_e2e_admin_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const channelDownFile = join(dataDir, "channel-down");
  const env = serverEnv({
    DROVER_PORT: "0",
    DROVER_HOST: "127.0.0.1",
    DROVER_DATA_DIR: dataDir,
    DROVER_ADMIN_TOKEN: admin,
    DROVER_LOG_LEVEL: "warn",
    // Slow enough that a test sees the payment authorizing before it is authorized.
    PAYMENTS_PROVIDER_LATENCY_MS: "400",
    NOTES_CHANNEL_DOWN_FILE: channelDownFile,
  });
  const child = spawn(process.execPath, [SERVER], { env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const deadline = Date.now() + 20_000;
  let url: string | undefined;
  while (url === undefined) {
    url = LISTENING.exec(output)?.[1];
    if (url !== undefined) break;
    if (child.exitCode !== null) throw new Error(`the fixture server exited:\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the fixture server did not start in time:\n${output}`);
    }
    await sleep(20);
  }
  const tokens = TokenStore.open(dataDir);
  return {
    url,
    dataDir,
    tokens: {
      admin,
      write: tokens.create({ scopes: ["write"], name: "e2e writer" }).token,
      read: tokens.create({ scopes: ["read"], name: "e2e reader" }).token,
    },
    channelDownFile,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
      children.delete(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An API call with a token, JSON in and out. */
export async function callApi(
  fixture: Fixture,
  method: "GET" | "POST",
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, fixture.url), {
    method,
    headers: {
      authorization: `Bearer ${options.token ?? fixture.tokens.admin}`,
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body };
}

/** Poll `check` until it returns something other than `undefined`; fail after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A fresh payment id. */
export function paymentId(): string {
  return `pay_${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36)}e2e`.padEnd(24, "x");
}

/** A fresh note id. */
export function noteId(): string {
  return `note_${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36)}`.slice(0, 29);
}
