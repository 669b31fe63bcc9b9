/** Base class of drover's exceptions. Exceptions are for bugs and broken infrastructure only. */
export class DroverError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    // Each subclass is named after itself without repeating its name in a field.
    this.name = new.target.name;
  }
}

/** The store could not be reached or failed; nothing of the step was committed. */
export class StoreUnavailableError extends DroverError {}

/** A machine broke its contract: it returned a state or intent its own schemas refuse. */
export class MachineContractError extends DroverError {}

/** The purity guard caught a machine that mutates its input or answers differently twice. */
export class ImpurityError extends DroverError {}

/** The application was wired wrongly (a duplicate machine name, a bad option). */
export class ConfigurationError extends DroverError {}

/** An effect handler attempt that ran past its time. */
export class EffectTimeoutError extends DroverError {}

/**
 * The reason an attempt's `signal` aborts when its lease was lost (the heartbeat found another
 * worker holding the row): the attempt stops and its outcome is not recorded; the new holder
 * runs the intent.
 */
export class LeaseLostError extends DroverError {}

/**
 * Throw this from an effect handler when trying again cannot help (the provider refused for
 * good, the request is malformed): the intent is dead-lettered at once with this message,
 * instead of being retried `maxAttempts` times.
 *
 * @example
 * if (response.status === 422) throw new PermanentEffectError(`provider refused: ${await response.text()}`);
 */
export class PermanentEffectError extends DroverError {}

/** A follow-up event that could not be applied (and so fails the attempt). */
export class FollowUpError extends DroverError {}
