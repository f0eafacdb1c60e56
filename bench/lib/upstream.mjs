// The one loopback upstream every scenario talks to: a Node HTTP server that answers 200 with a
// fixed 1 KiB body, or with N bytes for a path under /size/N (egress-scrub). It counts requests by path and Authorization header, so a scenario can
// prove that the secret really was substituted (and that nothing was refused on the way).
import { createServer } from "node:http";

export const BODY = Buffer.alloc(1024, "x");

const key = (path, authorization) => `${path}\n${authorization}`;
const sized = new Map();
/** The body for a path: /size/<bytes>/… gives that many bytes (at most 64 MiB), else BODY. */
function bodyFor(path) {
  const m = /^\/size\/(\d+)\//.exec(path);
  if (!m) return BODY;
  const n = Math.min(Number(m[1]), 64 << 20);
  if (!sized.has(n)) sized.set(n, Buffer.alloc(n, "y"));
  return sized.get(n);
}

export function startUpstream() {
  const counts = new Map();
  const server = createServer((req, res) => {
    const k = key(req.url ?? "/", req.headers.authorization ?? "");
    counts.set(k, (counts.get(k) ?? 0) + 1);
    req.resume();
    req.on("end", () => {
      const body = bodyFor(req.url ?? "/");
      res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
      res.end(body);
    });
  });
  // Keep-alive long enough that workerd's pooled connections are not torn down between rounds.
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        /** How many requests arrived for this path with exactly this Authorization header. */
        seen: (path, authorization) => counts.get(key(path, authorization)) ?? 0,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}
