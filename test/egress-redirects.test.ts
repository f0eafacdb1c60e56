// Redirects are followed inside the pipe, up to MAX_REDIRECTS hops, with the policy and every
// secret's binding re-checked on each hop. A header carrying a secret goes on only to where the
// secret is bound; a Location is the upstream's text and is never expanded.
import { inject, describe, expect, it } from "vitest";
import { nextHop, MAX_REDIRECTS } from "../isolates/egress/redirects";
import { tag, upstreamSeen } from "./helpers";
import { project, rpcError } from "./egress-helpers";

const upstream = inject("upstream");
const other = inject("otherUpstream");
const host = new URL(upstream).host;
const redirect = (to: string, status = 302) => `${upstream}/redirect/${tag()}?status=${status}&to=${encodeURIComponent(to)}`;
/** A redirect whose Location the request does not contain, not even encoded. */
const redirect64 = (to: string, status = 302) => `${upstream}/redirect/${tag()}?status=${status}&to64=${btoa(to).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
const at = async (u: string, t: string, path: string) => (await upstreamSeen(u, t)).find((s) => s.url.startsWith(path));

describe("one hop, as data", () => {
  const from = new URL("https://api.x.com/a");
  it("never downgrades https to http while a secret is carried, and refuses odd Locations", () => {
    expect(() => nextHop(1, 302, "http://api.x.com/b", from, "GET", true)).toThrow(/redirect_refused.*downgrade/);
    expect(nextHop(1, 302, "http://api.x.com/b", from, "GET", false).url.href).toBe("http://api.x.com/b");
    expect(() => nextHop(1, 302, "file:///etc/passwd", from, "GET", false)).toThrow(/redirect_refused/);
    expect(() => nextHop(1, 302, "https://u:p@api.x.com/", from, "GET", false)).toThrow(/user:password/);
    expect(() => nextHop(MAX_REDIRECTS + 1, 302, "/b", from, "GET", false)).toThrow(/more than 10 redirects/);
  });
  it("rewrites methods as the fetch spec does", () => {
    expect(nextHop(1, 303, "/b", from, "POST", false)).toMatchObject({ method: "GET", keepBody: false });
    expect(nextHop(1, 303, "/b", from, "HEAD", false)).toMatchObject({ method: "HEAD" });
    expect(nextHop(1, 302, "/b", from, "POST", false)).toMatchObject({ method: "GET", keepBody: false });
    expect(nextHop(1, 301, "/b", from, "PUT", false)).toMatchObject({ method: "PUT", keepBody: true });
    expect(nextHop(1, 307, "/b", from, "POST", false)).toMatchObject({ method: "POST", keepBody: true });
    expect(nextHop(1, 308, "/b", from, "POST", false)).toMatchObject({ method: "POST", keepBody: true });
  });
});

describe("redirects through the pipe", () => {
  it("follow a same-host redirect with the secret re-substituted, and audit the hop count", async () => {
    const { p, close } = await project();
    try {
      const value = `rv-${crypto.randomUUID()}`;
      await p.setSecret("R", value, { hosts: [`http://${host}`] });
      const t = tag();
      const res = await p.fetch(redirect(`/echo/${t}`), { headers: { authorization: 'Bearer getSecret("R")' } });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("[redacted:R]");
      const [seen] = await upstreamSeen(upstream, t);
      expect(seen!.headers.authorization).toBe(`Bearer ${value}`);
      expect((await p.audit({ capability: "fetch" })).at(-1)).toMatchObject({ egress: { redirects: 1, status: 200, decision: "allow" } });
    } finally {
      close();
    }
  });

  it("drop a secret-bearing header when the next host is not bound, and never expand a placeholder in a Location", async () => {
    const { p, close } = await project();
    try {
      const value = `rv-${crypto.randomUUID()}`;
      await p.setSecret("R", value, { hosts: [`http://${host}`] });
      const t = tag();
      const res = await p.fetch(redirect64(`${other}/echo/${t}?x=getSecret("R")`), { headers: { authorization: 'Bearer getSecret("R")', "x-plain": "kept" } });
      expect(res.status).toBe(200);
      const [seen] = await upstreamSeen(other, t);
      expect(seen!.headers.authorization).toBeUndefined();
      expect(seen!.headers["x-plain"]).toBe("kept");
      expect(decodeURIComponent(seen!.url)).toContain('x=getSecret("R")');
      expect(JSON.stringify(seen)).not.toContain(value);
    } finally {
      close();
    }
  });

  it("refuse a Location that reflects a substituted value to a host it is not bound to", async () => {
    const { p, close } = await project();
    try {
      const value = `rv-${crypto.randomUUID()}`;
      await p.setSecret("R", value, { hosts: [`http://${host}`] });
      const t = tag();
      // The bound upstream is asked (legitimately) to see the secret in its query, and echoes it into a Location elsewhere.
      const err = await rpcError(p.fetch(redirect(`${other}/echo/${t}?x=getSecret("R")`)));
      expect(err.code).toBe("redirect_refused");
      expect(err.message).toMatch(/secret "R" in its Location/);
      expect(err.message).not.toContain(value);
      expect(await upstreamSeen(other, t)).toEqual([]);
      // To where it is bound, the same reflection is fine.
      const t2 = tag();
      expect((await p.fetch(redirect(`${upstream}/echo/${t2}?x=getSecret("R")`))).status).toBe(200);
    } finally {
      close();
    }
  });

  it("refuse a redirect to 169.254.169.254 or to a host the policy denies, before the hop is sent", async () => {
    const { p, close } = await project();
    try {
      const metadata = await rpcError(p.fetch(redirect("http://169.254.169.254/latest/meta-data/")));
      expect(metadata.code).toBe("redirect_refused");
      expect(metadata.message).toMatch(/private or metadata/);
      await p.setPolicy({ rules: [{ host: upstream, action: "allow" }, { host: other, action: "deny" }] });
      const t = tag();
      expect((await rpcError(p.fetch(redirect(`${other}/echo/${t}`)))).code).toBe("redirect_refused");
      expect(await upstreamSeen(other, t)).toEqual([]);
    } finally {
      close();
    }
  });

  it("303 after a POST becomes a GET without the body; 307 resends the body, substituted again", async () => {
    const { p, close } = await project();
    try {
      const value = `rv-${crypto.randomUUID()}`;
      await p.setSecret("R", value, { hosts: [`http://${host}`] });
      const t1 = tag();
      await p.fetch(redirect(`/echo/${t1}`, 303), { method: "POST", headers: { "content-type": "text/plain" }, body: 'k=getSecret("R")' });
      const s1 = await at(upstream, t1, "/echo");
      expect(s1).toMatchObject({ method: "GET", body: "" });
      const t2 = tag();
      await p.fetch(redirect(`/echo/${t2}`, 307), { method: "POST", headers: { "content-type": "text/plain" }, body: 'k=getSecret("R")' });
      const s2 = await at(upstream, t2, "/echo");
      expect(s2).toMatchObject({ method: "POST", body: `k=${value}` });
    } finally {
      close();
    }
  });

  it("307 to a host the body's secret is not bound to is refused rather than sent", async () => {
    const { p, close } = await project();
    try {
      await p.setSecret("R", "body-secret-1", { hosts: [`http://${host}`] });
      const t = tag();
      const err = await rpcError(p.fetch(redirect(`${other}/echo/${t}`, 307), { method: "POST", headers: { "content-type": "text/plain" }, body: 'getSecret("R")' }));
      expect(err.code).toBe("redirect_refused");
      expect(err.message).toMatch(/secret "R" is not bound/);
      expect(await upstreamSeen(other, t)).toEqual([]);
    } finally {
      close();
    }
  });

  it("stop after 10 hops; redirect: manual hands the 3xx back, its Location scrubbed", async () => {
    const { p, close } = await project();
    try {
      let url = `${upstream}/echo/end`;
      for (let i = 0; i < 11; i++) url = redirect(url);
      expect((await rpcError(p.fetch(url))).message).toMatch(/more than 10 redirects/);

      const value = `rv-${crypto.randomUUID()}`;
      await p.setSecret("R", value, { hosts: [`http://${host}`] });
      const res = await p.fetch(`${upstream}/redirect/${tag()}?to=${encodeURIComponent(`/x?k=getSecret("R")`)}&status=301`, { redirect: "manual" });
      expect(res.status).toBe(301);
      const res2 = await p.fetch(`${upstream}/redirect/${tag()}?to=getSecret("R")`, { redirect: "manual" });
      expect(res2.status).toBe(302);
      expect(res2.headers.get("location")).toBe("[redacted:R]");
      // The runtime has no "error" mode ("manual" and a status check is the edge's way): a clear refusal.
      const bad = await rpcError(p.fetch(`${upstream}/echo/x`, { redirect: "error" } as RequestInit));
      expect(bad).toMatchObject({ code: "bad_request" });
      expect(bad.message).toMatch(/init\.redirect must be "follow" or "manual"/);
    } finally {
      close();
    }
  });
});
