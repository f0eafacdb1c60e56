// A real Capstan for the Node-side tests: the repo's own Worker under `wrangler dev`, on a free
// loopback port, with its own persist dir, secrets in a temporary env file (so no .dev.vars is
// read) and the D1 migrations applied. Each server is started in its own process group so it
// can be stopped, workerd included, without touching anyone else's processes.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const ENV = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" };

export type DevServer = {
  url: string;
  port: number;
  serviceToken: string;
  dir: string;
  /** Stops it and deletes its state. */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same port and state. */
  restart(): Promise<void>;
};

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function run(args: string[], log: string[]): ChildProcess {
  const child = spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const keep = (chunk: Buffer) => {
    log.push(...chunk.toString().split("\n").filter(Boolean));
    log.splice(0, Math.max(0, log.length - 60));
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  return child;
}

function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode ?? child.exitCode!);
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code ?? 0)));
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.ok && ((await res.json()) as { ok?: boolean }).ok === true;
  } catch {
    return false;
  }
}

/** Stops a process group: the leader first (wrangler reaps workerd), then anything left. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // Already gone.
    }
  };
  kill("SIGTERM");
  await Promise.race([exited(child), new Promise((r) => setTimeout(r, 5000))]);
  kill("SIGKILL");
}

export async function startDevServer(): Promise<DevServer> {
  const dir = mkdtempSync(join(tmpdir(), "capstan-node-tests-"));
  const persist = join(dir, "state");
  const envFile = join(dir, "capstan.env");
  const serviceToken = randomBytes(24).toString("hex");
  writeFileSync(envFile, `SERVICE_TOKEN="${serviceToken}"\nSECRETS_KEY="${randomBytes(32).toString("base64")}"\n`, { mode: 0o600 });
  const log: string[] = [];
  const migrate = run(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], log);
  const code = await exited(migrate);
  if (code !== 0) throw new Error(`applying D1 migrations failed (${code}):\n${log.join("\n")}`);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  const start = async () => {
    const inspector = await freePort();
    log.length = 0;
    child = run(
      ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector), "--persist-to", persist, "--env-file", envFile,
        "--show-interactive-dev-session=false", "--log-level", "warn"],
      log,
    );
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${log.join("\n")}`);
      if (await healthy(url)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`wrangler dev did not answer ${url}/healthz within 120 s:\n${log.join("\n")}`);
  };
  await start();
  return {
    url,
    port,
    serviceToken,
    dir,
    stop: async () => {
      await stopGroup(child);
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await stopGroup(child);
      await start();
    },
  };
}
