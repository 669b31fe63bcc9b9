// Helpers for test suites that need a real NATS JetStream server (drover's own, and yours):
// each suite starts its own `nats-server -js` on a free port with a store directory of its own,
// so suites never share DROVER_EVENTS and a suite can stop and restart its server. Import from
// `@drover/nats/testing`.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** The nats-server binary: `NATS_SERVER_BIN`, else `nats-server` on the PATH or in /usr/sbin. */
export function natsServerBinary(): string | undefined {
  const explicit = process.env.NATS_SERVER_BIN;
  if (explicit !== undefined && explicit !== "") return existsSync(explicit) ? explicit : undefined;
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];
  return dirs.map((dir) => join(dir, "nats-server")).find((path) => existsSync(path));
}

/**
 * The `skip` option for a suite that needs nats-server: `false` when the binary is there, else
 * why. With `DROVER_REQUIRE_SERVICES=1` (CI) a missing binary throws, so the suite fails.
 *
 * @example
 * import { describe } from "node:test";
 *
 * const skip = skipUnlessNatsServer();
 * describe("over NATS", { skip }, () => {
 *   // the suite's tests
 * });
 */
export function skipUnlessNatsServer(): false | string {
  if (natsServerBinary() !== undefined) return false;
  const why = "nats-server not found (set NATS_SERVER_BIN, or install it: apt-get install nats-server)";
  if (process.env.DROVER_REQUIRE_SERVICES === "1")
    throw new Error(`${why}; DROVER_REQUIRE_SERVICES=1 makes that a failure`);
  return why;
}

/** A nats-server of a test's own. */
export interface TestNatsServer {
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory; it survives {@link TestNatsServer.stop} until {@link TestNatsServer.dispose}. */
  readonly storeDir: string;
  /** Stop it (`SIGKILL` by default: a crash), keeping the store. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port and store. */
  restart(): Promise<void>;
  /** Stop it and remove the store. */
  dispose(): Promise<void>;
}

/**
 * Start `nats-server -js` on 127.0.0.1 and a free port, with a temporary store; resolves once
 * it accepts connections.
 *
 * @example
 * import { after } from "node:test";
 *
 * const server = await startNatsServer();
 * after(() => server.dispose());
 */
export async function startNatsServer(): Promise<TestNatsServer> {
  const binary = natsServerBinary();
  if (binary === undefined) throw new Error(String(skipUnlessNatsServer()));
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), "drover-nats-"));
  let child: ChildProcess | undefined;
  const launch = async () => {
    const spawned = spawn(binary, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let output = "";
    spawned.stderr?.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4_000);
    });
    child = spawned;
    await waitForPort(port, spawned, () => output);
  };
  const stop = async (signal: NodeJS.Signals = "SIGKILL") => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill(signal);
    await exited;
  };
  await launch();
  process.once("exit", () => child?.kill("SIGKILL"));
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    stop,
    restart: launch,
    async dispose() {
      await stop("SIGTERM");
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port} within 15 s: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
