// The \`drover\` executable (bin/drover.js loads this).
import { runCli } from "./cli.js";

const code = await runCli(process.argv.slice(2));
// Exit once the output is flushed, even if a library left a handle open; \`serve\` keeps running.
if (code !== undefined) process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
