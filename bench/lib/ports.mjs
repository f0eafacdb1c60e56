// wrangler dev cannot listen on port 0, so a free port is found by letting the OS pick one
// for a throwaway server and closing it again. A race with another process is possible but
// unlikely on loopback, and would show up as a start-up failure, not as wrong numbers.
import { createServer } from "node:net";

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
