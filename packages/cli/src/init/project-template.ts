// The project files `drover init` writes around the domain: package.json (versions of this
// CLI's own packages), tsconfig, drover.config.ts, README. Text, so the CLI ships no folder.
import { EFFECTS, MACHINE, TESTS } from "./machine-template.js";

/** What a scaffold is made from. */
export interface ProjectSettings {
  /** The npm package name of the new application. */
  readonly name: string;
  /** The version range of the @drover/* packages to depend on. */
  readonly droverVersion: string;
  readonly zodVersion: string;
  readonly typescriptVersion: string;
}

/** Every file of a new application, by path relative to its folder. */
export function projectFiles(settings: ProjectSettings): Record<string, string> {
  return {
    "package.json": `${JSON.stringify(packageJson(settings), null, 2)}\n`,
    "tsconfig.json": `${JSON.stringify(TSCONFIG, null, 2)}\n`,
    "drover.config.ts": CONFIG,
    ".gitignore": "node_modules/\ndist/\ndata/\n",
    "README.md": readme(settings.name),
    "src/subscriptions.ts": MACHINE,
    "src/effects.ts": EFFECTS,
    "src/subscriptions.test.ts": TESTS,
  };
}

function packageJson(settings: ProjectSettings) {
  return {
    name: settings.name,
    version: "0.1.0",
    private: true,
    type: "module",
    engines: { node: ">=20" },
    scripts: {
      build: "tsc -p .",
      test: "tsc -p . && node --test dist/",
      start: "drover serve",
    },
    dependencies: {
      "@drover/cli": settings.droverVersion,
      "@drover/core": settings.droverVersion,
      zod: settings.zodVersion,
    },
    devDependencies: {
      "@types/node": "^20.19.0",
      typescript: settings.typescriptVersion,
    },
  };
}

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: true,
    rootDir: "src",
    outDir: "dist",
    types: ["node"],
  },
  include: ["src"],
};

const CONFIG = `// What \`drover serve\` and the other drover commands run: the machines, the effect handlers
// (only serve makes them) and defaults. Flags and DROVER_* variables win over the defaults.
import { defineConfig } from "@drover/cli";
import { logMailer, subscriptionEffects } from "./src/effects.js";
import { subscriptions } from "./src/subscriptions.js";

export default defineConfig({
  name: "subscriptions",
  machines: [subscriptions],
  effects: ({ logger }) => [subscriptionEffects(logMailer((line) => logger.info({}, line)))],
  defaults: { db: "sqlite:./data/drover.db" },
});
`;

function readme(name: string): string {
  return `# ${name}

A drover application: \`src/subscriptions.ts\` is the machine (pure: it decides), \`src/effects.ts\`
the one effect handler (it touches the world), \`drover.config.ts\` ties them together.

\`\`\`sh
npm install
npm test                 # the machine's given/when/then tests
npx drover serve         # HTTP API + dashboard on http://127.0.0.1:3000 (SQLite in ./data)
npx drover send subscriptions sub_0123456789 '{"type":"Subscribe","plan":"pro","email":"ada@example.com"}'
npx drover inspect subscriptions sub_0123456789
npx drover diagram subscriptions
\`\`\`

A subscription starts a 14-day trial (a durable timer ends it), sends a welcome mail through the
outbox (retried, never sent twice), and can be cancelled. Change a rule in the machine, run the
tests, and \`npx drover replay subscriptions\` shows what the new rule would have decided
differently for the entities already stored.
`;
}
