// The streams capability's arguments, checked inside the actor: they come from any caller
// (a client, loaded code, a shadow's `next`) and arrive untyped. Each refusal names its field.
import { z } from "zod";
import { CapstanError } from "../../core/errors";
import { encodeEvent } from "./json-event";
import {
  ACK_TIMEOUT_MAX_MS, ACK_TIMEOUT_MIN_MS, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_IDEMPOTENCY_KEY_CHARS, READ_MAX_LIMIT,
} from "./limits";

export const STREAM_NAME = /^[a-z0-9_./-]{1,128}$/;

const StreamName = z.string().regex(STREAM_NAME, "must be 1-128 characters of a-z 0-9 _ . / -");
const AppendOptions = z
  .strictObject({ idempotencyKey: z.string().min(1, "must not be empty").max(MAX_IDEMPOTENCY_KEY_CHARS, `must be at most ${MAX_IDEMPOTENCY_KEY_CHARS} characters`).optional() })
  .optional();
const Offset = z.number().int("must be an integer offset").min(0, "must be an offset (0 or more)");
const ReadOptions = z
  .strictObject({ after: Offset.optional(), limit: z.number().int().min(1).max(READ_MAX_LIMIT).optional() })
  .optional();
const SubscribeOptions = z
  .strictObject({
    after: z.union([Offset, z.literal("start"), z.literal("end")], { error: 'must be an offset, "start" or "end"' }).optional(),
    ackTimeoutMs: z.number().int().min(ACK_TIMEOUT_MIN_MS).max(ACK_TIMEOUT_MAX_MS).optional(),
  })
  .optional();
const SubscriptionId = z.string().regex(/^sub_[A-Za-z0-9_-]{1,64}$/, "must be a subscription id (sub_…)");

export type Encoded = { text: string; bytes: number };

export function parseStream(v: unknown): string {
  return parseField(StreamName, v, "stream");
}

export function parseAppend(args: unknown[]): { stream: string; event: Encoded; key?: string } {
  const stream = parseStream(args[0]);
  const options = parseField(AppendOptions, args[2], "options");
  return { stream, event: encodeEvent(args[1], "event"), key: options?.idempotencyKey };
}

export function parseAppendBatch(args: unknown[]): { stream: string; events: Encoded[]; key?: string } {
  const stream = parseStream(args[0]);
  const options = parseField(AppendOptions, args[2], "options");
  const list = args[1];
  if (!Array.isArray(list)) throw new CapstanError("bad_request", "events must be an array of JSON values");
  if (list.length === 0) throw new CapstanError("bad_request", "events must hold at least one event");
  if (list.length > MAX_BATCH_EVENTS) throw new CapstanError("payload_too_large", `events holds ${list.length} events; the limit is ${MAX_BATCH_EVENTS}`);
  const events = list.map((e, i) => encodeEvent(e, `events[${i}]`));
  const total = events.reduce((n, e) => n + e.bytes, 0);
  if (total > MAX_BATCH_BYTES) throw new CapstanError("payload_too_large", `events are ${total} bytes as JSON together; the limit is ${MAX_BATCH_BYTES} (8 MiB)`);
  return { stream, events, key: options?.idempotencyKey };
}

export function parseRead(args: unknown[]): { stream: string; after: number; limit?: number } {
  const stream = parseStream(args[0]);
  const options = parseField(ReadOptions, args[1], "options");
  return { stream, after: options?.after ?? 0, limit: options?.limit };
}

export function parseSubscribe(args: unknown[]): { stream: string; target: unknown; after: number | "start" | "end"; ackTimeoutMs?: number } {
  const stream = parseStream(args[0]);
  const target = args[1];
  // A subscriber arrives as a stub, which answers every property with a callable stub; a plain
  // value (copied, not passed by reference) has no `deliver`.
  if ((typeof target !== "object" && typeof target !== "function") || target === null || typeof (target as { deliver?: unknown }).deliver !== "function") {
    throw new CapstanError("bad_request", "callback must be a function, passed by reference");
  }
  const options = parseField(SubscribeOptions, args[2], "options");
  return { stream, target, after: options?.after ?? "end", ackTimeoutMs: options?.ackTimeoutMs };
}

export function parseSubscriptionId(v: unknown): string {
  return parseField(SubscriptionId, v, "id");
}

function parseField<T extends z.ZodType>(schema: T, value: unknown, field: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = [field, ...issue.path.map(String)].join(".");
  throw new CapstanError("bad_request", `${path} ${issue.message.replace(/^Invalid input: /, "")}`.trim());
}
