// One logical connection to Capstan's capnweb API that outlives its WebSockets. When a socket
// drops, the connection opens a new one with backoff and jitter, authenticates again in-band
// (the Gate's authenticate(token)), and tells its listeners, which resubscribe their streams.
// A refused token is final: retrying cannot fix it, so the connection closes instead.
// A socket can also die without closing (a laptop sleeps, a NAT forgets the flow): a heartbeat
// asks whoami() after a quiet spell, and a socket that does not answer in time is dropped.
import { RpcSession, type RpcStub } from "capnweb";
import { BINARY_FRAMES, FRAMES_PARAM } from "../core/rpc-frames.js";
import { FramedWebSocketTransport } from "../core/rpc-websocket.js";
import { DEFAULT_BACKOFF, backoffDelay, type Backoff } from "./backoff.js";
import { CapstanError, toCapstanError } from "./errors.js";
import type { GateApi, SessionApi } from "./types.js";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export type ConnectOptions = {
  /** The deployment's origin, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** An API key (`cap_…`) or an access token. */
  token: string;
  backoff?: Partial<Backoff>;
  /** Opens each WebSocket (default `new WebSocket(url)`): a hook for proxies and tests. */
  webSocket?: (url: string) => WebSocket;
  /** Told of every state change; `error` is why the last socket ended or an attempt failed. */
  onStateChange?: (state: ConnectionState, error?: CapstanError) => void;
  /**
   * After `intervalMs` without a message from the server, ask whoami(); no answer within
   * `timeoutMs` drops the socket as a half-open one (calls on it fail with `disconnected`) and
   * reconnects. `false` turns it off.
   */
  heartbeat?: Partial<Heartbeat> | false;
};

export type Heartbeat = { intervalMs: number; timeoutMs: number };
export const DEFAULT_HEARTBEAT: Heartbeat = { intervalMs: 15_000, timeoutMs: 10_000 };

/** The live session of one socket; `generation` counts the sockets opened so far. */
export type Live = { session: RpcStub<SessionApi>; generation: number };

/** Auth and membership failures do not heal by retrying. */
const FINAL = new Set(["unauthorized", "forbidden", "auth_unavailable"]);

export class Connection {
  readonly #options: ConnectOptions;
  readonly #backoff: Backoff;
  readonly #rpcUrl: string;
  #state: ConnectionState = "connecting";
  #live: Live | null = null;
  #socket: WebSocket | null = null;
  #generation = 0;
  #waiters: { resolve: (l: Live) => void; reject: (e: CapstanError) => void }[] = [];
  #closedError: CapstanError | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #beat: ReturnType<typeof setTimeout> | null = null;
  readonly #heartbeat: Heartbeat | null;
  /** When the current socket last brought a message. */
  #heard = 0;
  readonly #onReconnect = new Set<(live: Live) => void>();

