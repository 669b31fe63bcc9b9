// The one thing @drover/dashboard exports to code: where its built files are. A project of
// its own (not src/, which holds the browser tests and needs the whole monorepo built), so
// @drover/cli can depend on it without a cycle of project references.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder of the dashboard's built files (`dist/public`, made by `npm run build -w
 * @drover/dashboard`), to hand to `buildServer({ dashboard })` or `serve(…, { dashboard })`
 * of `@drover/http`; `undefined` when the dashboard has not been built.
 *
 * @example
 * const server = await buildServer({ app, tokens, dashboard: dashboardAssetsDir() });
 */
export function dashboardAssetsDir(): string | undefined {
  // This file runs as dist/lib/assets.js.
  const dir = fileURLToPath(new URL("../public/", import.meta.url));
  return existsSync(join(dir, "index.html")) ? dir : undefined;
}
