import type { TokenStore } from "@drover/http";
import { parseScopes, TokenStore as TokenStores } from "@drover/http";
import type { Command } from "commander";
import { Option } from "commander";
import type { DroverConfig } from "../config.js";
import { CliError, ExitCode } from "../exit-code.js";
import { openStore, resolveDataDir, resolveDb } from "../store.js";
import type { CommandContext } from "./context.js";
import { dbOption } from "./context.js";

const dataDirOption = () =>
  new Option("--data-dir <dir>", "the server's data directory (DROVER_DATA_DIR, default ./data)");

interface TokenOptions {
  readonly dataDir?: string;
  readonly db?: string;
}

/**
 * Run `use` on the tokens `drover serve` would use with the same settings: the table of a
 * PostgreSQL store (`--db`, `DROVER_DB` or the config's), shared by every server on it, else the
 * data directory's `tokens.json`.
 */
async function withTokens<T>(
  context: CommandContext,
  cfg: DroverConfig | undefined,
  options: TokenOptions,
  use: (tokens: TokenStore) => Promise<T>,
): Promise<T> {
  const dataDir = resolveDataDir(options.dataDir, context.io.env, cfg?.defaults);
  const db = resolveDb(options.db, context.io.env, cfg?.defaults, dataDir);
  if (db.startsWith("sqlite:")) return use(TokenStores.open(dataDir));
  const store = await openStore(db);
  try {
    if (store.tokenVault === undefined) throw new CliError(`${db} keeps no tokens`, ExitCode.Infrastructure);
    const tokens = await TokenStores.shared(store.tokenVault, { refreshMs: 0 });
    try {
      return await use(tokens);
    } finally {
      tokens.close();
    }
  } finally {
    await store.close();
  }
}

/** Register `drover token create|list|revoke`: the HTTP API's bearer tokens. */
export function tokenCommand(program: Command, context: CommandContext): Command {
  const { print, done } = context;
  const token = program
    .command("token")
    .description(
      "manage the HTTP API's bearer tokens (kept hashed: in a PostgreSQL store's api_tokens table, else in <data dir>/tokens.json)",
    );
  token
    .command("create")
    .description("mint a token and print it once")
    .requiredOption("--scopes <scopes>", "comma-separated: read, write, admin (admin > write > read)")
    .option("--name <name>", "a label, e.g. grafana")
    .addOption(dataDirOption())
    .addOption(dbOption())
    .action(async (options: TokenOptions & { scopes: string; name?: string }, command: Command) => {
      const scopes = parseScopes(options.scopes);
      const cfg = await context.optionalConfig(command);
      const [created, where] = await withTokens(context, cfg, options, async (tokens) => [
        await tokens.create({ scopes, ...(options.name === undefined ? {} : { name: options.name }) }),
        tokens.where,
      ]);
      print(
        context.globals(command).json
          ? JSON.stringify(created)
          : `token ${created.id} (${created.scopes.join(", ")}); shown once, stored hashed in ${where}:\n${created.token}`,
      );
      done(ExitCode.Ok);
    });
  token
    .command("list")
    .description("list tokens (never their secrets)")
    .addOption(dataDirOption())
    .addOption(dbOption())
    .action(async (options: TokenOptions, command: Command) => {
      const cfg = await context.optionalConfig(command);
      const list = await withTokens(context, cfg, options, async (tokens) => tokens.list());
      print(
        context.globals(command).json
          ? JSON.stringify({ tokens: list })
          : list.length === 0
            ? "no tokens"
            : list.map((t) => `${t.id}  ${t.scopes.join(",")}  ${t.createdAt}  ${t.name ?? ""}`.trimEnd()).join("\n"),
      );
      done(ExitCode.Ok);
    });
  token
    .command("revoke")
    .description("revoke a token by id (running servers refuse it within a second or two)")
    .argument("<id>", "token id, tok_…")
    .addOption(dataDirOption())
    .addOption(dbOption())
    .action(async (id: string, options: TokenOptions, command: Command) => {
      const cfg = await context.optionalConfig(command);
      const revoked = await withTokens(context, cfg, options, async (tokens) => tokens.revoke(id));
      if (!revoked) throw new CliError(`no token ${id}; list them with drover token list`, ExitCode.Rejected);
      print(context.globals(command).json ? JSON.stringify({ id, revoked: true }) : `token ${id} revoked`);
      done(ExitCode.Ok);
    });
  return token;
}
