// Response scrubbing through the real pipe: reflections in headers and bodies, raw and encoded,
// split across chunks; a 100 MB body streamed through with every reflection replaced; gzip
// decoded to be scrubbed; an encoding nobody can read refused when a secret was sent; and the
// audit's byte counts.
import { inject, describe, expect, it } from "vitest";
import { tag } from "./helpers";
import { dispatchFetch, project, rpcError } from "./egress-helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

const b64 = (s: string) => btoa(s);
const b64url = (s: string) => b64(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** Counts `needle` in a stream without holding it: a tail of needle.length - 1 carries over. */
async function countStreamed(body: ReadableStream<Uint8Array>, needle: string): Promise<{ count: number; bytes: number; chunks: number }> {
  const decoder = new TextDecoder();
  let tail = "";
  let count = 0;
  let bytes = 0;
  let chunks = 0;
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    chunks++;
    const text = tail + decoder.decode(chunk, { stream: true });
    let i = 0;
    while ((i = text.indexOf(needle, i)) !== -1) {
      count++;
      i += needle.length;
    }
    const lastEnd = text.lastIndexOf(needle) === -1 ? 0 : text.lastIndexOf(needle) + needle.length;
    tail = text.slice(Math.max(lastEnd, text.length - (needle.length - 1)));
  }
  return { count, bytes, chunks };
}

describe("scrubbing", () => {
  it("replaces raw, base64, base64url and URL-encoded reflections in body and headers", async () => {
    const { p, close } = await project();
    try {
      const value = `s3cr3t+/?&= ${crypto.randomUUID()}`;
      await p.setSecret("S", value, { hosts: [`http://${host}`] });
      const t = tag();
      // The echo reflects the request: the header (raw) and a body that spells it every way.
      const res = await p.fetch(`${upstream}/echo/${t}`, {
        method: "POST",
        headers: { authorization: 'getSecret("S")', "content-type": "text/plain" },
        body: `raw=getSecret("S") b64=${b64(value)} b64url=${b64url(value)} url=${encodeURIComponent(value)}`,
      });
      const text = await res.text();
      for (const form of [value, b64(value), b64url(value), encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]) {
        expect(text.includes(form), form).toBe(false);
      }
      expect(text.split("[redacted:S]").length - 1).toBeGreaterThanOrEqual(5);
      expect(res.headers.get("x-echo-auth")).toBe("[redacted:S]");
    } finally {
      close();
    }
  });

  it("streams a 100 MB body with the secret reflected across chunk boundaries: every reflection replaced, nothing buffered whole", async () => {
    const { id, p, close } = await project();
    try {
      const value = `big-${crypto.randomUUID()}`;
      await p.setSecret("BIG", value, { hosts: [`http://${host}`] });
      const res = await dispatchFetch(id, new Request(`${upstream}/big/${tag()}?mb=100`, { headers: { authorization: 'getSecret("BIG")' } }));
      expect(res.status).toBe(200);
      const units = Number(res.headers.get("x-units"));
      const unitLength = Number(res.headers.get("x-unit-length"));
      expect(units).toBeGreaterThan(100_000);
      const marker = "[redacted:BIG]";
      const { count, bytes, chunks } = await countStreamed(res.body!, marker);
      expect(count).toBe(units);
      expect(bytes).toBe(units * (unitLength - value.length + marker.length));
      // It arrived in many pieces: the pipe passed it along as it came instead of collecting it.
      expect(chunks).toBeGreaterThan(100);
      await new Promise((r) => setTimeout(r, 50));
      const row = (await p.audit({ capability: "fetch" })).at(-1)!;
      expect(row.egress).toMatchObject({ status: 200, secrets: ["BIG"], bytesIn: bytes, bytesOut: 0, decision: "allow" });
    } finally {
      close();
    }
  }, 120_000);

  it("decodes gzip and br to scrub them (the body arrives plain, and scrubbed)", async () => {
    const { p, close } = await project();
    try {
      const value = `gz-${crypto.randomUUID()}`;
      await p.setSecret("GZ", value, { hosts: [`http://${host}`] });
      for (const enc of ["gzip", "br"]) {
        const res = await p.fetch(`${upstream}/encoded-echo/${tag()}?enc=${enc}`, { headers: { authorization: 'getSecret("GZ")', "accept-encoding": "zstd" } });
        expect(res.headers.get("content-encoding"), enc).toBeNull();
        const body = JSON.parse(await res.text()) as { headers: Record<string, string> };
        expect(body.headers.authorization, enc).toBe("[redacted:GZ]");
        // The pipe asked for what it can decode, whatever the caller asked for.
        expect(body.headers["accept-encoding"]).toBe("gzip, br");
      }
    } finally {
      close();
    }
  });

  it("refuses a response in an encoding the runtime does not decode when a secret was sent; passes it when none was", async () => {
    const { p, close } = await project();
    try {
      await p.setSecret("ODD", `odd-${crypto.randomUUID()}`, { hosts: [`http://${host}`] });
      for (const enc of ["x-gzip", "deflate"]) {
        const err = await rpcError(p.fetch(`${upstream}/encoded-echo/${tag()}?enc=${enc}`, { headers: { authorization: 'getSecret("ODD")' } }));
        expect(err.code, enc).toBe("egress_unscrubbable");
        expect(err.message).toContain(enc);
      }
      const err = await rpcError(p.fetch(`${upstream}/odd-encoding-echo/${tag()}`, { headers: { authorization: 'getSecret("ODD")' } }));
      expect(err.code).toBe("egress_unscrubbable");
      const plain = await p.fetch(`${upstream}/odd-encoding-echo/${tag()}`);
      expect(plain.status).toBe(200);
      expect(plain.headers.get("content-encoding")).toBe("x-odd");
    } finally {
      close();
    }
  });

  it("audits bytes out and in, and the path without its query", async () => {
    const { p, close } = await project();
    try {
      await p.setSecret("Q", "q-value-1", { hosts: [`http://${host}`] });
      const t = tag();
      const res = await p.fetch(`${upstream}/echo/${t}?token=getSecret("Q")&x=plain`, { method: "POST", headers: { "content-type": "text/plain" }, body: "0123456789" });
      const text = await res.text();
      await new Promise((r) => setTimeout(r, 50));
      const row = (await p.audit({ capability: "fetch" })).at(-1)!;
      expect(row.egress).toMatchObject({ method: "POST", path: `/echo/${t}`, secrets: ["Q"], bytesOut: 10, bytesIn: new TextEncoder().encode(text).length, decision: "allow" });
      expect(JSON.stringify(row)).not.toContain("plain");
      expect(JSON.stringify(row)).not.toContain("q-value-1");
    } finally {
      close();
    }
  });
});
