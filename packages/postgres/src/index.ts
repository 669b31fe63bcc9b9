export type { PostgresConnection, PostgresStoreInfo, PostgresStoreOptions } from "./connection.js";
export type { MigrationReport } from "./migrations.js";
export { PostgresStore } from "./postgres-store.js";
export { PostgresTokenVault } from "./token-vault.js";
