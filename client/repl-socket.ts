// The REPL over its own WebSocket (GET /v1/projects/:id/repl, docs/api.md#repl): what the CLI's
// `repl` and `run` use. Authentication is in-band ({type:"auth"}), which every WebSocket
// implementation can send; a refusal closes the socket with 4401 (token) or 4404 (project).
import { CapstanError } from "./errors.js";
import type { ReplHistoryEntry, ReplLogEntry, ReplOutcome } from "./types.js";

export type ReplServerMessage =
  | { type: "ready"; session: string; history: number }
  | { type: "log"; id: number; level: string; args: string[] }
  | ({ id: number } & ReplOutcome)
  | { type: "error"; id: null; name: string; message: string; stack: string }
  | { type: "history"; entries: ReplHistoryEntry[] };

export type ReplSocketOptions = { url: string; token: string; project: string; session?: string };

type Pending = { resolve: (o: ReplOutcome) => void; reject: (e: CapstanError) => void; onLog?: (entry: ReplLogEntry) => void };

export class ReplSocket {
  readonly session: string;
  /** How many lines the session had run before this socket. */
  readonly history: number;
  readonly #ws: WebSocket;
  readonly #lines = new Map<number, Pending>();
  #historyWaiters: ((entries: ReplHistoryEntry[]) => void)[] = [];
  #nextId = 1;
  #closed: CapstanError | null = null;

  private constructor(ws: WebSocket, ready: { session: string; history: number }) {
    this.#ws = ws;
    this.session = ready.session;
    this.history = ready.history;
    ws.addEventListener("message", (e) => this.#message(e));
    ws.addEventListener("close", (e) => this.#fail(new CapstanError("disconnected", `the REPL connection closed (${e.code}${e.reason ? ` ${e.reason}` : ""})`)));
    ws.addEventListener("error", () => this.#fail(new CapstanError("disconnected", "the REPL connection failed")));
  }

  /** Opens and authenticates; rejects with unauthorized, not_found or unreachable. */
  static open(options: ReplSocketOptions): Promise<ReplSocket> {
    const u = new URL(options.url);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.pathname = `${u.pathname.replace(/\/+$/, "")}/v1/projects/${encodeURIComponent(options.project)}/repl`;
    if (options.session) u.searchParams.set("session", options.session);
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(u.toString());
      } catch (err) {
        return reject(new CapstanError("bad_request", `cannot open ${u}: ${(err as Error).message}`));
      }
      let opened = false;
      let refusal: CapstanError | null = null;
      const onMessage = (e: MessageEvent) => {
        const msg = JSON.parse(String(e.data)) as ReplServerMessage;
        if (msg.type === "ready") {
          ws.removeEventListener("message", onMessage);
          resolve(new ReplSocket(ws, msg));
        } else if (msg.type === "error" && msg.id === null) {
          refusal = new CapstanError(msg.name === "AuthError" ? "unauthorized" : "bad_request", msg.message);
        }
      };
      ws.addEventListener("open", () => {
        opened = true;
        ws.send(JSON.stringify({ type: "auth", token: options.token }));
      });
      ws.addEventListener("message", onMessage);
      // Some WebSocket implementations (Node 20's) report a refused connection with an error
      // event alone, and no close event.
      ws.addEventListener("error", () => {
        if (!opened) reject(new CapstanError("unreachable", `cannot reach ${options.url}`));
      });
      ws.addEventListener("close", (e) => {
        if (!opened) return reject(new CapstanError("unreachable", `cannot reach ${options.url}`));
        if (e.code === 4404) return reject(new CapstanError("not_found", `no project ${options.project} (or you are not a member of it)`));
        if (e.code === 4401) return reject(new CapstanError("unauthorized", refusal?.message ?? "the token was refused"));
        reject(refusal ?? new CapstanError("disconnected", `the REPL connection closed (${e.code})`));
      });
    });
  }

  /** Runs one line; lines run in the order they were sent. */
  eval(code: string, onLog?: (entry: ReplLogEntry) => void): Promise<ReplOutcome> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#lines.set(id, { resolve, reject, onLog });
      this.#ws.send(JSON.stringify({ type: "eval", id, code }));
    });
  }

  /** Stops waiting for the running line: it ends with a CancelledError. */
  cancel(): void {
    // The server cancels whichever line runs; the id says which one we meant, for the record.
    const running = this.#lines.keys().next();
    if (!this.#closed) this.#ws.send(JSON.stringify({ type: "cancel", ...(running.done ? {} : { id: running.value }) }));
  }

  get running(): boolean {
    return this.#lines.size > 0;
  }

  historyEntries(): Promise<ReplHistoryEntry[]> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve) => {
      this.#historyWaiters.push(resolve);
      this.#ws.send(JSON.stringify({ type: "history" }));
    });
  }

  close(): void {
    this.#closed ??= new CapstanError("closed", "the REPL was closed");
    this.#ws.close(1000, "bye");
  }

  #message(e: MessageEvent): void {
    const msg = JSON.parse(String(e.data)) as ReplServerMessage;
    if (msg.type === "history") {
      this.#historyWaiters.shift()?.(msg.entries);
      return;
    }
    if (msg.type === "ready" || msg.id === null) return;
    const line = this.#lines.get(msg.id);
    if (!line) return;
    if (msg.type === "log") {
      line.onLog?.({ level: msg.level, args: msg.args });
      return;
    }
    this.#lines.delete(msg.id);
    const { id: _id, ...outcome } = msg;
    line.resolve(outcome as ReplOutcome);
  }

  #fail(err: CapstanError): void {
    this.#closed ??= err;
    for (const line of this.#lines.values()) line.reject(this.#closed);
    this.#lines.clear();
  }
}
