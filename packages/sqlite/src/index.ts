export type { SqliteStoreInfo, SqliteStoreOptions } from "./connection.js";
export { SqliteSynchronous } from "./connection.js";
export type { MigrationReport } from "./migrations.js";
export { SqliteStore } from "./sqlite-store.js";
