export { buildOpenApi } from "./build.js";
export type {
  BuildOpenApiOptions,
  JsonSchema,
  OpenApiDocument,
  OpenApiObject,
  OpenApiOperation,
} from "./document.js";
