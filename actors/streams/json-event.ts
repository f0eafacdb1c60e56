// Events are JSON values. Arguments arrive by structured clone, which carries much more than
// JSON (undefined, Date, Map, bytes, NaN, ...); JSON.stringify would silently turn those into
// something else, so a stored event would not read back as it was sent. They are refused instead,
// with the path of the offending part.
import { CapstanError } from "../../core/errors";
import { MAX_EVENT_BYTES, MAX_EVENT_DEPTH } from "./limits";

/** The event as JSON text and its size in bytes; throws a typed error naming `field`. */
export function encodeEvent(value: unknown, field: string): { text: string; bytes: number } {
  const problem = jsonProblem(value, field, 0);
  if (problem) throw new CapstanError("bad_request", problem);
  const text = JSON.stringify(value);
  const bytes = utf8Length(text);
  if (bytes > MAX_EVENT_BYTES) {
    throw new CapstanError("payload_too_large", `${field} is ${bytes} bytes as JSON; the limit is ${MAX_EVENT_BYTES} (1 MiB)`);
  }
  return { text, bytes };
}

function jsonProblem(v: unknown, path: string, depth: number): string | null {
  if (depth > MAX_EVENT_DEPTH) return `${path} nests deeper than ${MAX_EVENT_DEPTH} levels`;
  if (v === null || typeof v === "string" || typeof v === "boolean") return null;
  if (typeof v === "number") return Number.isFinite(v) ? null : `${path} is ${v}, which JSON cannot hold`;
  if (v === undefined) return `${path} is missing (undefined is not a JSON value)`;
  if (typeof v !== "object") return `${path} is not a JSON value: got ${typeof v}`;
  const proto = Object.getPrototypeOf(v);
  if (Array.isArray(v) && proto === Array.prototype) {
    for (let i = 0; i < v.length; i++) {
      const p = jsonProblem(v[i], `${path}[${i}]`, depth + 1);
      if (p) return p;
    }
    return null;
  }
  if (proto === Object.prototype || proto === null) {
    for (const [k, x] of Object.entries(v)) {
      const p = jsonProblem(x, `${path}.${k}`, depth + 1);
      if (p) return p;
    }
    return null;
  }
  const kind = (proto as { constructor?: { name?: string } } | null)?.constructor?.name || "object";
  return `${path} is not a JSON value: got ${kind}`;
}

/** UTF-8 length without allocating the encoded bytes (events may be a MiB). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
