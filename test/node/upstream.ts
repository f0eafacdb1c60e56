// A real HTTP server on loopback that stands in for the outside world. It records every request
// it receives, so a test can prove what did (and did not) reach an upstream.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type Seen = { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string };

export function startUpstream(): Promise<{ url: string; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = req.url ?? "/";
    if (url.startsWith("/__seen")) {
      const tag = new URL(url, "http://x").searchParams.get("tag") ?? "";
      const hits = seen.filter((s) => JSON.stringify(s).includes(tag));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(hits));
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
      const to = new URL(url, "http://x").searchParams.get("to") ?? "/";
      res.writeHead(302, { location: to }).end();
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

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
