// Large bodies between a real `wrangler dev` and Node. Over capnweb's WebSocket, the path where
// capnweb's stream flow control once stalled a body midway (src/rpc/websocket-transport.ts), each
// arrives whole, byte-exact and scrubbed, through the typed client (in binary frames) and a plain
// capnweb session (in text). Over the HTTP fetch route (`via: "http"`) they stream both ways.
import { newWebSocketRpcSession, type RpcStub } from "capnweb";
import { createHash } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapstanError, HttpApi, connect } from "../../client/index";
import type { GateApi, SessionApi } from "../../client/types";
import { allowEgressTo, capstanUrl, newProject, newUser } from "./helpers";

const MIB = 10;
const UNIT_FILLER = "a".repeat(997);

/**
 * An upstream that answers with MIB MiB of units "filler + the request's Authorization", in 64 KiB
 * writes; or, under /digest, with the length and sha256 of the body it was sent.
 */
async function reflectingUpstream(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res: ServerResponse) => {
    if (req.url === "/digest") {
      const hash = createHash("sha256");
      let bytes = 0;
      req.on("data", (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
      });
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ bytes, sha256: hash.digest("hex") })));
      return;
    }
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

  it("arrives whole, byte-exact and scrubbed through the typed client, request after request, in binary frames", async () => {
    const frames = { binary: 0, binaryBytes: 0 };
    const webSocket = (url: string) => {
      const ws = new WebSocket(url);
      ws.addEventListener("message", (e) => {
        if (typeof e.data === "string") return;
        frames.binary++;
        frames.binaryBytes += (e.data as ArrayBuffer).byteLength;
      });
      return ws;
    };
    const client = await connect({ url: capstanUrl(), token: key, webSocket });
    try {
      const project = client.project(projectId);
      await project.setSecret("BIG", value, { hosts: [upstream.url] });
      for (let i = 0; i < 6; i++) {
        const res = await project.fetch(`${upstream.url}/big`, { headers: { authorization: 'getSecret("BIG")' } });
        expect(res.status).toBe(200);
        const body = await readWithin(res, 15_000);
        expect(body.equals(expected(Number(res.headers.get("x-units")))), `request ${i}`).toBe(true);
      }
      // The bodies came as raw bytes: no base64 third on top of them.
      expect(frames.binary).toBeGreaterThan(6 * 10);
      expect(frames.binaryBytes).toBeLessThan(6 * (MIB << 20) * 1.02);
    } finally {
      client.close();
    }
  }, 90_000);

  it("streams both ways through the typed client over HTTP (via: \"http\")", async () => {
    const client = await connect({ url: capstanUrl(), token: key });
    try {
      const project = client.project(projectId);
      for (let i = 0; i < 3; i++) {
        const res = await project.fetch(`${upstream.url}/big`, { headers: { authorization: 'getSecret("BIG")' } }, { via: "http" });
        expect(res.status).toBe(200);
        const body = await readWithin(res, 15_000);
        expect(body.equals(expected(Number(res.headers.get("x-units")))), `request ${i}`).toBe(true);
      }
      const upload = Buffer.alloc(MIB << 20).map((_, i) => (i * 31) & 0xff);
      const source = new Blob([upload]).stream();
      const res = await project.fetch(`${upstream.url}/digest`, { method: "POST", body: source }, { via: "http" });
      expect(await res.json()).toEqual({ bytes: upload.length, sha256: createHash("sha256").update(upload).digest("hex") });
    } finally {
      client.close();
    }
  }, 90_000);

  it("uploads 40 MiB over the socket, held in memory or as a stream of one huge chunk, without ending the session", async () => {
    // Either would be one capnweb message past its 32 MiB limit, which ends the whole session.
    const client = await connect({ url: capstanUrl(), token: key });
    try {
      const project = client.project(projectId);
      const upload = Buffer.alloc(40 << 20).map((_, i) => (i * 13) & 0xff);
      const digest = { bytes: upload.length, sha256: createHash("sha256").update(upload).digest("hex") };
      const oneChunk = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(upload);
          c.close();
        },
      });
      for (const body of [upload, oneChunk]) {
        const res = await project.fetch(`${upstream.url}/digest`, { method: "POST", body, duplex: "half" } as RequestInit);
        expect(await res.json()).toEqual(digest);
      }
      expect(client.state).toBe("open");

      // A large string body goes as a stream too, still typed text/plain, so its placeholder is filled in.
      const text = `key=getSecret("BIG");${"x".repeat(2 << 20)}`;
      const filled = Buffer.from(`key=${value};${"x".repeat(2 << 20)}`);
      const res = await project.fetch(`${upstream.url}/digest`, { method: "POST", body: text });
      expect(await res.json()).toEqual({ bytes: filled.length, sha256: createHash("sha256").update(filled).digest("hex") });
    } finally {
      client.close();
    }
  }, 90_000);

  it("reports a refused HTTP fetch as a CapstanError, with nothing sent", async () => {
    const api = new HttpApi({ url: capstanUrl(), token: key });
    const refused = api.fetch(projectId, "http://127.0.0.1:9/never", { headers: { authorization: 'getSecret("BIG")' } });
    await expect(refused).rejects.toBeInstanceOf(CapstanError);
    await expect(refused).rejects.toMatchObject({ code: "egress_denied", status: 403 });
    const stranger = new HttpApi({ url: capstanUrl(), token: "cap_" + "x".repeat(43) });
    await expect(stranger.fetch(projectId, `${upstream.url}/big`)).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("arrives whole through a plain capnweb session (no Capstan client code), in text frames", async () => {
    const ws = new WebSocket(`${capstanUrl().replace(/^http/, "ws")}/rpc`);
    let binary = 0;
    ws.addEventListener("message", (e) => void (typeof e.data === "string" || binary++));
    const gate = newWebSocketRpcSession<GateApi>(ws);
    try {
      const project = (gate.authenticate(key) as unknown as RpcStub<SessionApi>).project(projectId);
      for (let i = 0; i < 4; i++) {
        const res = await project.fetch(`${upstream.url}/big`, { headers: { authorization: 'getSecret("BIG")' } });
        const body = await readWithin(res, 15_000);
        expect(body.equals(expected(Number(res.headers.get("x-units")))), `request ${i}`).toBe(true);
      }
      expect(binary).toBe(0);
    } finally {
      ws.close();
    }
  }, 60_000);
});
