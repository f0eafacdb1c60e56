// How capnweb messages become WebSocket frames (core/rpc-frames.ts), and a session that uses
// binary frames against the front door: what goes in comes out, whatever the data looks like.
import { exports } from "cloudflare:workers";
import { RpcSession, type RpcStub } from "capnweb";
import { describe, expect, inject, it } from "vitest";
import { BINARY_FRAMES, BINARY_HELLO, decodeFrame, encodeFrame } from "../core/rpc-frames";
import { FramedWebSocketTransport } from "../core/rpc-websocket";
import type { Session } from "../src/rpc/api";
import { BASE, newProject, newUser, tag } from "./helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

const bytes = (...b: number[]) => Uint8Array.from(b);
/** Through a frame and back, as an ArrayBuffer the way a WebSocket hands a binary message over. */
function roundTrip(message: unknown): unknown {
  const frame = encodeFrame(message, true);
  return decodeFrame(typeof frame === "string" ? frame : frame.slice().buffer);
}

describe("frames", () => {
  it("keeps a message without bytes as the JSON text capnweb would send", () => {
    const message = ["push", ["pipeline", 0, ["call"], [["ping", { a: [[1, 2]] }]]]];
    expect(encodeFrame(message, true)).toBe(JSON.stringify(message));
  });

  it("sends bytes raw in a binary frame, and gets the same message back", () => {
    const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
    const message = ["stream", ["pipeline", 3, ["write"], [[["bytes", big]]]]];
    const frame = encodeFrame(message, true);
    expect(frame).toBeInstanceOf(Uint8Array);
    // The bytes plus a small header and JSON, not a third more as base64 would be.
    expect((frame as Uint8Array).byteLength).toBeLessThan(big.byteLength + 200);
    expect(roundTrip(message)).toEqual(message);
  });

  it("keeps typed-array markers and several byte arrays in one message", () => {
    const message = ["resolve", 4, { a: ["bytes", bytes(1, 2), "Int16Array"], b: [["bytes", bytes()]], c: ["bytes", bytes(9)] }];
    expect(roundTrip(message)).toEqual(message);
  });

  it("does not mistake data shaped like its own marks for bytes", () => {
    // A user's array ["bytes", 0] travels as its elements: the same shape as a section reference.
    const lookalikes = [["bytes", 0], ["bytes", { "#": 1 }], ["bytes", { "#": { "#": 2 } }], ["bytes", 5, "x"], ["bytes", "AQID"], { "#": 0 }];
    const message = ["push", [lookalikes, ["bytes", bytes(7, 8)]]];
    expect(roundTrip(message)).toEqual(message);
  });

  it("sends bytes as capnweb's base64 to a peer that reads only text", () => {
    const frame = encodeFrame(["stream", ["bytes", bytes(1, 2, 3, 4)]], false);
    expect(frame).toBe('["stream",["bytes","AQIDBA"]]');
  });

  it("frames a byte array that has its own toJSON (as Node's Buffer does) by its bytes", () => {
    class Jsonish extends Uint8Array {
      toJSON() {
        return { type: "Buffer", data: [...this] };
      }
    }
    const chunk = new Jsonish([5, 6, 7]);
    expect(roundTrip(["stream", ["bytes", chunk]])).toEqual(["stream", ["bytes", bytes(5, 6, 7)]]);
    expect(encodeFrame(["stream", ["bytes", chunk]], false)).toBe('["stream",["bytes","BQYH"]]');
  });

  it("refuses malformed binary frames with a TypeError", () => {
    const good = encodeFrame(["x", ["bytes", bytes(1, 2, 3)]], true) as Uint8Array<ArrayBuffer>;
    const broken = (f: (b: Uint8Array) => void) => {
      const b = good.slice();
      f(b);
      return () => decodeFrame(b.buffer);
    };
    expect(() => decodeFrame(new ArrayBuffer(3))).toThrow(TypeError);
    expect(broken((b) => new DataView(b.buffer).setUint32(0, 10_000, true))).toThrow(/shorter/);
    expect(broken((b) => new DataView(b.buffer).setUint32(8, 10_000, true))).toThrow(/ends inside section 0/);
    expect(() => decodeFrame(new Uint8Array([...good, 0]).buffer)).toThrow(/after its last section/);
    const unused = encodeFrame(["x", ["bytes", bytes(1)], ["bytes", bytes(2)]], true) as Uint8Array<ArrayBuffer>;
    // Point both references at section 0.
    const text = new TextDecoder().decode(unused.subarray(16, 16 + new DataView(unused.buffer).getUint32(0, true)));
    expect(text).toBe('["x",["bytes",0],["bytes",1]]');
    unused.set(new TextEncoder().encode('["x",["bytes",0],["bytes",0]]'), 16);
    expect(() => decodeFrame(unused.buffer)).toThrow(/already used/);
  });
});

describe("a binary-frame session against the front door", () => {
  it("is greeted, and gets a 6 MiB body in binary frames, byte-exact and scrubbed", async () => {
    const user = await newUser();
    const id = await newProject(user.key, "frames");
    const res = await exports.default.fetch(new Request(`${BASE}/rpc?frames=${BINARY_FRAMES}`, { headers: { upgrade: "websocket" } }));
    const ws = res.webSocket!;
    ws.accept();
    const seen = { hello: 0, binary: 0, binaryBytes: 0, text: 0 };
    ws.addEventListener("message", (e) => {
      if (e.data === JSON.stringify(BINARY_HELLO)) seen.hello++;
      else if (typeof e.data === "string") seen.text++;
      else {
        seen.binary++;
        seen.binaryBytes += (e.data as ArrayBuffer).byteLength;
      }
    });
    const gate = new RpcSession<{ authenticate(t: string): Session }>(new FramedWebSocketTransport(ws)).getRemoteMain();
    try {
      const p = (gate.authenticate(user.key) as unknown as RpcStub<Session>).project(id);
      await p.setSecret("F", `frames-${crypto.randomUUID()}`, { hosts: [`http://${host}`] });
      const answer = await p.fetch(`${upstream}/big/${tag()}?mb=6`, { headers: { authorization: 'getSecret("F")' } });
      const got = new Uint8Array(await answer.arrayBuffer());
      const expected = new TextEncoder().encode(`${"a".repeat(997)}[redacted:F]`.repeat(Number(answer.headers.get("x-units"))));
      expect(got.byteLength).toBe(expected.byteLength);
      expect(got.every((b, i) => b === expected[i])).toBe(true);
      expect(seen.hello).toBe(1);
      expect(seen.binary).toBeGreaterThan(10);
      // Raw bytes: no base64 third on top.
      expect(seen.binaryBytes).toBeLessThan(got.byteLength * 1.02);
    } finally {
      ws.close();
    }
  }, 60_000);
});
