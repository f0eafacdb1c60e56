// Large response bodies over capnweb: byte-exact with scrubbing on, carried in large messages
// (not the runtime's 4 KiB pieces, one capnweb message and ack each), and never stalled by
// capnweb's flow control under workerd's millisecond clock (src/rpc/websocket-transport.ts).
import { exports } from "cloudflare:workers";
import { newWebSocketRpcSession, type RpcStub } from "capnweb";
import { describe, expect, inject, it } from "vitest";
import type { Session } from "../src/rpc/api";
import { countedBody } from "../core/count-bytes";
import { BIG_CHUNK_BYTES, throughBigChunks } from "../core/big-chunks";
import { PacedTransport } from "../src/rpc/websocket-transport";
import { BASE, newProject, newUser, tag } from "./helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

/** A session like helpers.connect's, that also counts the stream chunks capnweb sends it. */
async function connectCounting(token: string) {
  const res = await exports.default.fetch(new Request(`${BASE}/rpc`, { headers: { upgrade: "websocket" } }));
  const ws = res.webSocket!;
  ws.accept();
  const seen = { chunks: 0 };
  ws.addEventListener("message", (e) => {
    if (typeof e.data === "string" && e.data.startsWith('["stream"')) seen.chunks++;
  });
  const gate = newWebSocketRpcSession<{ authenticate(t: string): Session }>(ws as unknown as WebSocket);
  return { session: gate.authenticate(token) as unknown as RpcStub<Session>, seen, close: () => ws.close() };
}

async function bytesOf(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer());
}

