import { inject, describe, expect, it } from "vitest";
import { newHttpBatchRpcSession } from "capnweb";
import { exports } from "cloudflare:workers";
import type { Session } from "../src/rpc/api";
import { BASE, allowUpstreams, call, connect, newProject, newUser, tag, upstreamSeen } from "./helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

describe("one request, project → actor → EgressPipe → upstream", () => {
  it("substitutes a bound secret over capnweb on a WebSocket, and the caller never sees it", async () => {
    const { key } = await newUser();
    const { session, close } = await connect(key);
    try {
      const project = await session.createProject("e2e");
      await allowUpstreams(key, project.id);
      const p = session.project(project.id);
      const value = `sk-live-${crypto.randomUUID()}`;
      await p.setSecret("X", value, { hosts: [`http://${host}`] });
      const t = tag();
      const res = await p.fetch(`${upstream}/echo/${t}`, { headers: { authorization: 'Bearer getSecret("X")' } });
      expect(res.status).toBe(200);
      const text = await res.text();

      const [seen] = await upstreamSeen(upstream, t);
      expect(seen!.headers.authorization).toBe(`Bearer ${value}`);
      expect(text).not.toContain(value);
      expect(text).toContain("[redacted:X]");
      expect(res.headers.get("x-echo-auth")).toBe("Bearer [redacted:X]");

      const rows = await p.audit({ capability: "fetch" });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ capability: "fetch", outcome: "ok", egress: { host, status: 200, secrets: ["X"] } });
      expect(rows[0]!.caller).toMatch(/^session:ses_/);
    } finally {
      close();
    }
  });

  it("substitutes in the query and in JSON and form bodies, encoded for each place", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    const value = `a "b"&c=d/${crypto.randomUUID()}`;
    const put = await call(`/v1/projects/${id}/secrets/Y`, { method: "PUT", token: key, body: JSON.stringify({ value, hosts: [`http://${host}`] }) });
    expect(put.status).toBe(204);
    const { session, close } = await connect(key);
    try {
      const p = session.project(id);
      const t = tag();
      await p.fetch(`${upstream}/quiet/${t}?k=getSecret("Y")`);
      await p.fetch(`${upstream}/quiet/${t}`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"k":"getSecret(\'Y\')"}' });
      await p.fetch(`${upstream}/quiet/${t}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: 'k=getSecret("Y")' });
      const seen = await upstreamSeen(upstream, t);
      expect(new URL(seen[0]!.url, "http://x").searchParams.get("k")).toBe(value);
      expect(JSON.parse(seen[1]!.body).k).toBe(value);
      expect(new URLSearchParams(seen[2]!.body).get("k")).toBe(value);
    } finally {
      close();
    }
  });

  // A streamed Response body needs a live session to flow over, so fetch is a WebSocket-session
  // method; HTTP batch serves the rest of the API (documented in docs/api.md).
  it("serves HTTP batch too, authenticated by the bearer header", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    // The batch client posts with the global fetch; send its request to this Worker instead.
    const realFetch = globalThis.fetch;
    globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
      const r = new Request(input, init);
      return r.url.startsWith(BASE) ? exports.default.fetch(r) : realFetch(r);
    }) as typeof fetch;
    try {
      const batch = newHttpBatchRpcSession<Session>(new Request(`${BASE}/rpc`, { headers: { authorization: `Bearer ${key}` } }));
      const project = batch.project(id);
      const [projects, secrets] = await Promise.all([batch.projects(), project.listSecrets()]);
      expect(projects.map((p) => p.id)).toEqual([id]);
      expect(secrets).toEqual([]);
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});
