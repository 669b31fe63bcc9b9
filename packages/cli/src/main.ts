// The `drover` executable (bin/drover.js loads this).
import { runCli } from "./cli.js";

const code = await runCli(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
