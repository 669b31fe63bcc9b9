export type { RouteScope } from "./auth.js";
export { authenticate, installAuth, Public } from "./auth.js";
// Conditional requests (RFC 9110) are public as a whole: every export of the module.
export { timerBody } from "./bodies.js";
export * from "./conditional.js";
export type { ConnectionLimits } from "./connection-limits.js";
export { DEFAULT_CONNECTION_LIMITS } from "./connection-limits.js";
export type { IntentTypeCatalog } from "./intent-types.js";
export { intentTypeCatalog } from "./intent-types.js";
export { DroverMetrics } from "./metrics.js";
export { buildOpenApi } from "./openapi/index.js";
export type { Problem } from "./problem.js";
export { ProblemKind, problem } from "./problem.js";
export type { ReadinessOptions } from "./readiness.js";
export { Readiness } from "./readiness.js";
export type { RunningServer, ServeSettings } from "./serve.js";
export { serve, settingsFromEnv } from "./serve.js";
export { buildServer } from "./server.js";
export type { ServerOptions } from "./server-options.js";
export type {
  Awaitable,
  CreatedToken,
  CreateTokenOptions,
  Principal,
  SharedTokenStoreOptions,
  TokenFileImport,
  TokenInfo,
  TokenStoreOptions,
} from "./tokens.js";
export {
  DEFAULT_RECHECK_MS,
  DEFAULT_REFRESH_MS,
  ensureAdminToken,
  FileTokenStore,
  grants,
  importTokenFile,
  parseScopes,
  SharedTokenStore,
  TokenStore,
} from "./tokens.js";
export { Scope } from "./wire.js";
