export type { SqliteStoreInfo, SqliteStoreOptions } from "./sqlite-store.js";
export { SqliteStore, SqliteSynchronous } from "./sqlite-store.js";
