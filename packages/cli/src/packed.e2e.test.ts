// The packages as npm would publish them: every publishable workspace packed by `npm pack`, its
// file list and manifest checked, publint and arethetypeswrong run on the tarballs, and the
// tarballs installed into a scratch project outside the repository (no workspace links) that runs
// a machine on a SQLite file, the `drover` command and the TypeScript compiler against the
// published declarations. Slow by nature — `npm install` builds better-sqlite3's addon when no
// prebuilt binary can be downloaded — so the install starts as soon as the tarballs exist and the
// checks that do not need it run meanwhile.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import ts from "typescript";
import { ROOT } from "./test-support/run-drover.js";
import { Served } from "./test-support/served.js";

/** Dependencies that must be one copy in an application, so a library takes them as peers. */
const SINGLETONS = ["@drover/core", "@opentelemetry/api"] as const;
/** What a tarball may hold besides its package.json, README and licence. */
const SHIPPED = /^(dist|bin)\//;
const NOT_SHIPPED = /\.test\.|(^|\/)(test-support|test-fixtures|fixtures)\/|\.tsbuildinfo$|(^|\/)src\//;

const require = createRequire(import.meta.url);
const TSC = join(dirname(require.resolve("typescript/package.json")), "bin", "tsc");

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly description?: string;
  readonly license?: string;
  readonly engines?: { readonly node?: string };
  readonly repository?: { readonly type?: string; readonly url?: string; readonly directory?: string };
  readonly exports?: Record<string, string | Record<string, string>>;
  readonly bin?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}

/** One workspace package as `npm pack --json` described its tarball. */
interface Packed {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly tarball: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: readonly string[];
}

