// Every `@example` in the public TSDoc of the publishable packages besides @drover/core (which
// checks its own) compiles: @drover/sqlite, @drover/postgres, @drover/nats, @drover/http,
// @drover/cli and @drover/check, each entry point their `exports` name. The machinery is
// core's (test-support/tsdoc-examples.ts, not shipped); here are, for each package, its entry
// points, what its examples see besides their exports, and a short, typed list of ambient
// values. The CLI depends on all of them, so every specifier resolves from its sources.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { brokenExample, checkExamples, DOORS, type Entry } from "../../core/dist/test-support/tsdoc-examples.js";

const CLI = fileURLToPath(new URL("..", import.meta.url));
const PACKAGES = join(CLI, "..");
const REPO = join(PACKAGES, "..");

/**
 * The entry points of the package in `packages/<dir>`, as its `package.json` `exports` name
 * them: the source file of each `./dist/….js` and the specifier users import.
 */
function entries(dir: string): Entry[] {
  const manifest = JSON.parse(readFileSync(join(PACKAGES, dir, "package.json"), "utf8")) as {
    readonly name: string;
    readonly exports: Readonly<Record<string, { readonly default: string }>>;
  };
  return Object.entries(manifest.exports).map(([subpath, target]) => ({
    file: join(PACKAGES, dir, target.default.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts")),
    specifier: subpath === "." ? manifest.name : `${manifest.name}/${subpath.replace(/^\.\//, "")}`,
  }));
}

interface PackageCheck {
  readonly entries: readonly Entry[];
  readonly imports: readonly string[];
  readonly prelude: string;
}

/** zod's `z` and the doors machine of the examples, for the packages whose examples run one. */
const WITH_DOORS = `import { z } from "zod";\n${DOORS}`;

/**
 * Each package: its entry points (its `exports`), what every example sees besides their
 * exports, and the ambient values its examples name without building them. Keep these short
 * and typed: an example that needs more should say where it comes from.
 */
const PACKAGE_CHECKS: Readonly<Record<string, PackageCheck>> = {
  "@drover/sqlite": {
    entries: entries("sqlite"),
    imports: ["@drover/core"],
    prelude: `${WITH_DOORS}
declare const store: SqliteStore;
declare const state: Json;
`,
  },
  "@drover/postgres": {
    entries: entries("postgres"),
    imports: ["@drover/core"],
    prelude: WITH_DOORS,
  },
  "@drover/nats": {
    entries: entries("nats"),
    imports: ["@drover/core"],
    prelude: `import type { NatsConnection } from "@nats-io/nats-core";
${WITH_DOORS}
declare const connection: NatsConnection;
declare const store: Store;
declare const app: App;
declare const doorEffects: Effects;
declare const logger: Logger;
`,
  },
  "@drover/http": {
    entries: entries("http"),
    imports: ["@drover/core"],
    prelude: `${WITH_DOORS}
declare const app: App;
declare const store: Store;
declare const tokens: TokenStore;
declare const response: Response;
declare const token: string;
declare const scopes: readonly Scope[];
`,
  },
  "@drover/cli": {
    entries: entries("cli"),
    imports: ["@drover/core"],
    prelude: `${WITH_DOORS}
declare function doorEffects(options: { readonly bellUrl: string }): Effects;
declare const config: DroverConfig;
`,
  },
  "@drover/dashboard": {
    // Its entry is built from lib/, not src/.
    entries: [{ file: join(PACKAGES, "dashboard", "lib", "assets.ts"), specifier: "@drover/dashboard" }],
    imports: ["@drover/core", "@drover/http"],
    prelude: `declare const app: App;
declare const tokens: TokenStore;
`,
  },
  "@drover/check": {
    entries: entries("check"),
    imports: [],
    prelude: "",
  },
};

for (const [name, check] of Object.entries(PACKAGE_CHECKS)) {
  describe(`TSDoc examples of ${name}`, () => {
    const { examples, problems } = checkExamples({ repo: REPO, home: join(CLI, "src"), ...check }, (entry) => [
      brokenExample(entry),
    ]);

    it("finds examples in the package's public TSDoc", () => {
      assert.ok(examples.length > 0, `no @example in the public TSDoc of ${name}`);
    });

    it("reports an example that does not compile", () => {
      assert.match((problems.get(examples.length) ?? []).join("\n"), /not assignable to type 'number'/);
    });

    examples.forEach((example, index) => {
      const found = problems.get(index);
      it(`${example.file}:${example.line} (${example.owner}) compiles`, () => {
        if (found !== undefined) {
          assert.fail(`the @example of ${example.owner} does not compile:\n${found.join("\n")}\n\n${example.code}`);
        }
      });
    });
  });
}
