import { ConfigurationError, StoreUnavailableError } from "@drover/core";

/** The exit codes of `drover` (DESIGN §7). **contract** */
export const ExitCode = {
  Ok: 0,
  /** The domain rejected the event, or the entity (or intent) does not exist. */
  Rejected: 1,
  /** Bad usage or invalid input: an unknown flag or machine, malformed JSON, a missing config. */
  Usage: 2,
  /** Infrastructure: the database cannot be reached, a port is taken. */
  Infrastructure: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An expected failure of a command: one line for the user (what is wrong and what to do) and
 * the exit code to leave with. Anything else that escapes a command is reported the same way,
 * with the code {@link exitCodeOf} picks.
 */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The exit code for an error that escaped a command. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ConfigurationError) return ExitCode.Usage;
  if (error instanceof StoreUnavailableError) return ExitCode.Infrastructure;
  // Errors of the same names from another copy of @drover/core (a config loaded apart).
  if (error instanceof Error && error.name === "ConfigurationError") return ExitCode.Usage;
  return ExitCode.Infrastructure;
}