  constructor(options: ConnectOptions) {
    this.#options = options;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#heartbeat = options.heartbeat === false ? null : { ...DEFAULT_HEARTBEAT, ...options.heartbeat };
    const u = new URL(options.url);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.pathname = `${u.pathname.replace(/\/+$/, "")}/rpc`;
    u.searchParams.set(FRAMES_PARAM, BINARY_FRAMES);
    this.#rpcUrl = u.toString();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The deployment and the token, for the requests that go over plain HTTP. */
  get http(): { url: string; token: string } {
    return { url: this.#options.url, token: this.#options.token };
  }

  /** The first socket; a failure here is reported rather than retried. */
  async open(): Promise<void> {
    this.#setState("connecting");
    try {
      this.#became(await this.#attempt());
    } catch (err) {
      this.close(toCapstanError(err));
      throw err;
    }
  }

  /** The live session, waiting for a reconnection if one is under way. */
  live(): Promise<Live> {
    if (this.#live) return Promise.resolve(this.#live);
    if (this.#closedError) return Promise.reject(this.#closedError);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Called after every reconnection (not the first connection), with the new session. */
  onReconnect(listener: (live: Live) => void): () => void {
    this.#onReconnect.add(listener);
    return () => this.#onReconnect.delete(listener);
  }

  close(error = new CapstanError("closed", "the client was closed")): void {
    if (this.#state === "closed") return;
    this.#closedError = error;
    if (this.#timer) clearTimeout(this.#timer);
    this.#stopHeartbeat();
    this.#live = null;
    this.#setState("closed", error.code === "closed" ? undefined : error);
    try {
      this.#socket?.close(1000, "client closed");
    } catch {
      // Closing a socket that never opened may throw; it is gone either way.
    }
    for (const w of this.#waiters.splice(0)) w.reject(error);
  }

  async #attempt(): Promise<Live> {
    let opened = false;
    let socket: WebSocket;
    try {
      socket = this.#options.webSocket ? this.#options.webSocket(this.#rpcUrl) : new WebSocket(this.#rpcUrl);
    } catch (err) {
      throw new CapstanError("unreachable", `cannot open a WebSocket to ${this.#rpcUrl}: ${toCapstanError(err).message}`);
    }
    socket.addEventListener("open", () => (opened = true));
    const generation = ++this.#generation;
    const dropped = (why: string) => this.#dropped(generation, why);
    socket.addEventListener("close", (e) => dropped(`socket closed: ${e.code}${e.reason ? ` ${e.reason}` : ""}`));
    socket.addEventListener("error", () => dropped("socket error"));
    socket.addEventListener("message", () => {
      if (this.#live?.generation === generation) this.#heard = Date.now();
    });
    this.#socket = socket;
    // Bodies and other bytes go as binary frames once the server agrees (core/rpc-frames.ts).
    const gate = new RpcSession<GateApi>(new FramedWebSocketTransport(socket)).getRemoteMain();
    const session = gate.authenticate(this.#options.token) as unknown as RpcStub<SessionApi>;
    try {
      // The first answer proves both the socket and the token.
      await session.whoami();
    } catch (err) {
      try {
        socket.close();
      } catch {
        // Never opened.
      }
      if (!opened) throw new CapstanError("unreachable", `cannot reach ${this.#options.url}`);
      throw toCapstanError(err);
    }
    if (socket.readyState !== WebSocket.OPEN) throw new CapstanError("disconnected", "the socket closed while authenticating");
    return { session, generation };
  }

  #became(live: Live): void {
    if (this.#state === "closed") {
      // close() came while this socket was being opened: it must not keep the process alive.
      try {
        this.#socket?.close(1000, "client closed");
      } catch {
        // Already closing.
      }
      return;
    }
    this.#live = live;
    this.#heard = Date.now();
    this.#startHeartbeat(live);
    this.#setState("open");
    for (const w of this.#waiters.splice(0)) w.resolve(live);
  }

  #startHeartbeat(live: Live): void {
    const hb = this.#heartbeat;
    if (!hb) return;
    const schedule = (ms: number) => {
      this.#beat = setTimeout(beat, ms);
      // A heartbeat alone must not keep a Node process running.
      (this.#beat as { unref?: () => void }).unref?.();
    };
    const beat = async () => {
      this.#beat = null;
      if (this.#live !== live) return;
      const quiet = Date.now() - this.#heard;
      if (quiet < hb.intervalMs) return schedule(hb.intervalMs - quiet);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const answered = await Promise.race([
        live.session.whoami().then(() => true, () => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), hb.timeoutMs))),
      ]);
      clearTimeout(timer);
      if (this.#live !== live) return;
      if (answered) return schedule(hb.intervalMs);
      this.#halfOpen(live.generation, `no answer to a heartbeat within ${hb.timeoutMs} ms`);
    };
    schedule(hb.intervalMs);
  }

  #stopHeartbeat(): void {
    if (this.#beat) clearTimeout(this.#beat);
    this.#beat = null;
  }

  /**
   * Drops a socket that stopped answering without closing. Its close handshake cannot complete,
   * so the "close" event may not come for minutes: an "error" event is dispatched on it instead,
   * which makes capnweb fail the calls still waiting on it (as a real socket error does).
   */
  #halfOpen(generation: number, why: string): void {
    const socket = this.#socket;
    this.#dropped(generation, why);
    if (!socket) return;
    socket.dispatchEvent(new Event("error"));
    try {
      socket.close(4000, "heartbeat timeout");
    } catch {
      // Already closing.
    }
  }

  #dropped(generation: number, why: string): void {
    if (this.#state === "closed" || this.#live?.generation !== generation) return;
    this.#live = null;
    this.#stopHeartbeat();
    this.#setState("reconnecting", new CapstanError("disconnected", why));
    this.#retry(0);
  }

  #retry(n: number): void {
    this.#timer = setTimeout(async () => {
      this.#timer = null;
      if (this.#state === "closed") return;
      let live: Live;
      try {
        live = await this.#attempt();
      } catch (err) {
        const e = toCapstanError(err);
        if (FINAL.has(e.code)) return this.close(e);
        this.#options.onStateChange?.("reconnecting", e);
        return this.#retry(n + 1);
      }
      this.#became(live);
      if (this.#state === "open") for (const listener of this.#onReconnect) listener(live);
    }, backoffDelay(this.#backoff, n));
  }

  #setState(state: ConnectionState, error?: CapstanError): void {
    this.#state = state;
    this.#options.onStateChange?.(state, error);
  }
}
