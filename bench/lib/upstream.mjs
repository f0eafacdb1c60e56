// The one loopback upstream every scenario talks to: a Node HTTP server that answers 200 with a
// fixed 1 KiB body. It counts requests by path and Authorization header, so a scenario can
// prove that the secret really was substituted (and that nothing was refused on the way).
import { createServer } from "node:http";

export const BODY = Buffer.alloc(1024, "x");

const key = (path, authorization) => `${path}\n${authorization}`;

export function startUpstream() {
  const counts = new Map();
  const server = createServer((req, res) => {
    const k = key(req.url ?? "/", req.headers.authorization ?? "");
    counts.set(k, (counts.get(k) ?? 0) + 1);
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": BODY.length });
      res.end(BODY);
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
