export type { MigrationReport } from "./migrations.js";
export type { PostgresConnection, PostgresStoreInfo, PostgresStoreOptions } from "./postgres-store.js";
export { PostgresStore } from "./postgres-store.js";
