// Capstan as a user meets it: `wrangler dev` of the repo's own wrangler.jsonc with fresh local
// state, its HTTP API, and a capnweb session over a WebSocket to /rpc.
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RpcSession, newWebSocketRpcSession } from "capnweb";
// The typed client's transport, as built by `npm run build:client` (the bench scripts run it first).
import { FramedWebSocketTransport } from "../../dist/core/rpc-websocket.js";
import { snapshotRepo } from "./snapshot.mjs";
import { runWrangler, startDev } from "./wrangler.mjs";

/**
 * Applies the D1 migrations into a private persist dir, then starts the Worker on it, from a
 * snapshot of the repo (see snapshot.mjs): the working tree, or commit `ref` if given. The secrets go in a temporary env file passed with
 * --env-file, which also makes wrangler skip any .dev.vars.
 */
export async function startCapstan(tmp, ref) {
  const cwd = snapshotRepo(join(tmp, "capstan-src"), ref);
  const persist = join(tmp, "capstan-state");
  const envFile = join(tmp, "capstan.env");
  const serviceToken = randomBytes(24).toString("hex");
  const secretsKey = randomBytes(32).toString("base64");
  await writeFile(envFile, `SERVICE_TOKEN="${serviceToken}"\nSECRETS_KEY="${secretsKey}"\n`, { mode: 0o600 });
  await runWrangler(
    ["d1", "migrations", "apply", "DB", "--local", "--config", "wrangler.jsonc", "--persist-to", persist],
    join(tmp, "capstan-migrations.log"),
    cwd,
  );
  const dev = await startDev({
    name: "capstan",
    args: ["--config", "wrangler.jsonc", "--persist-to", persist, "--env-file", envFile],
    logPath: join(tmp, "capstan.log"),
    cwd,
  });
  return { ...dev, serviceToken, api: (method, path, opts) => api(dev.url, method, path, opts) };
}

/** One JSON API call; throws unless the status is the expected one, with the body for context. */
async function api(base, method, path, { token, body, expect }) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${path}: expected ${expect}, got ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A new user, with an API key, owning a new project. */
export async function newUserAndProject(capstan, projectName) {
  const { key } = await capstan.api("POST", "/internal/users", { token: capstan.serviceToken, expect: 201 });
  const { id } = await capstan.api("POST", "/v1/projects", { token: key, body: { name: projectName }, expect: 201 });
  return { key, projectId: id };
}

/**
 * Loopback is a private address, which a project's egress policy refuses unless a rule names
 * it; a scenario that fetches its loopback upstream allows exactly that, as a user would.
 */
export async function allowEgressTo(capstan, key, projectId, urls) {
  try {
    await capstan.api("PUT", `/v1/projects/${projectId}/egress-policy`, {
      token: key,
      body: { rules: urls.map((host) => ({ host, action: "allow" })) },
      expect: 200,
    });
  } catch (err) {
    // A Capstan from before egress policy (BENCH_REF) has no such route, and needs none.
    if (!/expected 200, got 404 .*not_found/.test(String(err))) throw err;
  }
}

/**
 * A capnweb session over one WebSocket, authenticated in-band the way a browser does it (no
 * bearer header, so the main stub is the Gate).
 */
export function connectRpc(capstanUrl, key, { frames = "binary" } = {}) {
  const base = `${capstanUrl.replace(/^http/, "ws")}/rpc`;
  let gate;
  let ws;
  if (frames === "binary") {
    ws = new WebSocket(`${base}?frames=binary-v1`);
    gate = new RpcSession(new FramedWebSocketTransport(ws)).getRemoteMain();
  } else {
    ws = new WebSocket(base);
    gate = newWebSocketRpcSession(ws);
  }
  const session = gate.authenticate(key);
  return { session, close: () => ws.close() };
}

/**
 * A new user and project that may reach `upstream` and holds a random secret BENCH bound to it:
 * what the egress scenarios measure against.
 */
export async function newEgressProject(capstan, upstream, projectName) {
  const { key, projectId } = await newUserAndProject(capstan, projectName);
  await allowEgressTo(capstan, key, projectId, [upstream.url]);
  const secret = randomBytes(24).toString("base64url");
  await capstan.api("PUT", `/v1/projects/${projectId}/secrets/BENCH`, {
    token: key,
    body: { value: secret, hosts: [`http://127.0.0.1:${upstream.port}`] },
    expect: 204,
  });
  return { key, projectId, secret };
}
