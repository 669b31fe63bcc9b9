// `npm run version-packages`: turn the pending changesets into versions and changelogs, and bring
// the lock file along. The published packages are one fixed group (.changeset/config.json): they
// always share a version. The adapters, http, nats and the cli take @drover/core as a peer, and
// changesets 2 (the last line that runs on Node 20) releases a package whose peer range the new
// version leaves as a major: in 0.x a minor of @drover/core would turn every package into 1.0.0
// (changesets/changesets#794). So the peer ranges are raised to the group's next version first,
// and the result is checked before anything else happens. (changesets then warns that those
// packages "must depend on the current version" of @drover/core: true until it versions it.)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BUMPS = ["patch", "minor", "major"];
/** Workspaces that are never published but pin the packages' versions. */
const PRIVATE = ["examples/payments", "bench"];

const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));
const writeJson = (path, value) => writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
const sh = (command, args) => execFileSync(command, args, { cwd: ROOT, stdio: "inherit" });

const config = readJson(join(ROOT, ".changeset", "config.json"));
const group = new Set(config.fixed.flat());
const packages = readdirSync(join(ROOT, "packages"))
  .map((name) => join(ROOT, "packages", name, "package.json"))
  .map((path) => ({ path, manifest: readJson(path) }))
  .filter(({ manifest }) => group.has(manifest.name));
const missing = [...group].filter((name) => !packages.some(({ manifest }) => manifest.name === name));
if (missing.length > 0) fail(`.changeset/config.json names packages that packages/ lacks: ${missing.join(", ")}`);

const versions = new Set(packages.map(({ manifest }) => manifest.version));
if (versions.size !== 1) fail(`the fixed group's packages disagree on their version: ${[...versions].join(", ")}`);
const [current] = versions;

const dir = mkdtempSync(join(tmpdir(), "drover-changesets-"));
let status;
try {
  sh("npx", ["changeset", "status", "--output", join(dir, "status.json")]);
  status = readJson(join(dir, "status.json"));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const bump = status.changesets
  .flatMap((changeset) => changeset.releases)
  .filter((release) => group.has(release.name))
  .map((release) => BUMPS.indexOf(release.type))
  .reduce((a, b) => Math.max(a, b), -1);
if (bump < 0) fail("no changeset releases a published package: nothing to version (npx changeset adds one)");
const next = increment(current, BUMPS[bump]);

for (const { path, manifest } of packages) {
  for (const name of Object.keys(manifest.peerDependencies ?? {})) {
    if (group.has(name)) manifest.peerDependencies[name] = `^${next}`;
  }
  writeJson(path, manifest);
}
sh("npx", ["changeset", "version"]);

const wrong = packages
  .map(({ path }) => readJson(path))
  .filter((manifest) => manifest.version !== next)
  .map((manifest) => `${manifest.name} ${manifest.version}`);
if (wrong.length > 0) fail(`expected every package at ${next}, got ${wrong.join(", ")}: review before committing`);

// The changelogs and manifests changesets wrote, in the repository's format (npm run lint).
const written = packages.flatMap(({ path }) => [path, join(path, "..", "CHANGELOG.md")]);
sh("npx", ["biome", "format", "--write", ...written, ...PRIVATE.map((dir) => join(ROOT, dir, "package.json"))]);
sh("npm", ["install", "--no-audit", "--no-fund"]);
console.log(`\nversioned ${packages.length} packages at ${next}: review the diff and CHANGELOG.md files, commit`);

function increment(version, type) {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match) fail(`${version} is not a plain x.y.z version (pre-release mode is not handled here)`);
  const [major, minor, patch] = match.slice(1).map(Number);
  if (type === "major") return `${major + 1}.0.0`;
  if (type === "minor") return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

function fail(message) {
  console.error(`version-packages: ${message}`);
  process.exit(1);
}
