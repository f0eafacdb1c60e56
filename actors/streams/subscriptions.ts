// Live subscriptions, in the actor's memory (what they point to, a caller's session, does not
// survive the actor either). Each one is a cursor and a pump, with no queue: events wait in
// SQLite, and the pump reads the next delivery from the cursor whenever the subscriber is idle
// and something was appended. So replay and live delivery are the same loop, the hand-over
// between them cannot skip or repeat an offset, and a slow subscriber costs one outstanding
// delivery of memory however far behind it falls.
import { CapstanError, asCapstanError } from "../../core/errors";
import { DELIVERY_MAX_BYTES, DELIVERY_MAX_EVENTS, ENDED_REMEMBERED, MAX_SUBSCRIPTIONS } from "./limits";
import type { StoredEvent } from "./store";

/** What the actor calls: the front door's bridge to a client callback, or loaded code's own target. */
export type SubscriberTarget = {
  deliver(events: StoredEvent[]): Promise<unknown>;
  dup?(): SubscriberTarget;
  [Symbol.dispose]?(): void;
};

export type EndReason = "unsubscribed" | "callback_failed" | "timeout" | "session_closed" | "actor_restarted";
/** Why a subscription ended, and the last offset its subscriber acknowledged. */
export type SubscriptionEnd = { reason: EndReason; message: string; after: number };

type Subscription = {
  id: string;
  stream: string;
  target: SubscriberTarget;
  ackTimeoutMs: number;
  /** The last offset acknowledged: the next delivery starts after it. */
  cursor: number;
  busy: boolean;
  ended: SubscriptionEnd | null;
  waiters: ((end: SubscriptionEnd) => void)[];
};

export type SubscriptionStats = { subscriptions: number; busy: number; streams: Record<string, number> };

export class Subscriptions {
  readonly #byId = new Map<string, Subscription>();
  readonly #byStream = new Map<string, Set<Subscription>>();
  /** Insertion-ordered, trimmed from the oldest: memory for ended ones is bounded too. */
  readonly #ended = new Map<string, SubscriptionEnd>();

  constructor(private readDelivery: (stream: string, after: number, limit: number, maxBytes: number) => StoredEvent[]) {}

  add(stream: string, target: SubscriberTarget, after: number, ackTimeoutMs: number): string {
    if (this.#byId.size >= MAX_SUBSCRIPTIONS) {
      throw new CapstanError("limit_exceeded", `this project already has ${MAX_SUBSCRIPTIONS} live subscriptions`);
    }
    const id = `sub_${randomToken()}`;
    // A stub received as an argument is released when the call returns unless it is duplicated.
    const kept = target.dup ? target.dup() : target;
    const sub: Subscription = { id, stream, target: kept, ackTimeoutMs, cursor: after, busy: false, ended: null, waiters: [] };
    this.#byId.set(id, sub);
    let set = this.#byStream.get(stream);
    if (!set) this.#byStream.set(stream, (set = new Set()));
    set.add(sub);
    void this.#pump(sub);
    return id;
  }

  /** Something was appended to `stream`: wake its idle subscribers. */
  appended(stream: string): void {
    for (const sub of this.#byStream.get(stream) ?? []) void this.#pump(sub);
  }

  /** Ends a live subscription; false if it is not live (already ended, or never existed here). */
  end(id: string, reason: EndReason, message: string): boolean {
    const sub = this.#byId.get(id);
    if (!sub) return false;
    const end: SubscriptionEnd = { reason, message, after: sub.cursor };
    sub.ended = end;
    this.#byId.delete(id);
    const set = this.#byStream.get(sub.stream);
    set?.delete(sub);
    if (set?.size === 0) this.#byStream.delete(sub.stream);
    this.#ended.set(id, end);
    if (this.#ended.size > ENDED_REMEMBERED) this.#ended.delete(this.#ended.keys().next().value!);
    try {
      sub.target[Symbol.dispose]?.();
    } catch {
      // A stub whose session already broke may refuse disposal; it is gone either way.
    }
    for (const w of sub.waiters.splice(0)) w(end);
    return true;
  }

  isLive(id: string): boolean {
    return this.#byId.has(id);
  }

  endedInfo(id: string): SubscriptionEnd | undefined {
    return this.#ended.get(id);
  }

  /**
   * Resolves when the subscription ends. An id this actor has never seen was made by an
   * earlier instance of it (ids are random per subscription): the actor restarted.
   */
  watch(id: string): Promise<SubscriptionEnd> {
    const sub = this.#byId.get(id);
    if (sub) return new Promise((resolve) => sub.waiters.push(resolve));
    const ended = this.#ended.get(id);
    if (ended) return Promise.resolve(ended);
    return Promise.resolve({ reason: "actor_restarted", message: "the project's actor restarted; resubscribe from your last offset", after: 0 });
  }

  stats(): SubscriptionStats {
    const streams: Record<string, number> = {};
    for (const [name, set] of this.#byStream) streams[name] = set.size;
    let busy = 0;
    for (const sub of this.#byId.values()) if (sub.busy) busy++;
    return { subscriptions: this.#byId.size, busy, streams };
  }

  /**
   * Delivers from the cursor until nothing is left, one delivery at a time. It leaves the loop
   * only right after a read came back empty, with no await in between, so an append made while
   * a delivery was outstanding is always picked up by the next read.
   */
  async #pump(sub: Subscription): Promise<void> {
    if (sub.busy || sub.ended) return;
    sub.busy = true;
    try {
      for (;;) {
        const events = this.readDelivery(sub.stream, sub.cursor, DELIVERY_MAX_EVENTS, DELIVERY_MAX_BYTES);
        if (events.length === 0) return;
        await acknowledged(sub.target.deliver(events), sub.ackTimeoutMs);
        if (sub.ended) return;
        sub.cursor = events[events.length - 1]!.offset;
      }
    } catch (err) {
      if (err instanceof AckTimeout) {
        this.end(sub.id, "timeout", `the subscriber did not acknowledge a delivery within ${sub.ackTimeoutMs} ms`);
      } else {
        const e = asCapstanError(err);
        if (e.code === "shadow_broken") this.end(sub.id, "session_closed", e.detail);
        else this.end(sub.id, "callback_failed", e.code === "internal" ? "the subscriber's callback failed" : e.detail);
      }
    } finally {
      sub.busy = false;
    }
  }
}

class AckTimeout extends Error {}

async function acknowledged(delivery: Promise<unknown>, ms: number): Promise<void> {
  let timer = 0;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AckTimeout()), ms);
  });
  // A delivery that settles after its timeout has nobody waiting for it.
  delivery.catch(() => {});
  try {
    await Promise.race([delivery, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}
