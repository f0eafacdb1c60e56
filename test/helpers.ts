// Drives the Worker the way a user does: HTTP routes and capnweb over a real WebSocket.
import { newWebSocketRpcSession, type RpcStub } from "capnweb";
import { inject } from "vitest";
import { exports } from "cloudflare:workers";
import type { Session } from "../src/rpc/api";

export const SERVICE_TOKEN = "test-service-token-0123456789abcdef";
export const BASE = "http://capstan.test";

export function call(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  if (typeof init.body === "string" && !headers.has("content-type")) headers.set("content-type", "application/json");
  return exports.default.fetch(new Request(`${BASE}${path}`, { ...init, headers }));
}

export async function newUser(): Promise<{ userId: string; key: string }> {
  const res = await call("/internal/users", { method: "POST", token: SERVICE_TOKEN });
  if (res.status !== 201) throw new Error(`creating a user failed: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A new project whose egress policy allows the loopback upstreams (see allowUpstreams). */
export async function newProject(key: string, name = "p", options: { allowUpstreams?: boolean } = {}): Promise<string> {
  const res = await call("/v1/projects", { method: "POST", token: key, body: JSON.stringify({ name }) });
  if (res.status !== 201) throw new Error(`creating a project failed: ${res.status} ${await res.text()}`);
  const id = ((await res.json()) as { id: string }).id;
  if (options.allowUpstreams !== false) await allowUpstreams(key, id);
  return id;
}

/** A capnweb session over a real WebSocket to /rpc, authenticated in-band. */
export async function connect(token: string): Promise<{ session: RpcStub<Session>; close: () => void }> {
  const res = await exports.default.fetch(new Request(`${BASE}/rpc`, { headers: { upgrade: "websocket" } }));
  const ws = res.webSocket;
  if (!ws) throw new Error(`no WebSocket: ${res.status}`);
  ws.accept();
  const gate = newWebSocketRpcSession<{ authenticate(t: string): Session }>(ws as unknown as WebSocket);
  const session = gate.authenticate(token) as unknown as RpcStub<Session>;
  return { session, close: () => ws.close() };
}

/**
 * Loopback is a private address, refused by every project's egress policy unless a rule names
 * it: tests that talk to their loopback upstreams allow exactly those, as a user would.
 */
export async function allowUpstreams(key: string, projectId: string, extra: object[] = [], more: object = {}): Promise<void> {
  const rules = [...extra, ...[inject("upstream"), inject("otherUpstream")].map((u) => ({ host: u, action: "allow" }))];
  const res = await call(`/v1/projects/${projectId}/egress-policy`, { method: "PUT", token: key, body: JSON.stringify({ rules, ...more }) });
  if (res.status !== 200) throw new Error(`setting the egress policy failed: ${res.status} ${await res.text()}`);
}

export function upstreamSeen(upstream: string, tag: string): Promise<{ method: string; url: string; headers: Record<string, string>; body: string }[]> {
  return fetch(`${upstream}/__seen?tag=${encodeURIComponent(tag)}`).then((r) => r.json());
}

export const tag = () => `t${crypto.randomUUID().replace(/-/g, "")}`;

/** Polls `f` every 10 ms until it returns something other than undefined (2 s at most). */
export async function until<T>(f: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
