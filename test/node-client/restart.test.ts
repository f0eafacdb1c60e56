// The client across a real server restart: `wrangler dev` is stopped and started again on the
// same port and state, so the socket drops, the project's actor restarts, and the client must
// reconnect, authenticate again and resume its subscription from the last delivered offset.
import { afterAll, beforeAll, expect, it } from "vitest";
import { connect, type StoredEvent } from "../../client/index";
import { startDevServer, type DevServer } from "./dev-server";
import { newProject, newUser, until } from "./helpers";

let server: DevServer;
beforeAll(async () => {
  server = await startDevServer();
});
afterAll(async () => {
  await server?.stop();
});

it("resumes a subscription after wrangler dev restarts, each event exactly once", async () => {
  const { key } = await newUser(server.url, server.serviceToken);
  const projectId = await newProject(key, "restart", server.url);
  // The subscriber stays away until the test lets it back, so events are appended while it is gone.
  let hold = false;
  const reader = await connect({
    url: server.url,
    token: key,
    backoff: { initialMs: 100, maxMs: 500 },
    webSocket: (url) => {
      if (hold) throw new Error("held back (test)");
      return new WebSocket(url);
    },
  });
  const writer = await connect({ url: server.url, token: key, backoff: { initialMs: 50, maxMs: 200 } });
  try {
    const writes = writer.project(projectId).streams();
    const seen: StoredEvent[] = [];
    const sub = await reader.project(projectId).streams().subscribe("jobs", (events) => void seen.push(...events), { after: "start" });
    await writes.appendBatch("jobs", ["a", "b", "c"]);
    await until("the first three events", () => seen.length === 3);

    hold = true;
    await server.restart();
    await until("the reader to notice", () => reader.state === "reconnecting");
    // The writer's call waits for its own reconnection, then lands while the reader is away.
    await writes.appendBatch("jobs", ["d", "e"]);
    expect(reader.state).toBe("reconnecting");
    hold = false;
    await until("the reader to be back", () => reader.state === "open", 20_000);
    await writes.append("jobs", "f");
    await until("six events", () => seen.length >= 6);
    await new Promise((r) => setTimeout(r, 300));

    expect(seen.map((e) => [e.offset, e.event])).toEqual([[1, "a"], [2, "b"], [3, "c"], [4, "d"], [5, "e"], [6, "f"]]);
    expect(sub.resubscriptions).toBe(1);
    expect(sub.ended).toBeNull();
  } finally {
    reader.close();
    writer.close();
  }
});
