// A real HTTP server on loopback that stands in for the outside world. It records every request
// it receives, so a test can prove what did (and did not) reach an upstream.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";

export type Seen = { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string };

export function startUpstream(): Promise<{ url: string; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const body = raw.toString("utf8");
    const url = req.url ?? "/";
    if (url.startsWith("/__seen")) {
      const tag = new URL(url, "http://x").searchParams.get("tag") ?? "";
      const hits = seen.filter((s) => JSON.stringify(s).includes(tag));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(hits));
      return;
    }
    if (url.startsWith("/digest")) {
      // What arrived, without keeping it: a large upload's length and sha256.
      const sha256 = createHash("sha256").update(raw).digest("hex");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ method: req.method, bytes: raw.length, sha256, contentType: req.headers["content-type"] ?? null }));
      return;
    }
    seen.push({ method: req.method ?? "", url, headers: req.headers, body });
    if (url.startsWith("/echo")) {
      const echoed = JSON.stringify({ method: req.method, url, headers: req.headers, body });
      // Reflect the Authorization header back in a response header too, as some APIs do.
      res.writeHead(200, { "content-type": "application/json", "x-echo-auth": String(req.headers.authorization ?? "") });
      res.end(echoed);
      return;
    }
    if (url.startsWith("/redirect")) {
      const q = new URL(url, "http://x").searchParams;
      // to64: the Location base64-encoded, so its text appears nowhere in the request.
      const to = q.has("to64") ? Buffer.from(q.get("to64")!, "base64url").toString() : (q.get("to") ?? "/");
      res.writeHead(Number(q.get("status") ?? 302), { location: to }).end();
      return;
    }
    if (url.startsWith("/encoded-echo")) {
      // ?enc=gzip|x-gzip|br|deflate: the echo, compressed and labelled that way.
      const enc = new URL(url, "http://x").searchParams.get("enc") ?? "gzip";
      const echoed = Buffer.from(JSON.stringify({ method: req.method, url, headers: req.headers, body }));
      const packed = enc === "br" ? brotliCompressSync(echoed) : enc === "deflate" ? deflateSync(echoed) : gzipSync(echoed);
      res.writeHead(200, { "content-type": "application/json", "content-encoding": enc }).end(packed);
      return;
    }
    if (url.startsWith("/odd-encoding-echo")) {
      // An encoding nobody decodes: the bytes are the plain echo, but labelled as if they were not.
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "x-odd" }).end(JSON.stringify({ headers: req.headers }));
      return;
    }
    if (url.startsWith("/big")) {
      bigBody(res, new URL(url, "http://x").searchParams, String(req.headers.authorization ?? ""));
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, server });
    });
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * Streams `mb` MiB made of units "filler + reflected value" (the request's Authorization header),
 * in 64 KiB writes. The unit length does not divide 64 KiB, so many reflections straddle a write
 * boundary. Answers with the unit count in a header so a test can check every one was scrubbed.
 */
function bigBody(res: ServerResponse, q: URLSearchParams, reflected: string): void {
  const mb = Math.min(Number(q.get("mb") ?? 1), 200);
  const unit = Buffer.from(`${"a".repeat(997)}${reflected}`);
  const perBlock = Math.floor((1 << 20) / unit.length);
  const block = Buffer.concat(Array.from({ length: perBlock }, () => unit));
  res.writeHead(200, { "content-type": "application/octet-stream", "x-units": String(perBlock * mb), "x-unit-length": String(unit.length) });
  let i = 0;
  let off = 0;
  const write = () => {
    while (i < mb) {
      const chunk = block.subarray(off, off + 65536);
      off += chunk.length;
      if (off >= block.length) {
        off = 0;
        i++;
      }
      if (!res.write(chunk)) return void res.once("drain", write);
    }
    res.end();
  };
  write();
}
