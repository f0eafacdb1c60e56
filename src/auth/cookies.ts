// The browser session's cookies. `__Host-` makes the browser insist on Secure, Path=/ and no
// Domain, so no sibling subdomain can plant or read them. Cookies set while authenticating a
// request are queued against it and added to whatever response it ends with, errors included:
// a rotated refresh token that never reached the browser would look like reuse next time.
export const ACCESS_COOKIE = "__Host-capstan_at";
export const REFRESH_COOKIE = "__Host-capstan_rt";

export function readCookies(request: Request): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    // The first of two same-named cookies is the more specific one; keep it.
    if (name && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

export function setCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`;
}

export function clearSessionCookies(): string[] {
  return [setCookie(ACCESS_COOKIE, "", 0), setCookie(REFRESH_COOKIE, "", 0)];
}

const pending = new WeakMap<Request, string[]>();

export function queueCookies(request: Request, cookies: string[]): void {
  pending.set(request, cookies);
}

/** The response with any cookies queued for its request. */
export function withQueuedCookies(request: Request, response: Response): Response {
  const cookies = pending.get(request);
  if (!cookies?.length || response.webSocket) return response;
  const out = new Response(response.body, response);
  for (const c of cookies) out.headers.append("set-cookie", c);
  out.headers.set("cache-control", "no-store");
  return out;
}
