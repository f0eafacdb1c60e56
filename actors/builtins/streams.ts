// The built-in `streams` capability: durable, ordered, per-project event streams with live
// subscriptions. Dispatched, audited and shadowable like any capability; its arguments are
// checked here because they come from any caller.
import { CapstanError } from "../../core/errors";
import { parseAppend, parseAppendBatch, parseRead, parseSubscribe, parseSubscriptionId } from "../streams/args";
import { ACK_TIMEOUT_DEFAULT_MS } from "../streams/limits";
import type { SubscriberTarget } from "../streams/subscriptions";
import type { Builtin } from "./builtin";

export const streamsBuiltin: Builtin = {
  description: "Durable ordered event streams: append, appendBatch, read, and subscribe from a cursor.",
  methods: {
    async append(ctx, args) {
      const { stream, event, key } = parseAppend(args);
      const r = ctx.streams.append(stream, [event], key);
      if (r.replayed && r.first !== r.last) {
        throw new CapstanError("conflict", `options.idempotencyKey was used on "${stream}" for a batch of ${r.last - r.first + 1} events, not one`);
      }
      return { offset: r.first };
    },

    async appendBatch(ctx, args) {
      const { stream, events, key } = parseAppendBatch(args);
      const r = ctx.streams.append(stream, events, key);
      if (r.replayed && r.last - r.first + 1 !== events.length) {
        throw new CapstanError("conflict", `options.idempotencyKey was used on "${stream}" for ${r.last - r.first + 1} events, not ${events.length}`);
      }
      return { first: r.first, last: r.last };
    },

    async read(ctx, args) {
      const { stream, after, limit } = parseRead(args);
      return ctx.streams.read(stream, after, limit);
    },

    async subscribe(ctx, args) {
      const { stream, target, after, ackTimeoutMs } = parseSubscribe(args);
      return ctx.streams.subscribe(stream, target as SubscriberTarget, after, ackTimeoutMs ?? ACK_TIMEOUT_DEFAULT_MS);
    },

    /** Ids are unguessable, so holding one is what lets a caller end the subscription. */
    async unsubscribe(ctx, args) {
      const id = parseSubscriptionId(args[0]);
      const subs = ctx.streams.subscriptions;
      if (subs.end(id, "unsubscribed", "unsubscribed")) return;
      if (!subs.endedInfo(id)) throw new CapstanError("not_found", `no subscription "${id}" in this project`);
    },
  },
};
