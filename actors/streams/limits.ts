// The bounds of the streams capability, in one place so the docs and the tests can name them.

/** One event, as UTF-8 JSON. */
export const MAX_EVENT_BYTES = 1024 * 1024;
/** Events in one appendBatch call. */
export const MAX_BATCH_EVENTS = 1000;
/** All events of one appendBatch call together, as UTF-8 JSON. */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Nesting depth of one event; deeper values are refused rather than risk the stack. */
export const MAX_EVENT_DEPTH = 64;

export const MAX_IDEMPOTENCY_KEY_CHARS = 128;

/** read(): default and largest page, and the byte budget of one page (always at least one event). */
export const READ_DEFAULT_LIMIT = 100;
export const READ_MAX_LIMIT = 1000;
export const READ_MAX_BYTES = 4 * 1024 * 1024;

/**
 * One delivery to a subscriber: at most this many events and bytes (always at least one event).
 * A subscriber has at most one delivery outstanding, so this is also the most memory a
 * subscriber can hold in the actor: events wait in SQLite, not in a queue.
 */
export const DELIVERY_MAX_EVENTS = 100;
export const DELIVERY_MAX_BYTES = 1024 * 1024;

/** How long a subscriber may take to acknowledge one delivery before it is dropped. */
export const ACK_TIMEOUT_DEFAULT_MS = 30_000;
export const ACK_TIMEOUT_MIN_MS = 100;
export const ACK_TIMEOUT_MAX_MS = 120_000;

/** Live subscriptions in one project's actor. */
export const MAX_SUBSCRIPTIONS = 1000;
/** Ended subscriptions whose reason is kept for a late watch() or unsubscribe(). */
export const ENDED_REMEMBERED = 1000;
