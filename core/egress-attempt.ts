// What is known of an egress before the pipe answers (method, host, path without its query, the
// names of the secrets its URL and headers ask for), so that a refusal is audited too. Pure:
// the actor's fetch built-in and a front door holding a lease on fetch both use it.
import type { EgressMeta } from "../isolates/egress-pipe";
import { CapstanError } from "./errors";
import { tokensIn } from "./placeholders";

/** What is known of an egress before the pipe answers, so a refusal is audited too. */
export function attemptMeta(request: Request): EgressMeta {
  const url = new URL(request.url);
  const names = tokensIn(url.pathname + url.search, true).names;
  for (const [, v] of request.headers) for (const n of tokensIn(v).names) names.add(n);
  return { method: request.method, host: url.host, path: url.pathname, status: 0, secrets: [...names] };
}

/** The refusal of a request the egress policy denies, the same wherever the policy was decided. */
export function egressDenied(request: Request, reason: string): CapstanError {
  const url = new URL(request.url);
  return new CapstanError("egress_denied", `${request.method} ${url.protocol}//${url.host}${url.pathname} is denied by ${reason}`);
}
