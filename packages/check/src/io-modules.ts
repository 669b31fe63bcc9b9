/**
 * Modules a machine may not import, because they do I/O (files, sockets, processes, databases,
 * HTTP, brokers). A name matches itself and its subpaths (`fs` matches `fs/promises`), with or
 * without the `node:` prefix; a name ending in `/` matches every package of that scope.
 */
export const DEFAULT_IO_MODULES: readonly string[] = [
  // Node built-ins
  "fs",
  "net",
  "http",
  "https",
  "http2",
  "child_process",
  "cluster",
  "dgram",
  "dns",
  "tls",
  "worker_threads",
  "readline",
  "inspector",
  // databases
  "pg",
  "pg-pool",
  "postgres",
  "better-sqlite3",
  "sqlite3",
  "sqlite",
  "mysql",
  "mysql2",
  "mongodb",
  "mongoose",
  "redis",
  "ioredis",
  "knex",
  "kysely",
  "typeorm",
  "sequelize",
  "drizzle-orm",
  "@prisma/client",
  // HTTP clients and servers
  "undici",
  "axios",
  "node-fetch",
  "got",
  "ky",
  "superagent",
  "fastify",
  "express",
  // brokers and clouds
  "nats",
  "kafkajs",
  "amqplib",
  "@aws-sdk/",
  "@google-cloud/",
  "@azure/",
  // drover's own adapters
  "@drover/sqlite",
  "@drover/postgres",
  "@drover/http",
  "@drover/nats",
];

/** True when `specifier` names one of `modules` (see {@link DEFAULT_IO_MODULES}). */
export function isIoModule(specifier: string, modules: readonly string[]): boolean {
  const name = specifier.startsWith("node:") ? specifier.slice("node:".length) : specifier;
  return modules.some((module) =>
    module.endsWith("/") ? name.startsWith(module) : name === module || name.startsWith(`${module}/`),
  );
}
