// A stream subscription that survives reconnections. The client remembers the offset of the
// last event it handed to the callback; when the socket drops (or the project's actor
// restarts), it subscribes again after that offset. Deliveries carry offsets, so anything the
// server sends again (a delivery that was in flight when the socket dropped) is recognised and
// skipped: the callback sees each event once, in order.
import type { RpcStub } from "capnweb";
import { CapstanError, toCapstanError } from "./errors.js";
import type { Live } from "./connection.js";
import type { EndReason, StoredEvent, StreamsApi, SubscribeOptions, SubscriptionApi, SubscriptionEnd } from "./types.js";

export type ClientEndReason = EndReason | "client_closed" | "resubscribe_failed";
export type ClientSubscriptionEnd = { reason: ClientEndReason; message: string; after: number };

/** Server-side ends that a resubscription repairs; the others are the subscription's real end. */
const RESUMABLE = new Set<string>(["actor_restarted", "session_closed"]);

export class StreamSubscription {
  readonly stream: string;
  readonly closed: Promise<ClientSubscriptionEnd>;
  /** How many times it was subscribed again after a drop or an actor restart. */
  resubscriptions = 0;
  readonly #callback: (events: StoredEvent[]) => unknown;
  readonly #options: SubscribeOptions;
  readonly #streams: () => Promise<RpcStub<StreamsApi>>;
  #after: number | null;
  #server: { stub: RpcStub<SubscriptionApi>; id: string; generation: number } | null = null;
  #ended: ClientSubscriptionEnd | null = null;
  #resolve!: (end: ClientSubscriptionEnd) => void;
  #resuming: Promise<void> | null = null;
  /** Callbacks run one after another, even across a resubscription. */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #onEnd: () => void;

  constructor(stream: string, callback: (events: StoredEvent[]) => unknown, options: SubscribeOptions, streams: () => Promise<RpcStub<StreamsApi>>, onEnd: () => void) {
    this.stream = stream;
    this.#callback = callback;
    this.#options = options;
    this.#streams = streams;
    this.#onEnd = onEnd;
    this.#after = typeof options.after === "number" ? options.after : null;
    this.closed = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** The offset of the last event handed to the callback (or the one it started after). */
  get after(): number {
    return this.#after ?? 0;
  }

  /** The server's id for the current subscription; it changes when it is resubscribed. */
  get id(): string | null {
    return this.#server?.id ?? null;
  }

  get ended(): ClientSubscriptionEnd | null {
    return this.#ended;
  }

  /** The first subscription: its refusal (a bad stream name, say) goes to the caller. */
  async start(live: Live): Promise<void> {
    await this.#subscribe(live);
  }

  /** After a reconnection: subscribe again after the last delivered offset. */
  resume(live: Live): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#resuming ??= this.#subscribe(live)
      .then(() => {
        this.resubscriptions++;
      })
      .catch((err) => {
        const e = toCapstanError(err);
        // The socket dropped again: the next reconnection resumes it. Anything else is final.
        if (e.code !== "disconnected" && e.code !== "unreachable" && e.code !== "closed") {
          this.end({ reason: "resubscribe_failed", message: `subscribing again failed: ${e.message}` });
        }
      })
      .finally(() => {
        this.#resuming = null;
      });
    return this.#resuming;
  }

  async unsubscribe(): Promise<ClientSubscriptionEnd> {
    const server = this.#server;
    this.end({ reason: "unsubscribed", message: "unsubscribed" });
    await server?.stub.unsubscribe().catch(() => undefined);
    return this.closed;
  }

  /** Ends it on this side: the callback is called no more. */
  end(end: Omit<ClientSubscriptionEnd, "after">): void {
    if (this.#ended) return;
    this.#ended = { ...end, after: this.after };
    this.#resolve(this.#ended);
    this.#onEnd();
  }

  #deliver = (events: StoredEvent[]): unknown => {
    if (this.#ended) throw new CapstanError("closed", "this subscription has ended");
    const after = this.#after;
    const fresh = after === null ? events : events.filter((e) => e.offset > after);
    if (fresh.length === 0) return undefined;
    this.#after = fresh[fresh.length - 1]!.offset;
    // The server waits for this promise before its next delivery (that is the acknowledgement);
    // chaining also keeps a delivery from a new subscription behind one still running.
    const run = this.#queue.then(() => (this.#ended ? undefined : this.#callback(fresh)));
    this.#queue = run.catch(() => undefined);
    return run;
  };

  async #subscribe(live: Live): Promise<void> {
    const streams = await this.#streams();
    const options: SubscribeOptions = { ...this.#options, after: this.#after ?? this.#options.after ?? "end" };
    const stub = (await streams.subscribe(this.stream, this.#deliver, options)) as unknown as RpcStub<SubscriptionApi>;
    const [id, from] = await Promise.all([stub.id, stub.after]);
    // Deliveries may have come before this answer; only an untouched cursor takes the start.
    this.#after ??= from;
    if (this.#ended) {
      await stub.unsubscribe().catch(() => undefined);
      return;
    }
    this.#server = { stub, id, generation: live.generation };
    stub.closed().then(
      (end) => this.#serverEnded(end, stub, live),
      // The socket dropped: the connection reconnects and calls resume().
      () => undefined,
    );
  }

  #serverEnded(end: SubscriptionEnd, stub: RpcStub<SubscriptionApi>, live: Live): void {
    if (this.#ended || this.#server?.stub !== stub) return;
    if (end.reason === "actor_restarted") void this.resume(live);
    else if (!RESUMABLE.has(end.reason)) this.end({ reason: end.reason, message: end.message });
  }
}