describe("large bodies over capnweb", () => {
  it("a 6 MiB body with the secret reflected every ~1 KiB arrives byte-exact and scrubbed, in large messages, on the actor's path and on a lease", async () => {
    const user = await newUser();
    const id = await newProject(user.key, "large");
    const { session, seen, close } = await connectCounting(user.key);
    try {
      const p = session.project(id);
      const value = `large-${crypto.randomUUID()}`;
      await p.setSecret("BIG", value, { hosts: [`http://${host}`] });
      const marker = "[redacted:BIG]";
      for (const path of ["actor", "lease"]) {
        seen.chunks = 0;
        const res = await p.fetch(`${upstream}/big/${tag()}?mb=6`, { headers: { authorization: 'getSecret("BIG")' } });
        expect(res.status, path).toBe(200);
        const units = Number(res.headers.get("x-units"));
        const got = await bytesOf(res.body!);
        const expected = new TextEncoder().encode(`${"a".repeat(997)}${marker}`.repeat(units));
        expect(got.byteLength, path).toBe(expected.byteLength);
        expect(got.every((b, i) => b === expected[i]), path).toBe(true);
        // The runtime's 4 KiB pieces would be ~1,500 messages; large chunks are ~100.
        expect(seen.chunks, path).toBeGreaterThan(0);
        expect(seen.chunks, path).toBeLessThan(got.byteLength / 16_384);
        // Give the lease asked for by the first call time to arrive.
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      close();
    }
  }, 60_000);
});

describe("big chunks", () => {
  it("reads a byte stream in chunks of up to BIG_CHUNK_BYTES, whatever its producer's pieces", async () => {
    const res = await fetch(`${upstream}/big/${tag()}?mb=2`, { headers: { authorization: "x" } });
    const sizes: number[] = [];
    for await (const chunk of throughBigChunks(res.body!, { transform: (c, enqueue) => enqueue(c) })) sizes.push(chunk.byteLength);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(Number(res.headers.get("x-units")) * Number(res.headers.get("x-unit-length")));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(BIG_CHUNK_BYTES);
    expect(sizes.length).toBeLessThan(2 * 256);
  });

  it("does not hold a whole buffer per small chunk of a trickling byte stream", async () => {
    let n = 0;
    const trickle = new ReadableStream({
      type: "bytes",
      pull(c) {
        if (n++ < 20) c.enqueue(new Uint8Array(100).fill(n));
        else c.close();
      },
    });
    const chunks: Uint8Array[] = [];
    for await (const chunk of throughBigChunks(trickle, { transform: (c, enqueue) => enqueue(c) })) chunks.push(chunk);
    expect(chunks.map((c) => c.byteLength)).toEqual(Array(20).fill(100));
    expect(chunks.map((c) => c[0])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(Math.max(...chunks.map((c) => c.buffer.byteLength))).toBeLessThan(BIG_CHUNK_BYTES);
  });

  it("the byte count settles once, on the end, a cancel and an error of the body, counting what the step passes on", async () => {
    // Hands out one chunk per pull, then ends or fails.
    const js = (chunks: string[], fail?: Error) => {
      const left = chunks.map((c) => new TextEncoder().encode(c));
      return new ReadableStream<Uint8Array>({
        pull(c) {
          const next = left.shift();
          if (next) c.enqueue(next);
          else if (fail) c.error(fail);
          else c.close();
        },
      });
    };
    const counting = (body: ReadableStream<Uint8Array> | null, step?: Parameters<typeof countedBody>[2]) => {
      const reports: number[] = [];
      const out = countedBody(body, (n) => reports.push(n), step);
      return { response: new Response(out), reports };
    };
    const ended = counting(js(["ab", "cde"]));
    expect(await ended.response.text()).toBe("abcde");
    expect(ended.reports).toEqual([5]);

    // A step that doubles every chunk and adds a tail at the end: its output is what counts.
    const doubled = counting(js(["ab", "c"]), { push: (c) => new Uint8Array([...c, ...c]), end: () => new TextEncoder().encode("!") });
    expect(await doubled.response.text()).toBe("ababcc!");
    expect(doubled.reports).toEqual([7]);

    const cancelled = counting(js(["ab", "cde", "fgh"]));
    const reader = cancelled.response.body!.getReader();
    await reader.read();
    await reader.cancel("enough");
    // What had passed when the reader gave up (the runtime may have read one chunk ahead).
    expect(cancelled.reports).toHaveLength(1);
    expect([2, 5]).toContain(cancelled.reports[0]);

    const failed = counting(js(["ab"], new Error("upstream broke")));
    await expect(failed.response.text()).rejects.toThrow("upstream broke");
    expect(failed.reports).toEqual([2]);

    expect(counting(null).reports).toEqual([0]);
  });
});

describe("the front door's capnweb transport", () => {
  /** A peer that answers whatever the test gives it, on a clock the test sets. */
  function paced() {
    const inbox: unknown[] = [];
    const clock = { ms: 1000, ticks: 0 };
    const inner = {
      send: () => undefined,
      receive: async () => inbox.shift() ?? new Promise<unknown>(() => {}),
      encodingLevel: "jsonCompatibleWithBytes" as const,
    };
    const t = new PacedTransport(inner, () => clock.ms, async () => {
      clock.ticks++;
      clock.ms++;
    });
    const receive = async (m: string) => {
      inbox.push(JSON.parse(m));
      expect(await t.receive()).toEqual(JSON.parse(m));
    };
    const send = (m: string) => t.send(JSON.parse(m));
    return { send, clock, receive };
  }

  it("holds a stream chunk's acknowledgement that arrives in the millisecond the chunk went out until the clock moves", async () => {
    const { send, clock, receive } = paced();
    send('["push",["pipeline",0,["fetch"],[]]]'); // import 1
    send('["pipe"]'); // import 2
    send('["stream",["pipeline",2,["write"],[[["bytes","eA"]]]]]'); // import 3
    send('["stream",["pipeline",2,["write"],[[["bytes","eQ"]]]]]'); // import 4
    await receive('["resolve",3,null]');
    expect(clock.ticks).toBe(1);
    // The clock has moved since import 4 went out: its answer passes at once.
    await receive('["resolve",4,null]');
    expect(clock.ticks).toBe(1);
  });

  it("passes every other message at once, even in the same millisecond", async () => {
    const { send, clock, receive } = paced();
    send('["push",["pipeline",0,["whoami"],[]]]'); // import 1
    send('["stream",["pipeline",-1,["write"],[[["bytes","eA"]]]]]'); // import 2
    for (const m of ['["resolve",1,"me"]', '["resolve",12,null]', '["reject",21,["error","Error","x"]]', '["pull",2]', '["release",-1,1]', '["push",["pipeline",0,["x"]]]']) await receive(m);
    expect(clock.ticks).toBe(0);
    // An answer counts once: a repeated id is not held again.
    await receive('["resolve",2,null]');
    await receive('["resolve",2,null]');
    expect(clock.ticks).toBe(1);
  });
});
