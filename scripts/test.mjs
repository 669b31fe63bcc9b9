// Runs every compiled test file of the workspaces with node's test runner.
// `npm test` builds first (pretest); extra arguments are passed to `node --test`.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const roots = ["packages", "examples"].flatMap((dir) =>
  readdirSync(dir)
    .map((name) => join(dir, name, "dist"))
    .filter((path) => exists(path)),
);
if (exists("bench/dist")) roots.push("bench/dist");
const files = roots.flatMap(findTests).sort();
if (files.length === 0) {
  console.error("no compiled test files found: run `npm run build` first");
  process.exit(1);
}
const args = ["--test", "--test-concurrency=2", ...process.argv.slice(2), ...files];
const { status } = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(status ?? 1);

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith(".test.js") ? [path] : [];
  });
}

function exists(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
