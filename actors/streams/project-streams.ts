// A project's streams as its actor holds them: the SQLite store and the live subscriptions,
// joined so that every append wakes the stream's subscribers. The streams built-in calls this
// after checking its arguments; nothing here trusts a caller.
import { CapstanError } from "../../core/errors";
import type { Encoded } from "./args";
import { READ_DEFAULT_LIMIT, READ_MAX_BYTES } from "./limits";
import { appendEvents, lastOffset, readEvents, type Appended, type StoredEvent } from "./store";
import { Subscriptions, type SubscriberTarget } from "./subscriptions";

export class ProjectStreams {
  readonly subscriptions: Subscriptions;

  constructor(private storage: DurableObjectStorage) {
    this.subscriptions = new Subscriptions((stream, after, limit, maxBytes) => readEvents(storage.sql, stream, after, limit, maxBytes));
  }

  append(stream: string, events: Encoded[], key?: string): Appended {
    const result = appendEvents(this.storage, stream, events, key);
    if (!result.replayed) this.subscriptions.appended(stream);
    return result;
  }

  read(stream: string, after: number, limit = READ_DEFAULT_LIMIT): { events: StoredEvent[]; next: number } {
    const events = readEvents(this.storage.sql, stream, after, limit, READ_MAX_BYTES);
    return { events, next: events.length ? events[events.length - 1]!.offset : after };
  }

  subscribe(stream: string, target: SubscriberTarget, after: number | "start" | "end", ackTimeoutMs: number): { id: string; after: number } {
    const last = lastOffset(this.storage.sql, stream);
    const from = after === "start" ? 0 : after === "end" ? last : after;
    if (from > last) {
      throw new CapstanError("bad_request", `options.after is ${from}, beyond the end of stream "${stream}" (last offset ${last})`);
    }
    return { id: this.subscriptions.add(stream, target, from, ackTimeoutMs), after: from };
  }
}
