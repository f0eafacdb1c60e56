// One logical connection to Capstan's capnweb API that outlives its WebSockets. When a socket
// drops, the connection opens a new one with backoff and jitter, authenticates again in-band
// (the Gate's authenticate(token)), and tells its listeners, which resubscribe their streams.
// A refused token is final: retrying cannot fix it, so the connection closes instead.
import { newWebSocketRpcSession, type RpcStub } from "capnweb";
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
};

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
  readonly #onReconnect = new Set<(live: Live) => void>();

  constructor(options: ConnectOptions) {
    this.#options = options;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    const u = new URL(options.url);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.pathname = `${u.pathname.replace(/\/+$/, "")}/rpc`;
    this.#rpcUrl = u.toString();
  }

  get state(): ConnectionState {
    return this.#state;
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
    this.#socket = socket;
    const gate = newWebSocketRpcSession<GateApi>(socket);
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
    this.#setState("open");
    for (const w of this.#waiters.splice(0)) w.resolve(live);
  }

  #dropped(generation: number, why: string): void {
    if (this.#state === "closed" || this.#live?.generation !== generation) return;
    this.#live = null;
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