interface Ran {
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;
const explain = (ran: Ran): string => `exit ${ran.code}\n--- stdout\n${ran.stdout}\n--- stderr\n${ran.stderr}`;

/**
 * The environment of a child process without what `npm test` and `node --test` set for their
 * own children: npm_config_* would point a scratch `npm install` back at this repository.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === "INIT_CWD" || key === "NODE_TEST_CONTEXT" || key.startsWith("DROVER_")) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

function run(command: string, args: readonly string[], cwd: string, env = childEnv()): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? error.signal ?? null) : 0, stdout, stderr }),
    );
  });
}

/** The executable of one of the repository's devDependencies, run by this node. */
function bin(pkg: string, name: string): string {
  const dir = join(ROOT, "node_modules", pkg);
  const path = readJson<Manifest>(join(dir, "package.json")).bin?.[name];
  assert.ok(path, `${pkg} has no bin ${name}`);
  return join(dir, path);
}

/** The workspaces under packages/ that are not private: what a release publishes. */
function publishable(): { dir: string; manifest: Manifest }[] {
  return readdirSync(join(ROOT, "packages"))
    .map((name) => join(ROOT, "packages", name))
    .filter((dir) => existsSync(join(dir, "package.json")))
    .map((dir) => ({ dir, manifest: readJson<Manifest>(join(dir, "package.json")) }))
    .filter(({ manifest }) => manifest.private !== true);
}

async function pack(into: string): Promise<Packed[]> {
  const packages = publishable();
  mkdirSync(into, { recursive: true });
  const args = ["pack", "--json", "--pack-destination", into];
  for (const { dir } of packages) args.push("--workspace", relative(ROOT, dir));
  const ran = await run("npm", args, ROOT);
  assert.equal(ran.code, 0, explain(ran));
  const reports = JSON.parse(ran.stdout) as {
    name: string;
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }[];
  return packages.map(({ dir, manifest }) => {
    const report = reports.find((r) => r.name === manifest.name);
    assert.ok(report, `npm pack did not pack ${manifest.name}`);
    return {
      dir,
      manifest,
      tarball: join(into, report.filename),
      size: report.size,
      unpackedSize: report.unpackedSize,
      files: report.files.map((f) => f.path).sort(),
    };
  });
}

/** Every `exports` target of a manifest, with its condition order. */
function exportEntries(manifest: Manifest): { subpath: string; conditions: string[]; targets: string[] }[] {
  return Object.entries(manifest.exports ?? {}).map(([subpath, target]) =>
    typeof target === "string"
      ? { subpath, conditions: [], targets: [target] }
      : { subpath, conditions: Object.keys(target), targets: Object.values(target) },
  );
}

/** The package names a shipped file imports (static, dynamic, re-exports; comments ignored). */
function importedPackages(code: string): string[] {
  const names = ts.preProcessFile(code, true, true).importedFiles.map((f) => f.fileName);
  return names
    .filter((name) => !name.startsWith(".") && !name.startsWith("/") && !isBuiltin(name))
    .map((name) => (name.startsWith("@") ? name.split("/").slice(0, 2).join("/") : (name.split("/")[0] ?? name)));
}

/** Every installed copy of `name` under `dir`'s node_modules, nested ones included. */
function installedCopies(dir: string, name: string): string[] {
  const modules = join(dir, "node_modules");
  if (!existsSync(modules)) return [];
  const found: string[] = [];
  if (existsSync(join(modules, name, "package.json"))) found.push(join(modules, name));
  for (const entry of readdirSync(modules)) {
    const packages = entry.startsWith("@")
      ? readdirSync(join(modules, entry)).map((scoped) => join(modules, entry, scoped))
      : [join(modules, entry)];
    for (const pkg of packages) if (!lstatSync(pkg).isSymbolicLink()) found.push(...installedCopies(pkg, name));
  }
  return found;
}

// The scratch project's files. The machine is the README's doors, in plain JavaScript.
const DOORS = `import { accept, defineMachine, reject } from "@drover/core";
import { z } from "zod";

export const doors = defineMachine({
  name: "doors",
  id: z.string().regex(/^door_\\w+$/).brand("DoorId"),
  state: z.object({ open: z.boolean() }),
  events: z.discriminatedUnion("type", [z.object({ type: z.literal("Install") }), z.object({ type: z.literal("Open") })]),
  intents: z.never(),
  rejections: z.enum(["already_installed", "already_open"]),
  creates: ["Install"],
  create: () => accept({ open: false }),
  handle: (state, event) =>
    event.type === "Install" ? reject("already_installed") : state.open ? reject("already_open") : accept({ open: true }),
});
`;
const RUN_DOORS = `import { Runtime } from "@drover/core";
import { SqliteStore } from "@drover/sqlite";
import { doors } from "./doors.mjs";

const store = SqliteStore.open({ path: process.argv[2] });
const runtime = new Runtime({ store, machines: [doors] });
const ref = { machine: "doors", id: "door_1" };
const results = [
  await runtime.run(ref, { type: "Install" }, { eventId: "install-door_1" }),
  await runtime.run(ref, { type: "Open" }, { eventId: "open-door_1" }),
  await runtime.run(ref, { type: "Open" }),
];
await store.close();
console.log(JSON.stringify(results.map(({ kind, version, reason }) => ({ kind, version, reason }))));
`;
const CONFIG = `import { defineConfig } from "@drover/cli";
import { doors } from "./doors.mjs";

export default defineConfig({ name: "doors", machines: [doors] });
`;
const CONSUMER = `import { z } from "zod";
import * as check from "@drover/check";
import * as cli from "@drover/cli";
import { accept, defineMachine, reject, Runtime, type RunResult } from "@drover/core";
import * as graph from "@drover/core/graph";
import * as sql from "@drover/core/sql";
import * as testing from "@drover/core/testing";
import * as dashboard from "@drover/dashboard";
import * as http from "@drover/http";
import type * as wire from "@drover/http/wire";
import * as nats from "@drover/nats";
import * as natsTesting from "@drover/nats/testing";
import * as postgres from "@drover/postgres";
import * as postgresTesting from "@drover/postgres/testing";
import { SqliteStore } from "@drover/sqlite";

const doors = defineMachine({
  name: "doors",
  id: z.string().regex(/^door_\\w+$/).brand<"DoorId">(),
  state: z.object({ open: z.boolean() }),
  events: z.discriminatedUnion("type", [z.object({ type: z.literal("Install") }), z.object({ type: z.literal("Open") })]),
  intents: z.never(),
  rejections: z.enum(["already_installed", "already_open"]),
  creates: ["Install"],
  create: () => accept({ open: false }),
  handle: (state, event) =>
    event.type === "Install" ? reject("already_installed") : state.open ? reject("already_open") : accept({ open: true }),
});
const runtime = new Runtime({ store: SqliteStore.open({ path: "doors.db" }), machines: [doors] });
export const result: Promise<RunResult> = runtime.run({ machine: "doors", id: "door_1" }, { type: "Open" });
export const config = cli.defineConfig({ machines: [doors] });
export const modules = [check, graph, sql, testing, dashboard, http, nats, natsTesting, postgres, postgresTesting];
export type Wire = typeof wire;
`;
const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    noEmit: true,
    // The point: a consumer that checks libraries' declarations finds every type they use.
    skipLibCheck: false,
    types: ["node"],
  },
  files: ["consumer.ts"],
};

