import { parseScopes, TokenStore } from "@drover/http";
import type { Command } from "commander";
import { Option } from "commander";
import { CliError, ExitCode } from "../exit-code.js";
import { resolveDataDir } from "../store.js";
import type { CommandContext } from "./context.js";

const dataDirOption = () =>
  new Option("--data-dir <dir>", "the server's data directory (DROVER_DATA_DIR, default ./data)");

/** Register `drover token create|list|revoke`: the HTTP API's bearer tokens. */
export function tokenCommand(program: Command, context: CommandContext): Command {
  const { io, print, done } = context;
  const token = program
    .command("token")
    .description("manage the HTTP API's bearer tokens (kept hashed in <data dir>/tokens.json)");
  token
    .command("create")
    .description("mint a token and print it once")
    .requiredOption("--scopes <scopes>", "comma-separated: read, write, admin (admin > write > read)")
    .option("--name <name>", "a label, e.g. grafana")
    .addOption(dataDirOption())
    .action(async (options: { scopes: string; name?: string; dataDir?: string }, command: Command) => {
      const cfg = await context.optionalConfig(command);
      const dataDir = resolveDataDir(options.dataDir, io.env, cfg?.defaults);
      const scopes = parseScopes(options.scopes);
      const tokens = TokenStore.open(dataDir);
      const created = tokens.create({ scopes, ...(options.name === undefined ? {} : { name: options.name }) });
      print(
        context.globals(command).json
          ? JSON.stringify(created)
          : `token ${created.id} (${created.scopes.join(", ")}); shown once, stored hashed in ${tokens.file}:\n${created.token}`,
      );
      done(ExitCode.Ok);
    });
  token
    .command("list")
    .description("list tokens (never their secrets)")
    .addOption(dataDirOption())
    .action(async (options: { dataDir?: string }, command: Command) => {
      const cfg = await context.optionalConfig(command);
      const list = TokenStore.open(resolveDataDir(options.dataDir, io.env, cfg?.defaults)).list();
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
    .description("revoke a token by id (a running server stops accepting it at once)")
    .argument("<id>", "token id, tok_…")
    .addOption(dataDirOption())
    .action(async (id: string, options: { dataDir?: string }, command: Command) => {
      const cfg = await context.optionalConfig(command);
      const revoked = TokenStore.open(resolveDataDir(options.dataDir, io.env, cfg?.defaults)).revoke(id);
      if (!revoked) throw new CliError(`no token ${id}; list them with drover token list`, ExitCode.Rejected);
      print(context.globals(command).json ? JSON.stringify({ id, revoked: true }) : `token ${id} revoked`);
      done(ExitCode.Ok);
    });
  return token;
}
