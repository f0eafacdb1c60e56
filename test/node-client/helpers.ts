// Helpers for the Node-side tests: users and projects made through the real HTTP API, the CLI
// run as a child process (as a user runs it), an upstream that records what reached it, and a
// proxy that can leave sockets half-open.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { createServer as createNetServer, connect as netConnect, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { inject } from "vitest";
import { ROOT } from "./dev-server";

export const CLI = join(ROOT, "dist/cli/main.js");

export function capstanUrl(): string {
  return inject("capstanUrl");
}

/** A new user and its first API key. */
export async function newUser(url = capstanUrl(), serviceToken = inject("serviceToken")): Promise<{ userId: string; key: string }> {
  const res = await fetch(`${url}/internal/users`, { method: "POST", headers: { authorization: `Bearer ${serviceToken}` } });
  if (res.status !== 201) throw new Error(`POST /internal/users: ${res.status} ${await res.text()}`);
  return (await res.json()) as { userId: string; key: string };
}

export async function newProject(key: string, name = "test", url = capstanUrl()): Promise<string> {
  const res = await fetch(`${url}/v1/projects`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ name }) });
  if (res.status !== 201) throw new Error(`POST /v1/projects: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** A fresh directory under the run's temporary root, which the global setup removes. */
/**
 * Loopback is a private address, which every project's egress policy refuses unless a rule
 * names it: a test that talks to its own upstream allows exactly that, as a user would.
 */
export async function allowEgressTo(key: string, projectId: string, upstreamUrl: string, url = capstanUrl()): Promise<void> {
  const res = await fetch(`${url}/v1/projects/${projectId}/egress-policy`, {
    method: "PUT",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ rules: [{ host: upstreamUrl, action: "allow" }] }),
  });
  if (res.status !== 200) throw new Error(`PUT egress-policy: ${res.status} ${await res.text()}`);
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(inject("tmpRoot"), `${prefix}-`));
}

export type CliResult = { code: number | null; stdout: string; stderr: string };

/**
 * Runs `capstan …` with a clean environment: no CAPSTAN_* from the caller, and a config dir of
 * its own unless `env` names one. `input` is piped to stdin (stdin is then not a TTY).
 */
export function cli(args: string[], options: { env?: Record<string, string>; input?: string | Uint8Array; timeoutMs?: number } = {}): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CAPSTAN_")));
  const env = { ...base, CAPSTAN_CONFIG_DIR: tempDir("cfg"), NO_COLOR: "1", ...options.env };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

export type Seen = { method: string; url: string; headers: IncomingHttpHeaders };

/** An HTTP server on loopback that answers 200 and remembers each request's headers. */
export async function recordingUpstream(): Promise<{ url: string; seen: Seen[]; close(): void }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "text/plain" }).end("ok"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => server.close() };
}

export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A TCP proxy on loopback in front of `target`. freeze() makes every connection open so far go
 * silent both ways without closing (a half-open socket, as after a laptop sleeps); connections
 * made afterwards pass as before.
 */
export async function freezableProxy(target: string): Promise<{ url: string; freeze(): void; close(): void }> {
  const { hostname, port } = new URL(target);
  const live = new Set<{ client: Socket; upstream: Socket }>();
  const frozen: Socket[] = [];
  const server = createNetServer((client) => {
    const upstream = netConnect(Number(port), hostname);
    const pair = { client, upstream };
    live.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port: own } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${own}`,
    freeze() {
      for (const { client, upstream } of live) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        frozen.push(client, upstream);
      }
      live.clear();
    },
    close() {
      for (const s of frozen) s.destroy();
      for (const { client } of live) client.destroy();
      server.close();
    },
  };
}
