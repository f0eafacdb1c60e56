// POST /v1/projects/:id/fetch: the project's fetch over plain HTTP. The same dispatch as
// project.fetch (substitution, scrubbing, policy, audit), with the bodies streamed as the HTTP
// request's and response's own; and every kind of bad input refused with a clear 4xx.
import { describe, expect, inject, it } from "vitest";
import { call, connect, newProject, newUser, tag, upstreamSeen } from "./helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

/** One request to the route: `envelope` goes in Capstan-Fetch as JSON unless it is a string already. */
function httpFetch(key: string, projectId: string, envelope: unknown, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (envelope !== undefined) headers.set("capstan-fetch", typeof envelope === "string" ? envelope : JSON.stringify(envelope));
  return call(`/v1/projects/${projectId}/fetch`, { method: "POST", ...init, headers, token: key });
}

async function projectWithSecret(name: string): Promise<{ key: string; id: string; value: string }> {
  const { key } = await newUser();
  const id = await newProject(key, name);
  const value = `http-${crypto.randomUUID()}`;
  const res = await call(`/v1/projects/${id}/secrets/S`, { method: "PUT", token: key, body: JSON.stringify({ value, hosts: [`http://${host}`] }) });
  expect(res.status).toBe(204);
  return { key, id, value };
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("the HTTP fetch route", () => {
  it("substitutes, scrubs and marks the answer; audits it as an http caller", async () => {
    const { key, id, value } = await projectWithSecret("http-fetch");
    const t = tag();
    const res = await httpFetch(key, id, { url: `${upstream}/echo/${t}`, method: "put", headers: [["authorization", 'Bearer getSecret("S")'], ["content-type", "text/plain"]] }, { body: 'note getSecret("S")' });
    expect(res.status).toBe(200);
    expect(res.headers.get("capstan-fetched")).toBe("1");
    expect(res.headers.get("x-echo-auth")).toBe("Bearer [redacted:S]");
    const text = await res.text();
    expect(text).not.toContain(value);
    const [seen] = await upstreamSeen(upstream, t);
    expect(seen).toMatchObject({ method: "PUT", body: `note ${value}`, headers: { authorization: `Bearer ${value}`, "content-type": "text/plain" } });

    const rows = (await (await call(`/v1/projects/${id}/audit?capability=fetch`, { token: key })).json()) as { caller: string; outcome: string; egress: { secrets: string[]; method: string } }[];
    expect(rows.at(-1)).toMatchObject({ outcome: "ok", egress: { method: "PUT", secrets: ["S"] } });
    expect(rows.at(-1)!.caller).toMatch(/^http:req_/);
  });

  it("streams a 24 MiB response byte-exact with every reflection scrubbed, and counts its bytes", async () => {
    const { key, id } = await projectWithSecret("http-big");
    const res = await httpFetch(key, id, { url: `${upstream}/big/${tag()}?mb=24`, headers: { authorization: 'getSecret("S")' } });
    expect(res.status).toBe(200);
    const units = Number(res.headers.get("x-units"));
    const expected = new TextEncoder().encode(`${"a".repeat(997)}[redacted:S]`.repeat(units));
    const got = new Uint8Array(await res.arrayBuffer());
    expect(got.byteLength).toBe(expected.byteLength);
    expect(await sha256(got)).toBe(await sha256(expected));
    type Row = { egress: { bytesIn: number } };
    const lastBytesIn = async () => ((await (await call(`/v1/projects/${id}/audit?capability=fetch`, { token: key })).json()) as Row[]).at(-1)!.egress.bytesIn;
    await expect.poll(lastBytesIn).toBe(got.byteLength);
  }, 60_000);

  it("streams a request body of 12 MiB to the upstream whole", async () => {
    const { key, id } = await projectWithSecret("http-upload");
    const body = new Uint8Array(12 << 20).map((_, i) => (i * 7919) & 0xff);
    const res = await httpFetch(key, id, { url: `${upstream}/digest`, method: "POST", headers: { "content-type": "application/octet-stream" } }, { body: new Blob([body]).stream() });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ method: "POST", bytes: body.byteLength, sha256: await sha256(body), contentType: "application/octet-stream" });
  }, 60_000);

  it("passes an upstream's error status through, marked as the upstream's", async () => {
    const { key, id } = await projectWithSecret("http-status");
    const res = await httpFetch(key, id, { url: `${upstream}/redirect?status=418&to=/x`, redirect: "manual" });
    expect(res.status).toBe(418);
    expect(res.headers.get("capstan-fetched")).toBe("1");
  });

  it("refuses a secret bound elsewhere with a typed error that is not marked as an answer, and sends nothing", async () => {
    const { key, id, value } = await projectWithSecret("http-refused");
    const other = inject("otherUpstream");
    const t = tag();
    const res = await httpFetch(key, id, { url: `${other}/echo/${t}`, headers: { authorization: 'getSecret("S")' } });
    expect(res.status).toBe(403);
    expect(res.headers.get("capstan-fetched")).toBeNull();
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("secret_not_bound");
    expect(error.message).toContain("S");
    expect(error.message).not.toContain(value);
    expect(await upstreamSeen(other, t)).toEqual([]);
  });

  it("answers bad input with a 400 that names what was wrong", async () => {
    const { key, id } = await projectWithSecret("http-bad");
    const cases: [unknown, RequestInit, string][] = [
      [undefined, {}, "the capstan-fetch header is required"],
      ["{not json", {}, "the capstan-fetch header is not valid JSON"],
      ['{"url":"http://x/\u00e9"}', {}, "must be ASCII JSON"],
      [{}, {}, "capstan-fetch.url"],
      [{ url: "not a url" }, {}, "capstan-fetch.url is not an absolute URL"],
      [{ url: `${upstream}/echo`, body: "x" }, {}, "capstan-fetch"],
      [{ url: `${upstream}/echo`, method: "G E T" }, {}, "capstan-fetch.method must be an HTTP method"],
      [{ url: `${upstream}/echo`, redirect: "error" }, {}, "capstan-fetch.redirect"],
      [{ url: `${upstream}/echo`, headers: 5 }, {}, "capstan-fetch.headers"],
      [{ url: `${upstream}/echo` }, { body: "a body" }, "is a GET, which cannot carry this request's body"],
    ];
    for (const [envelope, init, message] of cases) {
      const res = await httpFetch(key, id, envelope, init);
      const text = await res.text();
      expect(res.status, `${JSON.stringify(envelope)}: ${text}`).toBe(400);
      expect(res.headers.get("capstan-fetched")).toBeNull();
      expect((JSON.parse(text) as { error: { message: string } }).error.message, JSON.stringify(envelope)).toContain(message);
    }
    const huge = await httpFetch(key, id, { url: `${upstream}/echo`, headers: { "x-pad": "p".repeat(40_000) } });
    expect(huge.status).toBe(413);
  });

  it("needs a caller who is a member of the project", async () => {
    const { key, id } = await projectWithSecret("http-auth");
    const envelope = JSON.stringify({ url: `${upstream}/echo` });
    expect((await call(`/v1/projects/${id}/fetch`, { method: "POST", headers: { "capstan-fetch": envelope } })).status).toBe(401);
    const stranger = await newUser();
    expect((await httpFetch(stranger.key, id, envelope)).status).toBe(404);
    expect((await httpFetch(key, id, envelope)).status).toBe(200);
  });

  it("goes through the project's fetch capability: a shadow answers it too", async () => {
    const { key, id } = await projectWithSecret("http-shadow");
    const { session, close } = await connect(key);
    try {
      const p = session.project(id);
      const { RpcTarget } = await import("capnweb");
      class Fake extends RpcTarget {
        fetch(request: Request) {
          return new Response(`shadowed ${request.method} ${new URL(request.url).pathname}`, { status: 203 });
        }
      }
      await p.shadow("fetch", new Fake());
      const res = await httpFetch(key, id, { url: `${upstream}/echo/shadow`, method: "DELETE" });
      expect(res.status).toBe(203);
      expect(res.headers.get("capstan-fetched")).toBe("1");
      expect(await res.text()).toBe("shadowed DELETE /echo/shadow");
    } finally {
      close();
    }
  });
});
