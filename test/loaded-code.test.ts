// Loaded code gets its posture from isolates/isolate.ts: a plain fetch() is the project's fetch
// capability (substituted, audited under the isolate's name), and its env holds nothing else.
import { env } from "cloudflare:workers";
import { inject, describe, expect, it } from "vitest";
import { loadIsolate } from "../isolates/isolate";
import { call, newProject, newUser, tag, upstreamSeen } from "./helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

const PROBE = `
import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  async get(url, headers) {
    try {
      const res = await fetch(url, { headers });
      return { status: res.status, body: await res.text() };
    } catch (e) {
      return { error: String(e && e.message || e) };
    }
  }
  envKeys() { return Object.keys(this.env); }
}`;

function probe(projectId: string, id: string) {
  return loadIsolate(env, { projectId, caller: { kind: "isolate", id }, codeId: `probe-${id}`, mainModule: "probe.js", modules: { "probe.js": PROBE } })
    .getEntrypoint() as unknown as { get(url: string, headers?: Record<string, string>): Promise<{ status?: number; body?: string; error?: string }>; envKeys(): Promise<string[]> };
}

async function projectWithSecret(name: string, value: string) {
  const { key } = await newUser();
  const id = await newProject(key);
  const res = await call(`/v1/projects/${id}/secrets/${name}`, { method: "PUT", token: key, body: JSON.stringify({ value, hosts: [`http://${host}`] }) });
  expect(res.status).toBe(204);
  return { key, id };
}

describe("loaded isolates", () => {
  it("route a plain fetch() through the project's fetch capability, with substitution and audit", async () => {
    const value = `iso-${crypto.randomUUID()}`;
    const { id } = await projectWithSecret("ISO", value);
    const t = tag();
    const out = await probe(id, "probe-a").get(`${upstream}/echo/${t}`, { "x-api-key": 'getSecret("ISO")' });
    expect(out.status).toBe(200);
    expect(out.body).not.toContain(value);
    const [seen] = await upstreamSeen(upstream, t);
    expect(seen!.headers["x-api-key"]).toBe(value);
    const rows = await env.PROJECT_ACTOR.get(env.PROJECT_ACTOR.idFromName(id)).audit({ capability: "fetch" });
    expect(rows.at(-1)).toMatchObject({ caller: "isolate:probe-a", outcome: "ok", egress: { host, secrets: ["ISO"] } });
  });

  it("hold only the project handle in env", async () => {
    const { id } = await projectWithSecret("ISO", "x-1234");
    expect(await probe(id, "probe-env").envKeys()).toEqual(["PROJECT"]);
  });

  it("cannot use another project's secret", async () => {
    const a = await projectWithSecret("MINE", "a-secret-value-1");
    const b = await projectWithSecret("THEIRS", `b-${crypto.randomUUID()}`);
    const t = tag();
    const out = await probe(a.id, "probe-cross").get(`${upstream}/echo/${t}`, { "x-k": 'getSecret("THEIRS")' });
    expect(out.error).toMatch(/secret_unknown/);
    expect(await upstreamSeen(upstream, t)).toEqual([]);
    expect(b.id).not.toBe(a.id);
  });

  it("cannot reach the Worker's own routes or bindings by fetching internal URLs", async () => {
    const { id } = await projectWithSecret("ISO", "x-5678");
    // No binding is reachable by name, and a fetch of any URL leaves through the pipe, never
    // into this Worker: an unbound internal host simply is an upstream that does not answer.
    const out = await probe(id, "probe-internal").get("http://capstan.test/v1/projects");
    expect(out.error).toMatch(/upstream_unreachable/);
    const rows = await env.PROJECT_ACTOR.get(env.PROJECT_ACTOR.idFromName(id)).audit({ capability: "fetch" });
    expect(rows.at(-1)).toMatchObject({ caller: "isolate:probe-internal", errorCode: "upstream_unreachable", egress: { host: "capstan.test" } });
  });
});
