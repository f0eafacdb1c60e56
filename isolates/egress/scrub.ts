// Scrubbing: every substituted value is taken back out of what the upstream returns, in the
// forms an echo endpoint is likely to reflect it: raw, JSON-escaped, URL-encoded, base64 and
// base64url. A marker naming the secret takes its place.
import { countedBody } from "../../core/count-bytes";
import { byteReplacer, replaceAllBytes, type Replacement } from "./byte-replacer";

export type Substituted = { name: string; value: string };

const enc = new TextEncoder();

function base64(s: string): string {
  let bin = "";
  for (const b of enc.encode(s)) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function scrubRules(used: readonly Substituted[]): Replacement[] {
  const rules: Replacement[] = [];
  for (const { name, value } of used) {
    if (!value) continue;
    const marker = enc.encode(`[redacted:${name}]`);
    const padded = base64(value);
    const b64 = padded.replace(/=+$/, "");
    // Padded forms are listed too so that, being longer, they win and take their "=" with them.
    const forms = new Set([
      value,
      JSON.stringify(value).slice(1, -1),
      encodeURIComponent(value),
      encodeURIComponent(value).replace(/%20/g, "+"),
      padded,
      b64,
      padded.replace(/\+/g, "-").replace(/\//g, "_"),
      b64.replace(/\+/g, "-").replace(/\//g, "_"),
    ]);
    for (const form of forms) rules.push({ find: enc.encode(form), replace: marker });
  }
  // Longest first, so a longer encoded form wins over a raw value it contains.
  return rules.sort((a, b) => b.find.length - a.find.length);
}

export function scrubText(text: string, rules: readonly Replacement[]): string {
  if (rules.length === 0) return text;
  return new TextDecoder().decode(replaceAllBytes(enc.encode(text), rules));
}

/**
 * A response safe to hand back: headers and a streaming body with every rule applied, read in
 * large chunks (fewer scans, and fewer pieces for every stage after the pipe). `onDelivered`, if
 * given, gets the number of body bytes passed on, once the body has ended, been cancelled or
 * failed. With neither rules nor a count to take, the body passes as it is, with no stage at all.
 * `decoded`: the runtime decoded the body on fetch (gzip, br), so its encoding label is stale.
 */
export function scrubResponse(res: Response, rules: readonly Replacement[], decoded: boolean, onDelivered?: (bytes: number) => void): Response {
  const headers = new Headers();
  for (const [k, v] of res.headers) headers.append(k, scrubText(v, rules));
  if (decoded) headers.delete("content-encoding");
  // Scrubbing changes the length.
  if (decoded || rules.length) headers.delete("content-length");
  const body =
    rules.length || onDelivered ? countedBody(res.body, onDelivered ?? (() => undefined), rules.length ? byteReplacer(rules) : undefined) : res.body;
  return new Response(body, { status: res.status, statusText: res.statusText, headers });
}
