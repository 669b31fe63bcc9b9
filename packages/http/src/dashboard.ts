import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";

/** One built file of the dashboard, read once at start. */
export interface DashboardAsset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** The dashboard's files by URL path (`/` is index.html, the rest under `/assets/`). */
export type DashboardAssets = ReadonlyMap<string, DashboardAsset>;

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The page holds no data and runs only its own bundled script: no inline script, no other
 * origin (the machine may be offline, and what the API returns can never run as code).
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Read every file under `dir` into memory (the dashboard is a few small files): `index.html`
 * answers `/`, every other file `/<its path>`.
 */
export function loadDashboardAssets(dir: string): DashboardAssets {
  const assets = new Map<string, DashboardAsset>();
  const visit = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (statSync(path).isFile()) {
        const body = readFileSync(path);
        const url = `/${relative(dir, path).split(sep).join("/")}`;
        const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
        const asset = { body, type: TYPES[extname(path)] ?? "application/octet-stream", etag };
        assets.set(url === "/index.html" ? "/" : url, asset);
      }
    }
  };
  visit(dir);
  return assets;
}
