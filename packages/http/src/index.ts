export type { RouteScope } from "./auth.js";
export { authenticate, installAuth, Public } from "./auth.js";
export type { EntityTag, EntityTagCondition } from "./conditional.js";
export {
  ConditionKind,
  ifMatchPasses,
  isNotModified,
  parseEntityTag,
  parseEntityTagList,
  strongMatch,
  weakMatch,
} from "./conditional.js";
export { DroverMetrics } from "./metrics.js";
export { buildOpenApi } from "./openapi/index.js";
export type { Problem } from "./problem.js";
export { ProblemKind, problem } from "./problem.js";
export type { RunningServer, ServeSettings } from "./serve.js";
export { serve, settingsFromEnv } from "./serve.js";
export { buildServer } from "./server.js";
export type { ServerOptions } from "./server-options.js";
export type { CreatedToken, Principal, TokenInfo } from "./tokens.js";
export { ensureAdminToken, grants, parseScopes, TokenStore } from "./tokens.js";
export { Scope } from "./wire.js";
