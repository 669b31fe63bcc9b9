import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CounterOptions } from "./counter-machine.js";

const MACHINE = new URL("./counter-machine.js", import.meta.url).href;

/**
 * Write a `drover.config.v<version>[-failing-<count>].mjs` serving the counter machine at `options` into `dir`,
 * and return its path. It imports the built machine by its file URL, so
 * it loads from anywhere, as a user's config would.
 *
 * @example
 * const config = counterConfig(dir, { version: 2 });
 * drover(["upgrade", "counter", "--config", config, "--db", db]);
 */
export function counterConfig(dir: string, options: CounterOptions): string {
  const broken = options.failOnCount === undefined ? "" : `-failing-${options.failOnCount}`;
  const path = join(dir, `drover.config.v${options.version}${broken}.mjs`);
  writeFileSync(
    path,
    [
      `import { counterMachine } from ${JSON.stringify(MACHINE)};`,
      `export default { name: "counters", machines: [counterMachine(${JSON.stringify(options)})] };`,
      "",
    ].join("\n"),
  );
  return path;
}