describe("the published packages", () => {
  const work = mkdtempSync(join(tmpdir(), "drover-packed-"));
  const project = join(work, "project");
  let packed: Packed[] = [];
  let installed: Promise<Ran> = Promise.reject(new Error("the packages were never packed"));
  installed.catch(() => {});

  before(async () => {
    assert.ok(relative(ROOT, work).startsWith(".."), `${work} is inside the repository; set TMPDIR elsewhere`);
    for (const { dir, manifest } of publishable()) {
      assert.ok(existsSync(join(dir, "dist")), `${manifest.name} is not built: npm run build first`);
    }
    packed = await pack(join(work, "tarballs"));
    mkdirSync(join(project, "data"), { recursive: true });
    writeFileSync(
      join(project, "package.json"),
      `${JSON.stringify({ name: "scratch", private: true, type: "module" })}\n`,
    );
    writeFileSync(join(project, "doors.mjs"), DOORS);
    writeFileSync(join(project, "run-doors.mjs"), RUN_DOORS);
    writeFileSync(join(project, "drover.config.mjs"), CONFIG);
    writeFileSync(join(project, "consumer.ts"), CONSUMER);
    writeFileSync(join(project, "tsconfig.json"), `${JSON.stringify(TSCONFIG, null, 2)}\n`);
    // What an application adds beside drover: zod for its machines, @types/node for its compiler.
    const core = packed.find((p) => p.manifest.name === "@drover/core")?.manifest;
    const root = readJson<Manifest>(join(ROOT, "package.json"));
    const extra = [`zod@${core?.dependencies?.zod}`, `@types/node@${root.devDependencies?.["@types/node"]}`];
    installed = run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", ...packed.map((p) => p.tarball), ...extra],
      project,
      childEnv({ JOBS: "max" }), // node-gyp compiles better-sqlite3 on every core
    );
    installed.catch(() => {});
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  it("ship their README, package.json and built files only: no sources, tests, test support or fixtures", () => {
    const report = packed.map(
      (p) => `${p.manifest.name}: ${p.files.length} files, ${p.size} B packed, ${p.unpackedSize} B unpacked`,
    );
    console.log(report.join("\n"));
    for (const { manifest, files } of packed) {
      assert.ok(files.includes("README.md"), `${manifest.name} ships no README.md`);
      assert.deepEqual(
        files.filter((f) => !(SHIPPED.test(f) || /^(package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(f))),
        [],
        `${manifest.name} ships files outside dist/ and bin/`,
      );
      assert.deepEqual(
        files.filter((f) => NOT_SHIPPED.test(f)),
        [],
        `${manifest.name} ships tests, test support or fixtures`,
      );
      for (const { subpath, targets } of exportEntries(manifest)) {
        for (const target of targets) {
          assert.ok(
            files.includes(target.replace(/^\.\//, "")),
            `${manifest.name} exports ${subpath} as ${target}, not shipped`,
          );
        }
      }
      for (const [name, target] of Object.entries(manifest.bin ?? {})) {
        assert.ok(
          files.includes(target.replace(/^\.\//, "")),
          `${manifest.name}'s bin ${name} (${target}) is not shipped`,
        );
      }
    }
  });

  it("say what they need and where they come from: engines, licence, repository, types first in exports", () => {
    for (const { dir, manifest } of packed) {
      assert.equal(manifest.engines?.node, ">=20", `${manifest.name}: engines.node`);
      assert.equal(manifest.license, "MIT", `${manifest.name}: license`);
      assert.ok(manifest.description, `${manifest.name}: description`);
      assert.equal(manifest.repository?.directory, relative(ROOT, dir), `${manifest.name}: repository.directory`);
      assert.match(manifest.repository?.url ?? "", /^git\+https:\/\/.+\.git$/, `${manifest.name}: repository.url`);
      for (const { subpath, conditions } of exportEntries(manifest)) {
        if (conditions.includes("types")) assert.equal(conditions[0], "types", `${manifest.name} ${subpath}`);
      }
    }
  });

  it("import only what they declare, and take @drover/core and @opentelemetry/api as peers", () => {
    const problems: string[] = [];
    for (const { dir, manifest, files } of packed) {
      const imported = new Set(
        files
          .filter((f) => /\.(js|d\.ts)$/.test(f))
          .flatMap((f) => importedPackages(readFileSync(join(dir, f), "utf8")))
          .filter((name) => name !== manifest.name),
      );
      for (const name of imported) {
        const singleton = (SINGLETONS as readonly string[]).includes(name);
        if (singleton && !manifest.peerDependencies?.[name]) problems.push(`${manifest.name} imports ${name}: a peer`);
        else if (singleton && manifest.dependencies?.[name])
          problems.push(`${manifest.name} lists ${name} as a dependency too: two copies`);
        else if (singleton && !manifest.devDependencies?.[name])
          problems.push(`${manifest.name} takes ${name} as a peer but no devDependency builds it in the workspace`);
        else if (!manifest.dependencies?.[name] && !manifest.peerDependencies?.[name])
          problems.push(`${manifest.name} imports ${name} without declaring it`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it("pass publint with nothing to say", async () => {
    const publint = bin("publint", "publint");
    const runs = await Promise.all(
      packed.map((p) => run(process.execPath, [publint, "run", p.tarball, "--strict", "--level", "suggestion"], work)),
    );
    for (const [index, ran] of runs.entries()) {
      assert.equal(ran.code, 0, `${packed[index]?.manifest.name}: ${explain(ran)}`);
      assert.match(ran.stdout, /All good!/, `${packed[index]?.manifest.name}: ${explain(ran)}`);
    }
  });

  it("resolve their types as ESM-only packages (arethetypeswrong, profile esm-only)", async () => {
    const attw = bin("@arethetypeswrong/cli", "attw");
    const args = ["--profile", "esm-only", "--format", "ascii", "--no-color", "--no-emoji"];
    const runs = await Promise.all(packed.map((p) => run(process.execPath, [attw, p.tarball, ...args], work)));
    for (const [index, ran] of runs.entries()) {
      assert.equal(ran.code, 0, `${packed[index]?.manifest.name}: ${explain(ran)}`);
    }
  });

  describe("installed from the tarballs into a project outside the repository", { concurrency: true }, () => {
    before(async () => {
      const ran = await installed;
      assert.equal(ran.code, 0, `npm install of the tarballs failed: ${explain(ran)}`);
    });

    it("links nothing back to the workspace and holds one copy of @opentelemetry/api", () => {
      for (const { manifest } of packed) {
        const path = join(project, "node_modules", manifest.name);
        assert.ok(existsSync(join(path, "package.json")), `${manifest.name} is not installed`);
        assert.equal(lstatSync(path).isSymbolicLink(), false, `${manifest.name} is a link`);
      }
      const copies = installedCopies(project, "@opentelemetry/api");
      assert.deepEqual(
        copies.map((copy) => relative(project, copy)),
        [join("node_modules", "@opentelemetry", "api")],
      );
      const [api] = copies;
      assert.match(readJson<Manifest>(join(api ?? "", "package.json")).version, /^1\.9\./);
      assert.deepEqual(
        installedCopies(project, "@drover/core").map((copy) => relative(project, copy)),
        [join("node_modules", "@drover", "core")],
      );
    });

    it("runs a machine on a SQLite file, and finds its events there on the next run", async () => {
      const first = await run(process.execPath, ["run-doors.mjs", "data/doors.db"], project);
      assert.equal(first.code, 0, explain(first));
      assert.deepEqual(JSON.parse(first.stdout), [
        { kind: "processed", version: 1 },
        { kind: "processed", version: 2 },
        { kind: "rejected", version: 2, reason: "already_open" },
      ]);
      const second = await run(process.execPath, ["run-doors.mjs", "data/doors.db"], project);
      assert.equal(second.code, 0, explain(second));
      assert.deepEqual(JSON.parse(second.stdout), [
        { kind: "duplicate" },
        { kind: "duplicate" },
        { kind: "rejected", version: 2, reason: "already_open" },
      ]);
    });

    it("answers npx drover --help", async () => {
      const ran = await run("npx", ["--no", "--", "drover", "--help"], project);
      assert.equal(ran.code, 0, explain(ran));
      assert.match(ran.stdout, /^Usage: drover /);
      assert.match(ran.stdout, /\n {2}send /);
    });

    it("sends events with npx drover to the project's own machines (one @drover/core for both)", async () => {
      const db = "sqlite:./data/cli.db";
      const sent = await run(
        "npx",
        ["--no", "--", "drover", "send", "doors", "door_2", '{"type":"Install"}', "--db", db, "--json"],
        project,
      );
      assert.equal(sent.code, 0, explain(sent));
      assert.equal((JSON.parse(sent.stdout) as { kind: string }).kind, "processed");
      const again = await run(
        "npx",
        ["--no", "--", "drover", "send", "doors", "door_2", '{"type":"Install"}', "--db", db, "--json"],
        project,
      );
      assert.equal(again.code, 1, explain(again));
      assert.equal((JSON.parse(again.stdout) as { reason: string }).reason, "already_installed");
    });

    it("scaffolds with npx drover init; the scaffold compiles, its tests pass and it serves", async () => {
      const made = await run("npx", ["--no", "--", "drover", "init", "app"], project);
      assert.equal(made.code, 0, explain(made));
      const app = join(project, "app");
      // The scaffold's dependencies are the tarballs installed in the project around it.
      symlinkSync(join(project, "node_modules"), join(app, "node_modules"), "dir");
      const compiled = await run(process.execPath, [TSC, "-p", "."], app);
      assert.equal(compiled.code, 0, explain(compiled));
      const tested = await run(process.execPath, ["--test", "dist/"], app);
      assert.equal(tested.code, 0, explain(tested));
      assert.match(tested.stdout, /# pass 4/);
      const served = await Served.start(["--data-dir", join(app, "data")], {
        cwd: app,
        bin: join(app, "node_modules", "@drover", "cli", "bin", "drover.js"),
        env: { DROVER_ADMIN_TOKEN: "packed-init-admin-0123456789" },
      });
      try {
        const answer = await fetch(`${served.url}/v1/subscriptions/sub_0123456789/events`, {
          method: "POST",
          headers: { authorization: "Bearer packed-init-admin-0123456789", "content-type": "application/json" },
          body: JSON.stringify({ type: "Subscribe", plan: "basic", email: "ada@example.com" }),
        });
        assert.equal(answer.status, 200, await answer.text());
      } finally {
        await served.stop();
      }
    });

    it("type-checks a TypeScript consumer against the published declarations, skipLibCheck off", async () => {
      const ran = await run(process.execPath, [TSC, "-p", "tsconfig.json"], project);
      assert.equal(ran.code, 0, explain(ran));
    });
  });
});
