// capnweb over the front door's WebSockets: newWorkersRpcResponse's set-up, with two changes.
//
// Framing: a client that asks with ?frames=binary-v1 gets body chunks and other bytes as binary
// frames (core/rpc-frames.ts); any other capnweb client gets JSON text, as capnweb's own
// transport sends it.
//
// Pacing: workerd's clock stands still while code runs and moves between events, in whole
// milliseconds. capnweb's FlowController sizes a stream's send window from how long each chunk
// took to be acknowledged (bandwidth × shortest round trip). An acknowledgement read in the
// millisecond its chunk went out measures a 0 ms round trip over a 0 ms interval: the window
// becomes NaN, a write waiting for room never resumes, and the body stalls midway (seen from Node
// under wrangler dev with 16–64 KiB chunks of a 10 MiB body; test/node-client/large-bodies.test.ts).
// Such an answer is handed to the session one timer tick later, so every round trip it measures
// is at least 1 ms.
import { RpcSession, newHttpBatchRpcResponse, type RpcSessionOptions, type RpcTransportWithCustomEncoding } from "capnweb";
import { BINARY_FRAMES, FRAMES_PARAM } from "../../core/rpc-frames";
import { FramedWebSocketTransport } from "../../core/rpc-websocket";

export async function workersRpcResponse(request: Request, main: unknown, options: RpcSessionOptions): Promise<Response> {
  if (request.method === "POST") {
    const response = await newHttpBatchRpcResponse(request, main, options);
    response.headers.set("Access-Control-Allow-Origin", "*");
    return response;
  }
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("This endpoint only accepts POST or WebSocket requests.", { status: 400 });
  }
  const sayHello = new URL(request.url).searchParams.get(FRAMES_PARAM) === BINARY_FRAMES;
  const pair = new WebSocketPair();
  pair[0].accept();
  new RpcSession(new PacedTransport(new FramedWebSocketTransport(pair[0], { sayHello })), main, options);
  return new Response(null, { status: 101, webSocket: pair[1] });
}

/** Messages that open an import on the peer, numbered from 1 in the order sent (0 is its main). */
const OPENS_IMPORT = new Set(["push", "stream", "pipe"]);
const ANSWERS = new Set(["resolve", "reject"]);

export class PacedTransport implements RpcTransportWithCustomEncoding {
  readonly encodingLevel = "jsonCompatibleWithBytes";
  #imports = 0;
  /** When each stream chunk not yet acknowledged went out, by its import id. */
  readonly #chunkSent = new Map<number, number>();

  constructor(
    private inner: RpcTransportWithCustomEncoding,
    private now = () => performance.now(),
    private nextTick = () => new Promise<void>((r) => setTimeout(r, 1)),
  ) {}

  send(message: unknown): number | void {
    const kind = Array.isArray(message) ? message[0] : undefined;
    if (OPENS_IMPORT.has(kind)) {
      this.#imports++;
      if (kind === "stream") this.#chunkSent.set(this.#imports, this.now());
    }
    return this.inner.send(message);
  }

  async receive(): Promise<unknown> {
    const message = await this.inner.receive();
    if (Array.isArray(message) && ANSWERS.has(message[0]) && typeof message[1] === "number") {
      const sent = this.#chunkSent.get(message[1]);
      if (sent !== undefined) {
        this.#chunkSent.delete(message[1]);
        if (this.now() <= sent) await this.nextTick();
      }
    }
    return message;
  }

  abort(reason: unknown): void {
    this.inner.abort?.(reason);
  }
}
