/**
 * The `drover` command line, and what a `drover.config.ts` is made with.
 *
 * @example
 * // drover.config.ts
 * import { defineConfig } from "@drover/cli";
 * // doors: the application's machine (e.g. exported by src/doors.ts)
 * export default defineConfig({ name: "doors", machines: [doors] });
 */

export { runCli } from "./cli.js";
export type { CliIo, GlobalOptions } from "./commands/context.js";
export type { ConfigDefaults, DroverConfig, EffectsContext, LoadedConfig } from "./config.js";
export { CONFIG_FILES, defineConfig, findConfig, loadConfig } from "./config.js";
export { CliError, ExitCode, exitCodeOf } from "./exit-code.js";
export { diffJson } from "./format.js";
export type { ServedApp, ServeFlags } from "./serve.js";
export { serveConfig, serveUntilSignalled } from "./serve.js";
