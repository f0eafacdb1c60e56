// connect({url, token}): the typed client. Its objects stand for things on the server (a
// project, a REPL session, a subscription) rather than for one socket's stubs, so they keep
// working across reconnections: each call goes to the live session of the moment.
import type { RpcStub } from "capnweb";
import { Connection, type ConnectOptions, type ConnectionState, type Live } from "./connection.js";
import { BIG_CHUNK_BYTES } from "../core/big-chunks.js";
import { httpFetch } from "./http-fetch.js";
import { call, perConnection } from "./per-connection.js";
import { StreamSubscription } from "./subscription.js";
import type {
  AppendOptions, Approval, ApprovalEvent, ApprovalWatchApi, AuditQuery, AuditRow, CapabilityInfo, EgressPolicy, EgressPolicyInput,
  ProjectApi, ProjectInfo, ReadOptions, ReadPage, ReplHistoryEntry, ReplLogEntry, ReplOutcome, ReplSessionApi, SecretBinding,
  SecretInfo, SessionApi, ShadowHandleApi, StoredEvent, StreamsApi, SubscribeOptions,
} from "./types.js";
import type { RpcTarget } from "capnweb";

/** How project.fetch carries the request: over the socket (the default), or as its own HTTP request. */
export type FetchOptions = { via?: "socket" | "http" };

/**
 * Over the socket, a body held in memory travels as one capnweb message, and so does each chunk
 * of a stream; a message past capnweb's 32 MiB limit ends the whole session. So a body larger
 * than STREAM_BODY_ABOVE goes as a stream, and a stream's chunks go in pieces of at most
 * BIG_CHUNK_BYTES (the size the server sends bodies in).
 */
const STREAM_BODY_ABOVE = 1 << 20;

function streamedIfLarge(init: RequestInit | undefined): RequestInit | undefined {
  const body = init?.body;
  if (body instanceof ReadableStream) return { ...init, body: body.pipeThrough(inPieces()) };
  const size =
    typeof body === "string" ? body.length * 3 : body instanceof Blob ? body.size : body instanceof ArrayBuffer || ArrayBuffer.isView(body) ? body.byteLength : 0;
  if (size <= STREAM_BODY_ABOVE) return init;
  // As a stream the body loses the type fetch would give it (a string's text/plain, a Blob's
  // own), which decides whether its placeholders are filled in: it is given here instead.
  const headers = new Headers(init?.headers);
  const implied = typeof body === "string" ? "text/plain;charset=UTF-8" : body instanceof Blob ? body.type : "";
  if (implied && !headers.has("content-type")) headers.set("content-type", implied);
  return { ...init, headers, body: new Blob([body] as ConstructorParameters<typeof Blob>[0]).stream().pipeThrough(inPieces()) };
}

function inPieces(): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      for (let at = 0; at < chunk.byteLength; at += BIG_CHUNK_BYTES) controller.enqueue(chunk.subarray(at, at + BIG_CHUNK_BYTES));
    },
  });
}

/** Connects and authenticates; rejects with `unauthorized` or `unreachable` if it cannot. */
export async function connect(options: ConnectOptions): Promise<CapstanClient> {
  const connection = new Connection(options);
  await connection.open();
  return new CapstanClient(connection);
}

export class CapstanClient {
  readonly #connection: Connection;
  readonly #subscriptions = new Set<StreamSubscription>();

