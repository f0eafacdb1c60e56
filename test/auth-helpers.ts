// Helpers for the auth suites: the auth audit, tokens and cookies, and a stand-in external
// issuer whose public keys vitest.config.ts pins in AUTH_JWKS.
import { exports } from "cloudflare:workers";
import { SignJWT, importJWK, type JWTPayload } from "jose";
import { expect } from "vitest";
import { BASE, SERVICE_TOKEN, call } from "./helpers";

export type AuditRow = {
  id: number;
  event: string;
  outcome: "ok" | "refused";
  reason: string | null;
  userId: string | null;
  keyId: string | null;
  projectId: string | null;
  sessionId: string | null;
  via: string | null;
  detail: Record<string, unknown> | null;
};

export async function authAudit(query: Record<string, string | number> = {}): Promise<AuditRow[]> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const res = await call(`/internal/auth/audit?${qs}`, { token: SERVICE_TOKEN });
  expect(res.status).toBe(200);
  return res.json();
}

/** The id of the newest audit row, to read only what a test causes after it. */
export async function auditCursor(): Promise<number> {
  let last = 0;
  for (;;) {
    const rows = await authAudit({ after: last, limit: 1000 });
    if (rows.length === 0) return last;
    last = rows[rows.length - 1]!.id;
  }
}

export async function accessToken(key: string, ttl?: number): Promise<string> {
  const res = await call("/v1/token", { method: "POST", token: key, body: ttl === undefined ? undefined : JSON.stringify({ ttl }) });
  if (res.status !== 200) throw new Error(`minting a token failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export function decodePart(token: string, part: 0 | 1): Record<string, unknown> {
  return JSON.parse(atob(token.split(".")[part]!.replace(/-/g, "+").replace(/_/g, "/")));
}

export function b64url(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const now = () => Math.floor(Date.now() / 1000);

// The stand-in external issuer, "https://idp.test" (see vitest.config.ts).
export const EXTERNAL_ISSUER = "https://idp.test";
const EXTERNAL_KEYS = {
  ES256: { kty: "EC", crv: "P-256", kid: "ext-es256", alg: "ES256", x: "x4eaCj79fTli28Z12P-SW1Hp5WSsLmaXPMYQhMd1IPI", y: "S3LsDZKSWLQAUDks3T__D2ZZhIZu8P7IqWHBRv7fQa4", d: "nY5ILtJuVX4kABc8C1puzFx30vviY-HKqpghDsVjaho" },
  EdDSA: { kty: "OKP", crv: "Ed25519", kid: "ext-eddsa", alg: "EdDSA", x: "MhbYSvs7w154zMuvFHoYJ-gW-Xv5nYbEFLNpBuLKwbI", d: "pi68taEU1MRf_6ljfLHRtnOIDnk9VjFWW73GBbP1Q0g" },
} as const;

/** A token from the external issuer: audience "capstan", valid for five minutes unless overridden. */
export async function externalToken(payload: JWTPayload, opts: { alg?: keyof typeof EXTERNAL_KEYS; header?: Record<string, unknown> } = {}): Promise<string> {
  const jwk = EXTERNAL_KEYS[opts.alg ?? "ES256"];
  const key = await importJWK(jwk, jwk.alg);
  return new SignJWT({ iss: EXTERNAL_ISSUER, aud: "capstan", iat: now(), exp: now() + 300, ...payload })
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, ...opts.header })
    .sign(key);
}

// Browser sessions.

export type Jar = Map<string, string>;

/** The cookies a response sets, with their attributes. */
export function setCookies(res: Response): { name: string; value: string; attrs: string }[] {
  return res.headers.getSetCookie().map((line) => {
    const [pair, ...attrs] = line.split(";");
    const eq = pair!.indexOf("=");
    return { name: pair!.slice(0, eq).trim(), value: pair!.slice(eq + 1).trim(), attrs: attrs.join(";").trim() };
  });
}

/** The jar after a response: set cookies replace, Max-Age=0 removes. */
export function absorb(jar: Jar, res: Response): Jar {
  const next = new Map(jar);
  for (const c of setCookies(res)) {
    if (/Max-Age=0\b/.test(c.attrs)) next.delete(c.name);
    else next.set(c.name, c.value);
  }
  return next;
}

export function cookieHeader(jar: Jar): string {
  return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
}

export const AT = "__Host-capstan_at";
export const RT = "__Host-capstan_rt";

export async function login(key: string): Promise<{ jar: Jar; body: { userId: string; sessionId: string } }> {
  const res = await call("/v1/session", { method: "POST", token: key });
  if (res.status !== 201) throw new Error(`opening a session failed: ${res.status} ${await res.text()}`);
  return { jar: absorb(new Map(), res), body: await res.json() };
}

/** A request as a browser on our own origin sends it with the session's cookies. */
export function browser(path: string, jar: Jar, init: RequestInit & { csrf?: boolean; origin?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("cookie", cookieHeader(jar));
  headers.set("origin", init.origin ?? BASE);
  if (init.csrf) headers.set("x-capstan-csrf", "1");
  if (typeof init.body === "string") headers.set("content-type", "application/json");
  return exports.default.fetch(new Request(`${BASE}${path}`, { ...init, headers }));
}
