/** Base class of drover's exceptions. Exceptions are for bugs and broken infrastructure only. */
export class DroverError extends Error {
  override readonly name: string = "DroverError";
}

/** The store could not be reached or failed; nothing of the step was committed. */
export class StoreUnavailableError extends DroverError {
  override readonly name = "StoreUnavailableError";
}

/** A machine broke its contract: it returned a state or intent its own schemas refuse. */
export class MachineContractError extends DroverError {
  override readonly name = "MachineContractError";
}

/** The purity guard caught a machine that mutates its input or answers differently twice. */
export class ImpurityError extends DroverError {
  override readonly name = "ImpurityError";
}

/** The application was wired wrongly (a duplicate machine name, a bad option). */
export class ConfigurationError extends DroverError {
  override readonly name = "ConfigurationError";
}
