// CSRF for cookie-authenticated requests. The cookies are SameSite=Strict, so a browser does
// not send them from another site at all; on top of that, a request that changes state must
// carry a custom header (which a cross-site form cannot send, and a cross-site fetch cannot
// send without a CORS preflight we never approve), and any request with an Origin, WebSocket
// upgrades included, must come from our own origin. Bearer-token requests need none of this:
// a browser never attaches a bearer token by itself.
import { authConfig } from "./config";
import { clientIp, refuse } from "./refusals";

export const CSRF_HEADER = "x-capstan-csrf";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export async function checkCsrf(env: Env, request: Request): Promise<void> {
  const facts = { via: "session" as const, ip: clientIp(request) };
  const origin = request.headers.get("origin");
  if (origin !== null) {
    const own = new Set([new URL(request.url).origin]);
    const publicUrl = authConfig(env).publicUrl;
    if (publicUrl) own.add(new URL(publicUrl).origin);
    if (!own.has(origin)) throw await refuse(env, "csrf_origin", "a cookie session is usable only from this deployment's own origin", { ...facts, detail: { origin } }, "forbidden");
  }
  if (request.headers.get("sec-fetch-site") === "cross-site") {
    throw await refuse(env, "csrf_cross_site", "a cookie session is usable only from this deployment's own origin", facts, "forbidden");
  }
  if (!SAFE_METHODS.has(request.method) && !request.headers.get(CSRF_HEADER)) {
    throw await refuse(env, "csrf_header_missing", `a cookie-authenticated ${request.method} needs the ${CSRF_HEADER} header`, facts, "forbidden");
  }
}
