export type {
  EntityBody,
  EntityPageBody,
  HealthBody,
  HistoryBody,
  JournalEntryBody,
  OutboxPageBody,
  OutboxRecordBody,
  ProblemBody,
  ProcessedBody,
} from "./bodies.js";
export {
  ENTITY_TAG_PATTERN,
  entityBody,
  IDEMPOTENCY_KEY_PATTERN,
  IF_MATCH_PATTERN,
  isoTime,
  journalEntryBody,
  ListLimit,
  outboxRecordBody,
} from "./bodies.js";
export { buildOpenApi } from "./build.js";
export type {
  ApiScope,
  BuildOpenApiOptions,
  JsonSchema,
  OpenApiDocument,
  OpenApiObject,
  OpenApiOperation,
} from "./document.js";
