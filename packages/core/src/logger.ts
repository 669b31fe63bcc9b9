import { isValidTraceId, trace } from "@opentelemetry/api";

/**
 * Where drover writes what it does. pino's loggers fit as they are (`logger.warn(obj, msg)`);
 * so does anything with these four methods.
 */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * `trace_id` and `span_id` of the span active now, for a log line to be found from its trace
 * (empty when none is active or tracing is off). Pass it as pino's `mixin`.
 *
 * @example
 * const logger = pino({ mixin: traceFields });
 */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const { traceId, spanId } = span.spanContext();
  return isValidTraceId(traceId) ? { trace_id: traceId, span_id: spanId } : {};
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
type Level = keyof typeof LEVELS;

/**
 * A small JSON-lines logger on stderr, for when no real one is given: one object per line
 * with `level`, `time`, `msg` and the fields, as pino writes them.
 */
export function jsonLogger(
  minimum: Level = "info",
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const at = (level: Level) => (fields: object, message: string) => {
    if (LEVELS[level] < LEVELS[minimum]) return;
    const line = { level: LEVELS[level], time: Date.now(), msg: message, ...traceFields(), ...errorsAsText(fields) };
    write(`${JSON.stringify(line)}\n`);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

function errorsAsText(fields: object): object {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { type: value.name, message: value.message } : value;
  }
  return out;
}
