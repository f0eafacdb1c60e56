// Placeholder substitution for one outbound request. Each place encodes the value the way that
// place needs (URL: percent-encoded; JSON body: JSON-escaped; form body: form-encoded; header:
// raw, and CR/LF refused). Expansion is one pass over the text as written: a secret value that
// itself looks like a placeholder is never expanded again.
import { CapstanError } from "../../core/errors";
import { anyBindingAllows } from "../../core/host-binding";
import { PLACEHOLDER, PLACEHOLDER_MAX_LENGTH } from "../../core/placeholders";
import type { OpenedSecret } from "../secrets/store";

/** Same grammar as PLACEHOLDER, but the URL parser percent-encodes quotes in paths and queries. */
const URL_PLACEHOLDER = /getSecret\((%22|%27|"|')([A-Za-z0-9_.-]{1,64})\1\)/g;

export type Encode = (value: string) => string;
export type Lookup = (name: string) => Promise<OpenedSecret>;

export const encodeFor = {
  url: (v: string) => encodeURIComponent(v),
  header: (v: string, name: string) => {
    if (/[\r\n\0]/.test(v)) throw new CapstanError("secret_invalid", `secret "${name}" contains CR, LF or NUL and cannot be used in a header`);
    return v;
  },
  json: (v: string) => JSON.stringify(v).slice(1, -1),
  form: (v: string) => encodeURIComponent(v).replace(/%20/g, "+"),
  text: (v: string) => v,
};

export function namesIn(text: string, url = false): string[] {
  return [...new Set([...text.matchAll(url ? URL_PLACEHOLDER : PLACEHOLDER)].map((m) => m[2]!))];
}

/** Replaces every placeholder in `text` with its encoded value, in one pass. */
export function substituteText(text: string, secrets: ReadonlyMap<string, OpenedSecret>, encode: (v: string, name: string) => string, url = false): string {
  return text.replace(url ? URL_PLACEHOLDER : PLACEHOLDER, (_m, _q, name: string) => encode(secrets.get(name)!.value, name));
}

/** Refuses, naming the secret and the destination, when a secret is not bound to where the request goes. */
export function assertBound(secret: OpenedSecret, url: URL): void {
  if (!anyBindingAllows(secret.hosts, url)) {
    throw new CapstanError("secret_not_bound", `secret "${secret.name}" is not bound to ${url.protocol}//${url.host}`);
  }
}

export type BodyKind = "json" | "form" | "text" | null;

/** Only text bodies are searched; a placeholder inside binary data is sent as written. */
export function bodyKind(contentType: string | null): BodyKind {
  const ct = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (ct === "application/json" || ct.endsWith("+json")) return "json";
  if (ct === "application/x-www-form-urlencoded") return "form";
  if (ct.startsWith("text/") || ct === "application/xml" || ct.endsWith("+xml") || ct === "application/javascript") return "text";
  return null;
}

/**
 * Substitutes placeholders in a streamed text body. The tail of each chunk that could be the
 * start of a placeholder is held back until the next chunk decides it, so a placeholder split
 * across chunks is still found and memory stays bounded.
 */
export function substituteStream(kind: Exclude<BodyKind, null>, lookup: Lookup): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const encode = encodeFor[kind];
  let pending = "";
  async function expand(text: string, final: boolean): Promise<string> {
    let out = "";
    let pos = 0;
    for (const m of text.matchAll(PLACEHOLDER)) {
      const secret = await lookup(m[2]!);
      out += text.slice(pos, m.index) + encode(secret.value);
      pos = m.index! + m[0].length;
    }
    const keep = final ? text.length : Math.max(pos, text.length - (PLACEHOLDER_MAX_LENGTH - 1));
    pending = text.slice(keep);
    return out + text.slice(pos, keep);
  }
  return new TransformStream({
    async transform(chunk, controller) {
      const out = await expand(pending + decoder.decode(chunk, { stream: true }), false);
      if (out) controller.enqueue(encoder.encode(out));
    },
    async flush(controller) {
      const out = await expand(pending + decoder.decode(), true);
      if (out) controller.enqueue(encoder.encode(out));
    },
  });
}
