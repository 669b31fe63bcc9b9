export type { MigrationReport } from "./migrations.js";
export type { SqliteStoreInfo, SqliteStoreOptions } from "./sqlite-store.js";
export { SqliteStore, SqliteSynchronous } from "./sqlite-store.js";