  constructor(connection: Connection) {
    this.#connection = connection;
    connection.onReconnect((live) => {
      for (const sub of this.#subscriptions) void sub.resume(live);
    });
  }

  get state(): ConnectionState {
    return this.#connection.state;
  }

  /** The raw capnweb session of the current socket, for anything the wrappers do not cover. */
  async session(): Promise<RpcStub<SessionApi>> {
    return (await this.#connection.live()).session;
  }

  whoami(): Promise<{ userId: string; sessionId: string }> {
    return call(async () => (await this.session()).whoami());
  }
  projects(): Promise<ProjectInfo[]> {
    return call(async () => (await this.session()).projects());
  }
  createProject(name: string): Promise<ProjectInfo> {
    return call(async () => (await this.session()).createProject(name));
  }
  /** A project by id. Nothing is checked until its first call (`not_found` if not a member). */
  project(id: string): ProjectClient {
    return new ProjectClient(this.#connection, id, this.#subscriptions);
  }

  /** Closes the socket; subscriptions end with `client_closed` and calls fail with `closed`. */
  close(): void {
    for (const sub of [...this.#subscriptions]) sub.end({ reason: "client_closed", message: "the client was closed" });
    this.#connection.close();
  }
}

export class ProjectClient {
  readonly id: string;
  readonly #connection: Connection;
  readonly #stub: () => Promise<RpcStub<ProjectApi>>;
  readonly #subscriptions: Set<StreamSubscription>;

  constructor(connection: Connection, id: string, subscriptions: Set<StreamSubscription>) {
    this.id = id;
    this.#connection = connection;
    this.#subscriptions = subscriptions;
    this.#stub = perConnection(connection, async (live) => (await live.session.project(id)) as unknown as RpcStub<ProjectApi>);
  }

  /** The raw capnweb stub of this project on the current socket. */
  stub(): Promise<RpcStub<ProjectApi>> {
    return this.#stub();
  }

  /**
   * Mirrors the global fetch; the request leaves through the project's egress. `via: "http"`
   * sends it as its own HTTP request instead of over the socket: slower to start (it is
   * authenticated and audited on its own), much faster for bodies of megabytes either way.
   */
  fetch(input: string | URL | Request, init?: RequestInit, options: FetchOptions = {}): Promise<Response> {
    if (options.via === "http") return httpFetch(this.#connection.http, this.id, input, init);
    return call(async () => (await this.#stub()).fetch(input instanceof URL ? input.toString() : input, streamedIfLarge(init)) as Promise<Response>);
  }
  capabilities(): Promise<CapabilityInfo[]> {
    return call(async () => (await this.#stub()).capabilities());
  }
  define(name: string, options: { source: string; description?: string }): Promise<CapabilityInfo> {
    return call(async () => (await this.#stub()).define(name, options));
  }
  remove(name: string): Promise<void> {
    return call(async () => (await this.#stub()).remove(name));
  }
  call(name: string, method: string, ...args: unknown[]): Promise<unknown> {
    return call(async () => (await this.#stub()).call(name, method, ...args));
  }
  /** A stub of one capability, tied to the current socket (it ends when the socket does). */
  cap<T extends RpcTarget = RpcTarget>(name: string): Promise<RpcStub<T>> {
    return call(async () => (await (await this.#stub()).cap(name)) as unknown as RpcStub<T>);
  }
  /**
   * Installs `target` over capability `name`. A shadow lives as long as the socket that
   * installed it: after a reconnection it is gone, and must be installed again if still wanted.
   */
  shadow(name: string, target: RpcTarget): Promise<RpcStub<ShadowHandleApi>> {
    return call(async () => (await (await this.#stub()).shadow(name, target)) as unknown as RpcStub<ShadowHandleApi>);
  }
  revokeShadow(id: string): Promise<void> {
    return call(async () => (await this.#stub()).revokeShadow(id));
  }
  setSecret(name: string, value: string, options: { hosts: SecretBinding[] }): Promise<void> {
    return call(async () => (await this.#stub()).setSecret(name, value, options));
  }
  listSecrets(): Promise<SecretInfo[]> {
    return call(async () => (await this.#stub()).listSecrets());
  }
  deleteSecret(name: string): Promise<void> {
    return call(async () => (await this.#stub()).deleteSecret(name));
  }
  audit(options?: AuditQuery): Promise<AuditRow[]> {
    return call(async () => (await this.#stub()).audit(options));
  }
  /** The egress policy (any member may read it). */
  policy(): Promise<EgressPolicy> {
    return call(async () => (await this.#stub()).policy());
  }
  /** Replaces the egress policy whole (owners only). */
  setPolicy(policy: EgressPolicyInput): Promise<EgressPolicy> {
    return call(async () => (await this.#stub()).setPolicy(policy));
  }
  /** Requests held for approval, oldest first. */
  approvals(): Promise<Approval[]> {
    return call(async () => (await this.#stub()).approvals());
  }
  /** Lets a held request go (approvers and owners); `always` also allows that origin, method and path from then on. */
  approve(id: string, options?: { always?: boolean }): Promise<Approval> {
    return call(async () => (await this.#stub()).approve(id, options));
  }
  deny(id: string): Promise<Approval> {
    return call(async () => (await this.#stub()).deny(id));
  }
  /**
   * Calls `callback` as requests are held and decided. Like a shadow, a watch belongs to the
   * socket that made it: after a reconnection, watch again (and read approvals() for what was
   * held meanwhile).
   */
  watchApprovals(callback: (event: ApprovalEvent) => unknown): Promise<RpcStub<ApprovalWatchApi>> {
    return call(async () => (await (await this.#stub()).watchApprovals(callback)) as unknown as RpcStub<ApprovalWatchApi>);
  }
  /** A REPL session, new or resumed by id; reopened by its id after a reconnection. */
  async repl(sessionId?: string): Promise<ReplClient> {
    const first = await call(async () => (await (await this.#stub()).repl(sessionId)) as unknown as RpcStub<ReplSessionApi>);
    const id = await call(async () => first.id as unknown as Promise<string>);
    return new ReplClient(this.#connection, id, () => this.#stub());
  }
  streams(): StreamsClient {
    return new StreamsClient(this.#connection, () => this.#stub(), this.#subscriptions);
  }
}

export class ReplClient {
  readonly id: string;
  readonly #stub: () => Promise<RpcStub<ReplSessionApi>>;

  constructor(connection: Connection, id: string, project: () => Promise<RpcStub<ProjectApi>>) {
    this.id = id;
    this.#stub = perConnection(connection, async () => (await (await project()).repl(id)) as unknown as RpcStub<ReplSessionApi>);
  }
  /** Runs one line; console output goes to `onLog` while it runs. */
  eval(code: string, onLog?: (entry: ReplLogEntry) => unknown): Promise<ReplOutcome> {
    return call(async () => (await this.#stub()).eval(code, onLog));
  }
  cancel(): Promise<boolean> {
    return call(async () => (await this.#stub()).cancel());
  }
  history(): Promise<ReplHistoryEntry[]> {
    return call(async () => (await this.#stub()).history());
  }
  close(): Promise<void> {
    return call(async () => (await this.#stub()).close());
  }
}

export class StreamsClient {
  readonly #connection: Connection;
  readonly #stub: () => Promise<RpcStub<StreamsApi>>;
  readonly #subscriptions: Set<StreamSubscription>;

  constructor(connection: Connection, project: () => Promise<RpcStub<ProjectApi>>, subscriptions: Set<StreamSubscription>) {
    this.#connection = connection;
    this.#subscriptions = subscriptions;
    this.#stub = perConnection(connection, async () => (await project()).streams() as unknown as RpcStub<StreamsApi>);
  }
  append(stream: string, event: unknown, options?: AppendOptions): Promise<{ offset: number }> {
    return call(async () => (await this.#stub()).append(stream, event, options));
  }
  appendBatch(stream: string, events: unknown[], options?: AppendOptions): Promise<{ first: number; last: number }> {
    return call(async () => (await this.#stub()).appendBatch(stream, events, options));
  }
  read(stream: string, options?: ReadOptions): Promise<ReadPage> {
    return call(async () => (await this.#stub()).read(stream, options) as Promise<ReadPage>);
  }
  /**
   * A subscription that resumes after reconnections and actor restarts from the last event
   * it delivered: `callback` sees each event once, in offset order. It ends on unsubscribe(),
   * when the callback throws or is too slow (ackTimeoutMs), or when the client is closed.
   */
  async subscribe(stream: string, callback: (events: StoredEvent[]) => unknown, options: SubscribeOptions = {}): Promise<StreamSubscription> {
    const sub = new StreamSubscription(stream, callback, options, this.#stub, () => this.#subscriptions.delete(sub));
    this.#subscriptions.add(sub);
    try {
      await call(async () => sub.start(await this.#connection.live()));
    } catch (err) {
      this.#subscriptions.delete(sub);
      throw err;
    }
    return sub;
  }
}
