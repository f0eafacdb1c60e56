// Live shadows: a client's stand-in for a capability, for every caller in the project, stacked
// like middleware, gone on revoke or when its session breaks.
import { RpcTarget } from "capnweb";
import { env } from "cloudflare:workers";
import { inject, describe, expect, it } from "vitest";
import { loadIsolate } from "../isolates/isolate";
import { connect, newUser, tag, upstreamSeen, allowUpstreams } from "./helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

type Next = (request: Request) => Promise<Response>;

/** A fetch shadow that records what it saw, then answers or passes on with its own mark. */
class FetchShadow extends RpcTarget {
  constructor(private label: string, private log: string[], private answer = false) {
    super();
  }
  async fetch(request: Request, next: Next): Promise<Response> {
    this.log.push(`${this.label}:${request.headers.get("authorization") ?? ""}`);
    if (this.answer) return new Response(`answered by ${this.label}`, { status: 299 });
    const marked = new Request(request, { headers: new Headers(request.headers) });
    marked.headers.append("x-through", this.label);
    return next(marked);
  }
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error("expected the call to fail");
}

async function setup() {
  const { key } = await newUser();
  const a = await connect(key);
  const b = await connect(key);
  const { id } = await a.session.createProject("shadows");
  await allowUpstreams(key, id);
  const pa = a.session.project(id);
  const pb = b.session.project(id);
  const value = `sh-${crypto.randomUUID()}`;
  await pa.setSecret("X", value, { hosts: [`http://${host}`] });
  return { a, b, id, pa, pb, value };
}

