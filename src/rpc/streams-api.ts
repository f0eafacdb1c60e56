// project.streams(): the streams capability for capnweb clients. Every method is a dispatch of
// the project's `streams` capability; subscribe also bridges the client's callback (a capnweb
// stub) to a Workers-RPC target the actor can call, and returns a Subscription handle.
import { RpcTarget, type RpcStub } from "capnweb";
import type { SubscriptionEnd } from "../../actors/streams/subscriptions";
import { CapstanError, asCapstanError } from "../../core/errors";
import { actorFor } from "../projects";
import { SubscriberBridge, SubscriberLink, type SubscriberCallback } from "./subscriber-bridge";

type Actor = ReturnType<typeof actorFor>;
/** A dispatch of one method of the project's `streams` capability, as the session's caller. */
type Dispatch = (method: string, args: unknown[]) => Promise<unknown>;

export class Streams extends RpcTarget {
  readonly #dispatchStreams: Dispatch;
  readonly #actor: () => Actor;
  readonly #actorReset: () => void;
  readonly #ctx: ExecutionContext;

  /** `actorReset` tells the project that its actor stub is dead (the actor restarted). */
  constructor(dispatch: Dispatch, actor: () => Actor, actorReset: () => void, ctx: ExecutionContext) {
    super();
    this.#dispatchStreams = dispatch;
    this.#actor = actor;
    this.#actorReset = actorReset;
    this.#ctx = ctx;
  }

  append(stream: unknown, event: unknown, options?: unknown): Promise<unknown> {
    return this.#dispatch("append", [stream, event, options]);
  }
  appendBatch(stream: unknown, events: unknown, options?: unknown): Promise<unknown> {
    return this.#dispatch("appendBatch", [stream, events, options]);
  }
  read(stream: unknown, options?: unknown): Promise<unknown> {
    return this.#dispatch("read", [stream, options]);
  }
  unsubscribe(id: unknown): Promise<unknown> {
    return this.#dispatch("unsubscribe", [id]);
  }

  async subscribe(stream: unknown, callback: unknown, options?: unknown): Promise<Subscription | unknown> {
    if (!isStub(callback)) throw new CapstanError("bad_request", "callback must be a function, passed by reference");
    const actor = this.#actor();
    const drop = (id: string) => this.#ctx.waitUntil(actor.dropSubscription(id).catch(() => false));
    const link = new SubscriberLink(callback as RpcStub<SubscriberCallback>, (l) => l.id && drop(l.id));
    let result: unknown;
    try {
      result = await this.#dispatch("subscribe", [stream, new SubscriberBridge(link), options]);
    } catch (err) {
      link.end({ reason: "unsubscribed", message: "subscribe failed" });
      throw err;
    }
    if (!isStarted(result)) {
      // A shadow of `streams` answered in the built-in's place; its answer is passed on as is.
      link.end({ reason: "unsubscribed", message: "a shadow handled subscribe" });
      return result;
    }
    link.started(result.id, result.after);
    if (link.ended) drop(result.id);
    else {
      actor.watchSubscription(result.id).then(
        (end) => link.end(end),
        () => {
          this.#actorReset();
          link.end({ reason: "actor_restarted", message: "the project's actor restarted; resubscribe from your last offset" });
        },
      );
    }
    return new Subscription(link, () => this.#dispatch("unsubscribe", [result.id]));
  }

  #dispatch(method: string, args: unknown[]): Promise<unknown> {
    // Trailing omitted arguments are not sent, so the audit shows what the caller passed.
    while (args.length && args[args.length - 1] === undefined) args.pop();
    return this.#dispatchStreams(method, args);
  }
}

/** A live subscription: its id, the offset it started after, unsubscribe(), and closed(). */
export class Subscription extends RpcTarget {
  readonly #link: SubscriberLink;
  readonly #unsubscribe: () => Promise<unknown>;

  constructor(link: SubscriberLink, unsubscribe: () => Promise<unknown>) {
    super();
    this.#link = link;
    this.#unsubscribe = unsubscribe;
  }
  get id(): string {
    return this.#link.id!;
  }
  get after(): number {
    return this.#link.from;
  }
  /** No delivery reaches the callback once this resolves. */
  async unsubscribe(): Promise<SubscriptionEnd> {
    if (!this.#link.ended) {
      this.#link.end({ reason: "unsubscribed", message: "unsubscribed" });
      // not_found: the actor already forgot it (it restarted); ended here is ended.
      await this.#unsubscribe().catch((err) => {
        if (asCapstanError(err).code !== "not_found") throw err;
      });
    }
    return this.#link.closed;
  }
  /** Resolves when the subscription ends, for whatever reason, with the last acknowledged offset. */
  closed(): Promise<SubscriptionEnd> {
    return this.#link.closed;
  }
}

function isStub(v: unknown): boolean {
  return (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as { dup?: unknown }).dup === "function";
}

function isStarted(v: unknown): v is { id: string; after: number } {
  return typeof v === "object" && v !== null && typeof (v as { id?: unknown }).id === "string" && typeof (v as { after?: unknown }).after === "number";
}
