// Large response bodies from a real `wrangler dev` to Node over capnweb's WebSocket, the path
// where capnweb's stream flow control once stalled a body midway (src/rpc/websocket-transport.ts):
// each arrives whole, byte-exact and scrubbed, through the typed client and a plain capnweb session.
import { newWebSocketRpcSession, type RpcStub } from "capnweb";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../client/index";
import type { GateApi, SessionApi } from "../../client/types";
import { allowEgressTo, capstanUrl, newProject, newUser } from "./helpers";

const MIB = 10;
const UNIT_FILLER = "a".repeat(997);

/** An upstream that answers with MIB MiB of units "filler + the request's Authorization", in 64 KiB writes. */
async function reflectingUpstream(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res: ServerResponse) => {
    const unit = Buffer.from(`${UNIT_FILLER}${req.headers.authorization ?? ""}`);
    const body = Buffer.concat(Array.from({ length: Math.ceil((MIB << 20) / unit.length) }, () => unit));
    res.writeHead(200, { "content-type": "application/octet-stream", "x-units": String(body.length / unit.length) });
    let off = 0;
    const write = () => {
      while (off < body.length) {
        const chunk = body.subarray(off, off + 65536);
        off += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", write);
      }
      res.end();
    };
    req.resume();
    req.on("end", write);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** The body read whole, within `ms`: a stalled stream fails here rather than at the test's timeout. */
async function readWithin(res: Response, ms: number): Promise<Buffer> {
  let timer!: ReturnType<typeof setTimeout>;
  const stalled = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the body did not finish within ${ms} ms`)), ms)));
  try {
    return Buffer.from(await Promise.race([res.arrayBuffer(), stalled]));
  } finally {
    clearTimeout(timer);
  }
}

describe(`a ${MIB} MiB response body over capnweb`, () => {
  let upstream: { url: string; close(): void };
  let key: string;
  let projectId: string;
  const value = `node-large-${crypto.randomUUID()}`;
  const expected = (units: number) => Buffer.from(`${UNIT_FILLER}[redacted:BIG]`.repeat(units));

  beforeAll(async () => {
    upstream = await reflectingUpstream();
    ({ key } = await newUser());
    projectId = await newProject(key, "large");
    await allowEgressTo(key, projectId, upstream.url);
  });
  afterAll(() => upstream.close());

  it("arrives whole, byte-exact and scrubbed through the typed client, request after request", async () => {
    const client = await connect({ url: capstanUrl(), token: key });
    try {
      const project = client.project(projectId);
      await project.setSecret("BIG", value, { hosts: [upstream.url] });
      for (let i = 0; i < 6; i++) {
        const res = await project.fetch(`${upstream.url}/big`, { headers: { authorization: 'getSecret("BIG")' } });
        expect(res.status).toBe(200);
        const body = await readWithin(res, 15_000);
        expect(body.equals(expected(Number(res.headers.get("x-units")))), `request ${i}`).toBe(true);
      }
    } finally {
      client.close();
    }
  }, 90_000);

  it("arrives whole through a plain capnweb session (no Capstan client code)", async () => {
    const ws = new WebSocket(`${capstanUrl().replace(/^http/, "ws")}/rpc`);
    const gate = newWebSocketRpcSession<GateApi>(ws);
    try {
      const project = (gate.authenticate(key) as unknown as RpcStub<SessionApi>).project(projectId);
      for (let i = 0; i < 4; i++) {
        const res = await project.fetch(`${upstream.url}/big`, { headers: { authorization: 'getSecret("BIG")' } });
        const body = await readWithin(res, 15_000);
        expect(body.equals(expected(Number(res.headers.get("x-units")))), `request ${i}`).toBe(true);
      }
    } finally {
      ws.close();
    }
  }, 60_000);
});
