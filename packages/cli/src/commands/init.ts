import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit-code.js";
import { projectFiles } from "../init/project-template.js";
import type { CommandContext } from "./context.js";

/** Register `drover init <dir>`: scaffold a new application there. */
export function initCommand(program: Command, context: CommandContext): Command {
  return program
    .command("init")
    .description("scaffold a new drover application: a machine, an effect, a timer, tests, a config and a README")
    .argument("<dir>", "the folder to create (it must not exist, or be empty)")
    .option("--name <name>", "the npm package name (default: the folder's name)")
    .action((dir: string, options: { name?: string }) => {
      const target = resolve(context.io.cwd, dir);
      if (existsSync(target) && readdirSync(target).length > 0) {
        throw new CliError(`${target} is not empty; pick a new folder name`, ExitCode.Usage);
      }
      const name = options.name ?? basename(target);
      if (!/^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/.test(name) || name.length > 214) {
        throw new CliError(
          `${JSON.stringify(name)} is not a valid npm package name; pass --name with lower-case letters, digits, - . _`,
          ExitCode.Usage,
        );
      }
      const own = ownVersions();
      const files = projectFiles({ name, ...own });
      for (const [path, text] of Object.entries(files)) {
        const file = join(target, path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
      context.print(
        [`created ${name} in ${target}`, "", `  cd ${dir}`, "  npm install", "  npm test", "  npx drover serve"].join(
          "\n",
        ),
      );
      context.done(ExitCode.Ok);
    });
}

/** The versions a new project depends on: this CLI's own, and the zod and TypeScript it was built with. */
function ownVersions(): { droverVersion: string; zodVersion: string; typescriptVersion: string } {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")) as {
    version: string;
    dependencies?: Record<string, string>;
  };
  return {
    droverVersion: `^${pkg.version}`,
    zodVersion: pkg.dependencies?.zod ?? "^4.0.0",
    typescriptVersion: "^5.9.0",
  };
}
