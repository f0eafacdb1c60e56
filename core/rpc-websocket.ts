// A capnweb transport over one WebSocket that frames messages with rpc-frames.ts: binary frames
// for messages with bytes once the peer is known to read them, JSON text otherwise. It reads both
// kinds always. It runs in the front door (workerd) and in the Node client, so it touches only
// what both WebSocket APIs share.
import { DEFAULT_LIMITS, type RpcTransportWithCustomEncoding } from "capnweb";
import { BINARY_HELLO, decodeFrame, encodeFrame, frameSize } from "./rpc-frames.js";

/** The part of a WebSocket this transport uses; workerd's and the WHATWG one both have it. */
export interface FrameSocket {
  readonly readyState: number;
  binaryType: string;
  send(data: string | Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void): void;
}

const CONNECTING = 0;
/** A close frame's reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5). */
const MAX_CLOSE_REASON_BYTES = 123;

export type FramingOptions = {
  /**
   * The server's side: the client asked for binary frames, so say BINARY_HELLO first and send
   * them from the start. Otherwise (the client's side) send them once the peer's hello comes.
   */
  sayHello?: boolean;
  maxMessageSize?: number;
};

export class FramedWebSocketTransport implements RpcTransportWithCustomEncoding {
  readonly encodingLevel = "jsonCompatibleWithBytes";
  readonly #socket: FrameSocket;
  #peerReadsBinary: boolean;
  readonly #maxMessageSize: number;
  /** Messages sent before the socket opened, still unencoded: the handshake decides their form. */
  #sendQueue: unknown[] | undefined;
  #receiveQueue: unknown[] = [];
  #waiting: { resolve: (m: unknown) => void; reject: (e: unknown) => void } | undefined;
  #error: unknown;

  constructor(socket: FrameSocket, { sayHello = false, maxMessageSize = DEFAULT_LIMITS.maxMessageSize }: FramingOptions = {}) {
    this.#socket = socket;
    this.#peerReadsBinary = sayHello;
    this.#maxMessageSize = maxMessageSize;
    socket.binaryType = "arraybuffer";
    if (socket.readyState === CONNECTING) {
      this.#sendQueue = [];
      socket.addEventListener("open", () => this.#flush(sayHello));
    } else {
      this.#flush(sayHello);
    }
    socket.addEventListener("message", (event: { data: unknown }) => this.#received(event.data));
    socket.addEventListener("close", (event: { code: number; reason: string }) =>
      this.#failed(new Error(`Peer closed WebSocket: ${event.code} ${event.reason}`)),
    );
    socket.addEventListener("error", () => this.#failed(new Error("WebSocket connection failed.")));
  }

  send(message: unknown): number | void {
    if (this.#sendQueue) {
      this.#sendQueue.push(message);
      return;
    }
    return this.#write(message);
  }

  receive(): Promise<unknown> {
    if (this.#receiveQueue.length > 0) return Promise.resolve(this.#receiveQueue.shift());
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  abort(reason: unknown): void {
    let message = reason instanceof Error ? reason.message : String(reason);
    const bytes = new TextEncoder().encode(message);
    if (bytes.byteLength > MAX_CLOSE_REASON_BYTES) message = new TextDecoder().decode(bytes.subarray(0, MAX_CLOSE_REASON_BYTES), { stream: true });
    try {
      this.#socket.close(3000, message);
    } catch {
      // Already closed.
    }
    this.#error ??= reason;
  }

  /** Sends what waited for the socket to open, after the hello if there is one. */
  #flush(hello: boolean): void {
    const queued = this.#sendQueue ?? [];
    this.#sendQueue = undefined;
    try {
      if (hello) this.#socket.send(JSON.stringify(BINARY_HELLO));
      for (const message of queued) this.#write(message);
    } catch (err) {
      this.#failed(err);
    }
  }

  #write(message: unknown): number {
    const frame = encodeFrame(message, this.#peerReadsBinary);
    this.#socket.send(frame);
    return frameSize(frame);
  }

  #received(data: unknown): void {
    if (this.#error !== undefined) return;
    let message: unknown;
    try {
      if (typeof data !== "string" && !(data instanceof ArrayBuffer)) throw new TypeError("Received unexpected message type from WebSocket.");
      const size = typeof data === "string" ? data.length : data.byteLength;
      if (size > this.#maxMessageSize) throw new TypeError(`Incoming message exceeds maximum size of ${this.#maxMessageSize}.`);
      message = decodeFrame(data);
    } catch (err) {
      return this.#failed(err);
    }
    if (message === BINARY_HELLO) {
      this.#peerReadsBinary = true;
      return;
    }
    if (this.#waiting) {
      this.#waiting.resolve(message);
      this.#waiting = undefined;
    } else {
      this.#receiveQueue.push(message);
    }
  }

  #failed(reason: unknown): void {
    if (this.#error !== undefined) return;
    this.#error = reason;
    this.#waiting?.reject(reason);
    this.#waiting = undefined;
  }
}
