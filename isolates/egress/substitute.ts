// Placeholder substitution for one outbound request. Each place encodes the value the way that
// place needs (URL: percent-encoded; JSON body: JSON-escaped; form body: form-encoded; header:
// raw, and CR/LF refused). Expansion is one pass over the text as written, with every form in
// one alternation (core/placeholders.ts): a secret value that itself looks like a placeholder
// is never expanded again.
import { CapstanError } from "../../core/errors";
import { anyBindingAllows } from "../../core/host-binding";
import { TOKEN, TOKEN_MAX_LENGTH, URL_TOKEN, tokenOf, type Token } from "../../core/placeholders";
import type { OpenedSecret } from "../secrets/store";

export type Encode = (value: string, label: string) => string;

/** Everything a request's placeholders expand to, resolved before (or, for a streamed body, while) sending. */
export type Values = { secrets: Map<string, OpenedSecret>; idTokens: Map<string, string>; basics: Map<string, string> };

export const emptyValues = (): Values => ({ secrets: new Map(), idTokens: new Map(), basics: new Map() });

/** Records the Basic credentials of a pair whose secrets are already opened. */
export function resolveBasic(values: Values, user: string, pass: string): void {
  const key = `${user}:${pass}`;
  if (values.basics.has(key)) return;
  const u = values.secrets.get(user)!.value;
  if (u.includes(":")) throw new CapstanError("secret_invalid", `secret "${user}" contains ":" and cannot be a Basic auth user name`);
  values.basics.set(key, basicCredentials(u, values.secrets.get(pass)!.value));
}
export type Resolve = (t: Token) => Promise<void>;

export const encodeFor = {
  url: (v: string) => encodeURIComponent(v),
  header: (v: string, label: string) => {
    if (/[\r\n\0]/.test(v)) throw new CapstanError("secret_invalid", `${label} contains CR, LF or NUL and cannot be used in a header`);
    return v;
  },
  json: (v: string) => JSON.stringify(v).slice(1, -1),
  form: (v: string) => encodeURIComponent(v).replace(/%20/g, "+"),
  text: (v: string) => v,
};

export function basicCredentials(user: string, pass: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(`${user}:${pass}`)) bin += String.fromCharCode(b);
  return btoa(bin);
}

function expandOne(t: Token, values: Values, encode: Encode, url: boolean): string {
  switch (t.kind) {
    case "secret":
      return encode(values.secrets.get(t.name)!.value, `secret "${t.name}"`);
    case "basic":
      return encode(values.basics.get(`${t.user}:${t.pass}`)!, `basicAuth of "${t.user}" and "${t.pass}"`);
    case "idToken":
      return encode(values.idTokens.get(url ? decodeURIComponent(t.audience) : t.audience)!, `the id token for "${t.audience}"`);
  }
}

/** Replaces every placeholder in `text` with its encoded value, in one pass. */
export function substituteText(text: string, values: Values, encode: Encode, url = false): string {
  return text.replace(url ? URL_TOKEN : TOKEN, (...m) => expandOne(tokenOf(m as unknown as RegExpMatchArray), values, encode, url));
}

/** Whether a secret may go where `url` points, with this method. */
export function isBound(secret: OpenedSecret, url: URL, method: string): boolean {
  return anyBindingAllows(secret.hosts, url, method);
}

/** Refuses, naming the secret and the destination, when a secret is not bound to where the request goes. */
export function assertBound(secret: OpenedSecret, url: URL, method: string): void {
  if (!isBound(secret, url, method)) {
    throw new CapstanError("secret_not_bound", `secret "${secret.name}" is not bound to ${method} ${url.protocol}//${url.host}${url.pathname}`);
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
export function substituteStream(kind: Exclude<BodyKind, null>, values: Values, resolve: Resolve): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const encode = encodeFor[kind];
  let pending = "";
  async function expand(text: string, final: boolean): Promise<string> {
    let out = "";
    let pos = 0;
    for (const m of text.matchAll(TOKEN)) {
      const t = tokenOf(m);
      await resolve(t);
      out += text.slice(pos, m.index) + expandOne(t, values, encode, false);
      pos = m.index! + m[0].length;
    }
    const keep = final ? text.length : Math.max(pos, text.length - (TOKEN_MAX_LENGTH - 1));
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
