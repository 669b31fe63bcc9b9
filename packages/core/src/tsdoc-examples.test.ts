// Every `@example` in the public TSDoc of @drover/core compiles (the machinery, shared with the
// CLI's check of the other packages, is in test-support/tsdoc-examples.ts). The public TSDoc is
// that of what the package's entry points export (and of their members), plus the entry
// points' own package documentation. Each example becomes a module: a header (everything the
// entry exports, zod's `z`, the doors machine of the examples and a short list of ambient
// values), the example's own imports, and its code as the body of an async function, so that
// `return …` and `await …` read as they would inside a handler. The modules are type-checked
// together, with the repository's compiler options, against the built declarations.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { brokenExample, checkExamples, DOORS } from "./test-support/tsdoc-examples.js";

const CORE = fileURLToPath(new URL("..", import.meta.url));
const REPO = join(CORE, "..", "..");

/** The package's entry points, as source files and as the specifiers users import. */
const ENTRIES = [
  { file: "src/index.ts", specifier: "@drover/core" },
  { file: "src/graph/index.ts", specifier: "@drover/core/graph" },
  { file: "src/sql/index.ts", specifier: "@drover/core/sql" },
  { file: "src/testing/index.ts", specifier: "@drover/core/testing" },
].map((entry) => ({ ...entry, file: join(CORE, entry.file) }));

/**
 * What every example may use besides the entry's exports: the doors machine the examples talk
 * about, and values an example names without building them. Keep it short and typed: an
 * example that needs more should say where it comes from.
 */
const PRELUDE = `
import type { Span } from "@opentelemetry/api";
import { context, trace } from "@opentelemetry/api";
import { z } from "zod";

${DOORS}

declare const runtime: Runtime;
declare const app: App;
declare const store: Store;
declare const doorEffects: Effects;
declare const id: string;
declare const state: DoorState;
declare const event: MachineEvent<typeof doors>;
declare const ctx: StepContext<DoorId>;
declare const entity: StoredEntity;
declare const timer: TimerRecord;
declare const span: Span;
declare const request: Request;
declare const response: Response;
declare const bell: { ring(request: { readonly idempotencyKey: string }): Promise<void> };
declare function pino(options: { mixin(): object }): Logger;
`;

describe("TSDoc examples of @drover/core", () => {
  // Inside the package, so that "@drover/core" resolves to its built declarations.
  const { examples, problems } = checkExamples(
    { repo: REPO, entries: ENTRIES, prelude: PRELUDE, home: join(CORE, "src") },
    (entry) => [brokenExample(entry)],
  );

  it("finds the examples of the public API, members and package docs included", () => {
    const owners = examples.map((example) => example.owner);
    for (const owner of ["defineMachine", "Runtime", "Runtime.for", "App.for", "scenario", "@drover/core/graph"]) {
      assert.ok(
        owners.some((name) => name.startsWith(owner)),
        `no example of ${owner} among ${owners.join(", ")}`,
      );
    }
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
