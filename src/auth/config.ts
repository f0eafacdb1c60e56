// Auth configuration: the fixed rules, and the deployment's choices read from env once and
// validated, so a mistake in a var is reported by name instead of turning into odd refusals.
import { z } from "zod";
import type { JSONWebKeySet } from "jose";
import { CapstanError } from "../../core/errors";

/** Access-token lifetimes, in seconds. The upper bound also sizes how long a retired key stays published. */
export const ACCESS_TTL = { default: 300, min: 60, max: 3600 } as const;
/** Tolerated clock difference between an issuer and us when checking exp, nbf and iat. */
export const CLOCK_SKEW_S = 30;
/** The algorithms any trusted issuer may sign with. Never "none", never an HMAC. */
export const TRUSTED_ALGS = ["ES256", "RS256", "EdDSA"] as const;
/** What the built-in issuer signs with. */
export const BUILTIN_ALG = "ES256";
/** RFC 9068's media type for access tokens: an ID token or other JWT cannot pass as one. */
export const ACCESS_TOKEN_TYP = "at+jwt";
/** Past this many memberships a token says "look them up" instead of listing them (cookie size). */
export const MAX_PROJECT_CLAIMS = 50;

const BUILTIN_ISSUER_FALLBACK = "urn:capstan:issuer";
const DEFAULT_AUDIENCE = "capstan";

const Url = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ""));
const Jwks = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "is not JSON" });
      return z.NEVER;
    }
  })
  .pipe(z.object({ keys: z.array(z.looseObject({ kty: z.string() })).min(1, "must hold at least one key") }));

const AuthEnv = z
  .object({
    AUTH_PUBLIC_URL: Url.refine((u) => new URL(u).origin === u, "must be an origin (scheme, host and port; no path)").optional(),
    AUTH_AUDIENCE: z.string().min(1).max(200).optional(),
    AUTH_ISSUER: z.string().min(1).max(500).optional(),
    AUTH_JWKS: Jwks.optional(),
    AUTH_JWKS_URL: Url.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.AUTH_JWKS || v.AUTH_JWKS_URL) && !v.AUTH_ISSUER) {
      ctx.addIssue({ code: "custom", path: ["AUTH_ISSUER"], message: "is required when AUTH_JWKS or AUTH_JWKS_URL is set" });
    }
    // Keys fetched over plain http could be swapped by anyone on the path.
    const fetchedFrom = v.AUTH_ISSUER && !v.AUTH_JWKS ? (v.AUTH_JWKS_URL ?? v.AUTH_ISSUER) : null;
    if (fetchedFrom && (!fetchedFrom.startsWith("https://") || !URL.canParse(fetchedFrom))) {
      const name = v.AUTH_JWKS_URL ? "AUTH_JWKS_URL" : "AUTH_ISSUER";
      ctx.addIssue({ code: "custom", path: [name], message: "must be an https URL when the issuer's keys are fetched (or set AUTH_JWKS)" });
    }
  });

export type ExternalIssuer = { issuer: string; keys: { kind: "static"; jwks: JSONWebKeySet } | { kind: "remote"; url: URL } };

export type AuthConfig = {
  /** The built-in issuer's `iss`: AUTH_PUBLIC_URL, or a fixed URN when that is unset. */
  builtinIssuer: string;
  /** Where the issuer's endpoints are advertised; null means "the origin the request came to". */
  publicUrl: string | null;
  audience: string;
  external: ExternalIssuer | null;
};

let cached: { source: string; config: AuthConfig } | null = null;

export function authConfig(env: Env): AuthConfig {
  const raw = {
    AUTH_PUBLIC_URL: env.AUTH_PUBLIC_URL || undefined,
    AUTH_AUDIENCE: env.AUTH_AUDIENCE || undefined,
    AUTH_ISSUER: env.AUTH_ISSUER || undefined,
    AUTH_JWKS: env.AUTH_JWKS || undefined,
    AUTH_JWKS_URL: env.AUTH_JWKS_URL || undefined,
  };
  const source = JSON.stringify(raw);
  if (cached?.source === source) return cached.config;
  const r = AuthEnv.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new CapstanError("auth_unavailable", `auth is misconfigured: ${issue.path.join(".")} ${issue.message}`);
  }
  const v = r.data;
  const builtinIssuer = v.AUTH_PUBLIC_URL ?? BUILTIN_ISSUER_FALLBACK;
  let external: ExternalIssuer | null = null;
  if (v.AUTH_ISSUER) {
    if (v.AUTH_ISSUER === builtinIssuer) throw new CapstanError("auth_unavailable", "auth is misconfigured: AUTH_ISSUER names the built-in issuer");
    external = {
      issuer: v.AUTH_ISSUER,
      keys: v.AUTH_JWKS
        ? { kind: "static", jwks: v.AUTH_JWKS as JSONWebKeySet }
        : { kind: "remote", url: new URL(v.AUTH_JWKS_URL ?? `${v.AUTH_ISSUER.replace(/\/+$/, "")}/.well-known/jwks.json`) },
    };
  }
  const config: AuthConfig = { builtinIssuer, publicUrl: v.AUTH_PUBLIC_URL ?? null, audience: v.AUTH_AUDIENCE ?? DEFAULT_AUDIENCE, external };
  cached = { source, config };
  return config;
}
