// A REPL client over a real WebSocket to the Worker, for the tests.
import { exports } from "cloudflare:workers";
import { BASE } from "./helpers";

export type ReplMessage = { type: string; id?: unknown; [k: string]: unknown };

export class ReplSocket {
  readonly messages: ReplMessage[] = [];
  #waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | null = null;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      this.messages.push(JSON.parse(e.data as string));
      this.#wake();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.#wake();
    });
  }

  #wake() {
    for (const w of this.#waiters.splice(0)) w();
  }

  async next(match: (m: ReplMessage) => boolean, timeoutMs = 20_000): Promise<ReplMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex(match);
      if (i !== -1) return this.messages.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`socket closed ${this.closed.code} ${this.closed.reason}`);
      if (Date.now() > deadline) throw new Error("no such message in time");
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  send(m: unknown) {
    this.ws.send(typeof m === "string" ? m : JSON.stringify(m));
  }

  #seq = 0;
  /** Sends a line and returns its logs and its final message. */
  async eval(code: string): Promise<{ logs: ReplMessage[]; final: ReplMessage }> {
    const id = `l${++this.#seq}`;
    this.send({ type: "eval", id, code });
    const final = await this.next((m) => m.id === id && (m.type === "result" || m.type === "error"));
    const logs = this.messages.filter((m) => m.id === id && m.type === "log");
    for (const l of logs) this.messages.splice(this.messages.indexOf(l), 1);
    return { logs, final };
  }

  close() {
    this.ws.close();
  }
}

export async function openRepl(projectId: string, opts: { token?: string; session?: string } = {}): Promise<{ res: Response; repl: ReplSocket | null }> {
  const url = new URL(`${BASE}/v1/projects/${projectId}/repl`);
  if (opts.session) url.searchParams.set("session", opts.session);
  const headers: Record<string, string> = { upgrade: "websocket" };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await exports.default.fetch(new Request(url, { headers }));
  if (!res.webSocket) return { res, repl: null };
  res.webSocket.accept();
  return { res, repl: new ReplSocket(res.webSocket as unknown as WebSocket) };
}
