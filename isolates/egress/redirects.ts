// One redirect hop, decided as data: where it leads, with which method, and whether the body
// goes along (the fetch spec's rules), or a typed refusal. The pipe re-runs policy and secret
// bindings on the hop this returns; what this refuses outright is what no binding can make
// safe: a Location that is not http(s), userinfo, and https → http while carrying a secret.
import { CapstanError } from "../../core/errors";

export const MAX_REDIRECTS = 10;
export const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

export type Hop = { url: URL; method: string; keepBody: boolean };

export function nextHop(n: number, status: number, location: string, from: URL, method: string, carryingSecret: boolean): Hop {
  if (n > MAX_REDIRECTS) throw new CapstanError("redirect_refused", `more than ${MAX_REDIRECTS} redirects`);
  let url: URL;
  try {
    url = new URL(location, from);
  } catch {
    throw new CapstanError("redirect_refused", `redirect ${n} has a Location that is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new CapstanError("redirect_refused", `redirect ${n} leads to ${url.protocol}, not http or https`);
  if (url.username || url.password) throw new CapstanError("redirect_refused", `redirect ${n} leads to a URL with user:password@`);
  if (carryingSecret && from.protocol === "https:" && url.protocol === "http:") {
    throw new CapstanError("redirect_refused", `redirect ${n} would downgrade from https to http while the request carries a secret`);
  }
  // 303 becomes a GET (HEAD stays HEAD); 301/302 after a POST become a GET; both drop the body.
  if ((status === 303 && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
    return { url, method: "GET", keepBody: false };
  }
  return { url, method, keepBody: true };
}
