// Builds the dashboard into dist/public: the page, its stylesheet and one bundled, minified
// script (Preact included) — static files that @drover/http serves at /, nothing fetched from
// elsewhere at run time. Type-checks the browser code first (esbuild only strips types).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const web = join(here, "web");
const out = join(here, "dist", "public");

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
try {
  execFileSync(process.execPath, [tsc, "-p", join(web, "tsconfig.json")], { stdio: "inherit" });
} catch {
  console.error("dashboard: the browser code does not type-check (see above)");
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
await build({
  entryPoints: [join(web, "main.tsx")],
  outfile: join(out, "assets", "app.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome110", "firefox115", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  logLevel: "warning",
});
copyFileSync(join(web, "index.html"), join(out, "index.html"));
copyFileSync(join(web, "style.css"), join(out, "assets", "app.css"));
copyFileSync(join(web, "favicon.svg"), join(out, "assets", "favicon.svg"));
