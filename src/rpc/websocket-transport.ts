// capnweb over the front door's WebSockets: newWorkersRpcResponse's set-up, on a transport that
// keeps capnweb's stream flow control working under workerd's clock.
//
// workerd's clock stands still while code runs and moves between events, in whole milliseconds.
// capnweb's FlowController sizes a stream's send window from how long each chunk took to be
// acknowledged (bandwidth × shortest round trip). An acknowledgement read in the millisecond its
// chunk went out measures a 0 ms round trip over a 0 ms interval: the window becomes NaN, a write
// waiting for room never resumes, and the body stalls midway (seen from Node under wrangler dev
// with 16–64 KiB chunks of a 10 MiB body; test/node-client/large-bodies.test.ts). Such an answer
// is handed to the session one timer tick later, so every round trip it measures is at least 1 ms.
import { RpcSession, WebSocketTransport, newHttpBatchRpcResponse, type RpcSessionOptions, type RpcTransport } from "capnweb";

export async function workersRpcResponse(request: Request, main: unknown, options: RpcSessionOptions): Promise<Response> {
  if (request.method === "POST") {
    const response = await newHttpBatchRpcResponse(request, main, options);
    response.headers.set("Access-Control-Allow-Origin", "*");
    return response;
  }
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("This endpoint only accepts POST or WebSocket requests.", { status: 400 });
  }
  const pair = new WebSocketPair();
  pair[0].accept();
  new RpcSession(new PacedTransport(new WebSocketTransport(pair[0])), main, options);
  return new Response(null, { status: 101, webSocket: pair[1] });
}

/** Messages that open an import on the peer, numbered from 1 in the order sent (0 is its main). */
const OPENS_IMPORT = /^\["(push|stream|pipe)"/;
const ANSWER = /^\["(?:resolve|reject)",(\d+)[,\]]/;

export class PacedTransport implements RpcTransport {
  #imports = 0;
  /** When each stream chunk not yet acknowledged went out, by its import id. */
  readonly #chunkSent = new Map<number, number>();

  constructor(
    private inner: RpcTransport,
    private now = () => performance.now(),
    private nextTick = () => new Promise<void>((r) => setTimeout(r, 1)),
  ) {}

  send(message: string): void | Promise<void> {
    const opens = OPENS_IMPORT.exec(message);
    if (opens) {
      this.#imports++;
      if (opens[1] === "stream") this.#chunkSent.set(this.#imports, this.now());
    }
    return this.inner.send(message);
  }

  async receive(): Promise<string> {
    const message = await this.inner.receive();
    const answer = ANSWER.exec(message);
    const id = answer ? Number(answer[1]) : NaN;
    const sent = this.#chunkSent.get(id);
    if (sent !== undefined) {
      this.#chunkSent.delete(id);
      if (this.now() <= sent) await this.nextTick();
    }
    return message;
  }

  abort(reason: unknown): void {
    this.inner.abort?.(reason);
  }
}
