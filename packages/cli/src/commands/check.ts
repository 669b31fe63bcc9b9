import { checkMain } from "@drover/check";
import type { Command } from "commander";
import { ExitCode } from "../exit-code.js";
import type { CommandContext } from "./context.js";

/** Register `drover check`: drover-check's cognitive rules, with drover-check's own command line. */
export function checkCommand(program: Command, context: CommandContext): Command {
  const { io } = context;
  return (
    program
      .command("check")
      .description(
        "check TypeScript sources for drover's cognitive rules (pure machines, no domain branching outside the domain, smart enums, value objects); exit 1 on findings",
      )
      .argument("[args...]", "drover-check's options and paths (see drover check --help)")
      // Everything after `check` is drover-check's own command line, its --help included.
      .helpOption(false)
      .allowUnknownOption()
      .action((args: string[], _options: unknown, command: Command) => {
        const write = (stream: NodeJS.WritableStream) => (text: string) => {
          stream.write(`${text}\n`);
        };
        // --json is also drover's global option, which commander takes before the command sees it.
        const argv = context.globals(command).json === true ? ["--json", ...args] : args;
        const status = checkMain(argv, io.cwd, { out: write(io.stdout), err: write(io.stderr) });
        context.done(status === 0 ? ExitCode.Ok : status === 1 ? ExitCode.Rejected : ExitCode.Usage);
      })
  );
}
