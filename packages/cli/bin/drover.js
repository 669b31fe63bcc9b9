#!/usr/bin/env node
// The `drover` executable. It runs the compiled CLI; in the drover repository, where the
// workspaces are built by `tsc -b` (npm start and npm test do it), a missing build is made
// first, so `npx drover` works right after `npm ci`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const main = join(packageDir, "dist", "main.js");
if (!existsSync(main)) {
  const root = join(packageDir, "..", "..");
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(join(root, "tsconfig.json")) || !existsSync(tsc)) {
    process.stderr.write(`drover: ${main} is missing; build the package first (npx tsc -b)\n`);
    process.exit(3);
  }
  process.stderr.write("drover: building the workspaces first (tsc -b)…\n");
  const build = (...args) => spawnSync(process.execPath, [tsc, "-b", ...args], { stdio: "inherit" }).status === 0;
  // A stale tsconfig.tsbuildinfo beside a deleted dist makes tsc think the package is built.
  const built =
    build(join(root, "tsconfig.json")) && (existsSync(main) || build("--force", join(packageDir, "tsconfig.json")));
  if (!built || !existsSync(main)) {
    process.stderr.write("drover: the build failed; run npm run build to see why\n");
    process.exit(3);
  }
}
await import(new URL(`file://${main}`).href);
