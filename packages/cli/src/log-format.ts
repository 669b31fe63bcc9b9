// How `drover serve` writes its log: readable lines on a terminal, JSON lines otherwise (for a
// log shipper), or as DROVER_LOG_FORMAT says.
import { traceFields } from "@drover/core";
import type { Logger } from "pino";
import { pino } from "pino";
import pretty from "pino-pretty";
import { CliError, ExitCode } from "./exit-code.js";

/** `DROVER_LOG_FORMAT`: `pretty`, `json`, or unset (pretty when stdout is a terminal). */
export const LogFormat = { Pretty: "pretty", Json: "json" } as const;
export type LogFormat = (typeof LogFormat)[keyof typeof LogFormat];

/**
 * The server's pino logger at `DROVER_LOG_LEVEL` (default info), in the chosen format; every
 * line written inside a span carries its `trace_id` and `span_id`.
 *
 * @example
 * const logger = serverLogger(process.env, process.stdout.isTTY === true);
 */
export function serverLogger(env: NodeJS.ProcessEnv, terminal: boolean): Logger {
  const options = { level: env.DROVER_LOG_LEVEL ?? "info", mixin: traceFields };
  const format = env.DROVER_LOG_FORMAT ?? "";
  if (format !== "" && format !== LogFormat.Pretty && format !== LogFormat.Json) {
    throw new CliError(`DROVER_LOG_FORMAT must be pretty or json, got ${JSON.stringify(format)}`, ExitCode.Usage);
  }
  const readable = format === LogFormat.Pretty || (format === "" && terminal);
  if (!readable) return pino(options);
  // The synchronous stream, not a transport: no worker thread, and nothing lost at exit.
  return pino(options, pretty({ colorize: terminal, sync: true, ignore: "pid,hostname" }));
}
