// A client's stream subscription, as the actor reaches it: a Workers-RPC target in the front
// door (SubscriberBridge) that forwards each delivery to the client's capnweb callback. Its
// state lives in a SubscriberLink, which the front door's Subscription handle shares; the
// bridge exposes only `deliver`. A broken session is reported as shadow_broken (the actor ends
// the subscription as session_closed); a callback's own failure as capability_failed.
import { RpcTarget, type RpcStub } from "capnweb";
import type { StoredEvent } from "../../actors/streams/store";
import type { SubscriptionEnd } from "../../actors/streams/subscriptions";
import { CapstanError } from "../../core/errors";

export type SubscriberCallback = (events: StoredEvent[]) => unknown;

export class SubscriberLink {
  id: string | null = null;
  /** The offset the subscription started after. */
  from = 0;
  /** The last offset the callback acknowledged; a resubscription continues after it. */
  after = 0;
  readonly closed: Promise<SubscriptionEnd>;
  #ended: SubscriptionEnd | null = null;
  #resolve!: (end: SubscriptionEnd) => void;
  readonly #callback: RpcStub<SubscriberCallback>;

  constructor(callback: RpcStub<SubscriberCallback>, onBroken: (link: SubscriberLink) => void) {
    this.closed = new Promise((resolve) => (this.#resolve = resolve));
    // Params are released when the call that brought them returns; keep our own duplicate.
    this.#callback = callback.dup();
    this.#callback.onRpcBroken(() => {
      if (this.#ended) return;
      this.end({ reason: "session_closed", message: "the subscribing session is gone" });
      onBroken(this);
    });
  }

  get ended(): SubscriptionEnd | null {
    return this.#ended;
  }

  /** The first delivery may have been acknowledged before subscribe's answer got here. */
  started(id: string, after: number): void {
    this.id = id;
    this.from = after;
    this.after = Math.max(this.after, after);
  }

  async deliver(events: StoredEvent[]): Promise<void> {
    if (this.#ended) throw this.#gone();
    try {
      await this.#callback(events);
    } catch (err) {
      if (this.#ended) throw this.#gone();
      const message = err instanceof Error ? err.message : String(err);
      throw new CapstanError("capability_failed", `the subscriber's callback failed: ${message}`);
    }
    const last = events[events.length - 1];
    if (!this.#ended && last) this.after = last.offset;
  }

  /** Ends it here: no delivery reaches the callback after this. Later calls change nothing. */
  end(end: Omit<SubscriptionEnd, "after">): void {
    if (this.#ended) return;
    this.#ended = { reason: end.reason, message: end.message, after: this.after };
    this.#resolve(this.#ended);
    try {
      this.#callback[Symbol.dispose]();
    } catch {
      // Disposing a stub of a broken session may throw; it is released either way.
    }
  }

  #gone(): CapstanError {
    return new CapstanError("shadow_broken", "the subscription has ended on the client's side");
  }
}

export class SubscriberBridge extends RpcTarget {
  readonly #link: SubscriberLink;
  constructor(link: SubscriberLink) {
    super();
    this.#link = link;
  }
  deliver(events: StoredEvent[]): Promise<void> {
    return this.#link.deliver(events);
  }
}