describe("shadows", () => {
  it("intercept fetches from other clients and from loaded code, and see placeholders raw", async () => {
    const { a, b, id, pa, pb, value } = await setup();
    try {
      const log: string[] = [];
      const handle = await pa.shadow("fetch", new FetchShadow("A", log, true));
      const fromB = await pb.fetch(`${upstream}/echo/${tag()}`, { headers: { authorization: 'Bearer getSecret("X")' } });
      expect(fromB.status).toBe(299);
      expect(await fromB.text()).toBe("answered by A");

      const loaded = loadIsolate(env, {
        projectId: id, caller: { kind: "isolate", id: "shadow-probe" }, codeId: "shadow-probe", mainModule: "m.js",
        modules: { "m.js": `export default { async fetch(req) { return fetch(req.url, { headers: req.headers }); } }` },
      });
      const fromIsolate = await loaded.getEntrypoint().fetch(`${upstream}/echo/${tag()}`, { headers: { authorization: 'Bearer getSecret("X")' } });
      expect(await fromIsolate.text()).toBe("answered by A");

      expect(log).toEqual(['A:Bearer getSecret("X")', 'A:Bearer getSecret("X")']);
      expect(log.join()).not.toContain(value);
      const caps = await pb.capabilities();
      expect(caps.find((c) => c.name === "fetch")).toMatchObject({ kind: "shadow", depth: 1 });
      const rows = await pa.audit({ capability: "fetch" });
      expect(rows.map((r) => [r.kind, r.caller.split(":")[0]])).toEqual([["shadow", "session"], ["shadow", "isolate"]]);
      await handle.revoke();
    } finally {
      a.close();
      b.close();
    }
  });

  it("intercept a source capability's own fetch, placeholder still raw", async () => {
    const { a, b, pa, pb, value } = await setup();
    try {
      await pb.define("caller", { source: `export async function go(url) { const r = await fetch(url, { headers: { authorization: 'getSecret("X")' } }); return [r.status, await r.text()]; }` });
      const log: string[] = [];
      const h = await pa.shadow("fetch", new FetchShadow("A", log, true));
      expect(await pb.call("caller", "go", `${upstream}/echo/${tag()}`)).toEqual([299, "answered by A"]);
      expect(log).toEqual(['A:getSecret("X")']);
      expect(log.join()).not.toContain(value);
      await h.revoke();
    } finally {
      a.close();
      b.close();
    }
  });

  it("stack: the newest runs first, next runs the one beneath, revoke restores", async () => {
    const { a, b, pa, pb, value } = await setup();
    try {
      const log: string[] = [];
      const s1 = await pa.shadow("fetch", new FetchShadow("S1", log));
      const s2 = await pa.shadow("fetch", new FetchShadow("S2", log));
      const t = tag();
      const res = await pb.fetch(`${upstream}/echo/${t}`, { headers: { authorization: 'Bearer getSecret("X")' } });
      expect(res.status).toBe(200);
      expect(log).toEqual(['S2:Bearer getSecret("X")', 'S1:Bearer getSecret("X")']);
      const [seen] = await upstreamSeen(upstream, t);
      expect(seen!.headers["x-through"]).toBe("S2, S1");
      expect(seen!.headers.authorization).toBe(`Bearer ${value}`);

      await s2.revoke();
      log.length = 0;
      await pb.fetch(`${upstream}/quiet/${tag()}`);
      expect(log).toEqual(["S1:"]);
      await s1.revoke();
      log.length = 0;
      expect((await pb.fetch(`${upstream}/quiet/${tag()}`)).status).toBe(200);
      expect(log).toEqual([]);
      expect((await pb.capabilities()).find((c) => c.name === "fetch")).toMatchObject({ kind: "builtin", depth: 0 });
    } finally {
      a.close();
      b.close();
    }
  });

  it("only the installing session can revoke", async () => {
    const { a, b, pa, pb } = await setup();
    try {
      const handle = await pa.shadow("fetch", new FetchShadow("A", [], true));
      const id = await handle.id;
      expect(await failure(pb.revokeShadow(id))).toMatchObject({ code: "not_found" });
      expect((await pb.fetch(`${upstream}/quiet/${tag()}`)).status).toBe(299);
      await pa.revokeShadow(id);
      expect((await pb.fetch(`${upstream}/quiet/${tag()}`)).status).toBe(200);
    } finally {
      a.close();
      b.close();
    }
  });

  it("fall back to the default as soon as the installing session breaks", async () => {
    const { a, b, pa, pb } = await setup();
    try {
      await pa.shadow("fetch", new FetchShadow("A", [], true));
      expect((await pb.fetch(`${upstream}/quiet/${tag()}`)).status).toBe(299);
      a.close();
      // The very next call: no "capability offline", the built-in answers.
      const res = await pb.fetch(`${upstream}/quiet/${tag()}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("ok");
      expect((await pb.capabilities()).find((c) => c.name === "fetch")).toMatchObject({ kind: "builtin" });
    } finally {
      b.close();
    }
  });

  it("a shadow that throws is removed; the caller gets its error, not a silent bypass", async () => {
    const { a, b, pa, pb } = await setup();
    try {
      class Refuser extends RpcTarget {
        async fetch(): Promise<Response> {
          throw new Error("not today");
        }
      }
      await pa.shadow("fetch", new Refuser());
      const err = await failure(pb.fetch(`${upstream}/quiet/${tag()}`));
      expect(err.code).toBe("capability_failed");
      expect(err.message).toMatch(/not today/);
      expect((await pb.fetch(`${upstream}/quiet/${tag()}`)).status).toBe(200);
    } finally {
      a.close();
      b.close();
    }
  });

  it("shadow a source capability, with next reaching the definition", async () => {
    const { a, b, pa, pb } = await setup();
    try {
      await pa.define("math", { source: `export function add(x, y) { return x + y }` });
      class Doubler extends RpcTarget {
        async add(x: number, y: number, next: (x: number, y: number) => Promise<number>) {
          return 2 * (await next(x, y));
        }
      }
      const h = await pa.shadow("math", new Doubler());
      expect(await pb.call("math", "add", 2, 3)).toBe(10);
      await h.revoke();
      expect(await pb.call("math", "add", 2, 3)).toBe(5);
    } finally {
      a.close();
      b.close();
    }
  });
});
