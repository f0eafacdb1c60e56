// Access-token verification with jose. A token is checked against exactly one trusted issuer,
// picked by its (as yet unverified) `iss`: the built-in issuer, whose public keys come from D1,
// or the one external issuer a deployment may configure, whose keys come from AUTH_JWKS (no
// network, ever) or from its JWKS URL (fetched by jose and cached). A token naming any other
// issuer is refused before any key is looked for: we never fetch keys from where a token says.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTHeaderParameters,
  type FlattenedJWSInput,
  type JWTVerifyOptions,
} from "jose";
import { z } from "zod";
import { ACCESS_TOKEN_TYP, ACCESS_TTL, BUILTIN_ALG, CLOCK_SKEW_S, TRUSTED_ALGS, authConfig, type ExternalIssuer } from "./config";
import { Role, type Grants } from "./grants";
import { PROJECT_ID, SESSION_FAMILY_ID, USER_ID } from "./ids";
import { PROJECTS_CLAIM, PROJECTS_OVERFLOW_CLAIM } from "./issuer";
import { publishedKeys } from "./signing-keys";

export type VerifiedToken = {
  userId: string;
  issuer: "builtin" | "external";
  /** The projects the token grants, or null when it says to look membership up (too many to carry). */
  grants: Grants | null;
  /** The browser session the token belongs to, if it was minted for one. */
  sessionId: string | null;
  tokenId: string | null;
  expiresAt: number;
};

export type TokenRefusalReason =
  | "malformed"
  | "untrusted_issuer"
  | "alg_not_allowed"
  | "unknown_kid"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "wrong_issuer"
  | "wrong_audience"
  | "wrong_type"
  | "bad_claims"
  | "issuer_unreachable";

export type TokenVerification =
  | { ok: true; token: VerifiedToken }
  | { ok: false; reason: TokenRefusalReason; detail: { kid: string | null; alg: string | null; iss: string | null } };

const Claims = z.object({
  sub: z.string().regex(USER_ID, "must be a Capstan user id (usr_…)"),
  exp: z.number(),
  jti: z.string().max(128).optional(),
  sid: z.string().regex(SESSION_FAMILY_ID).optional(),
  [PROJECTS_CLAIM]: z
    .record(z.string().regex(PROJECT_ID), Role)
    .refine((r) => Object.keys(r).length <= 1000, "carries too many projects")
    .optional(),
  [PROJECTS_OVERFLOW_CLAIM]: z.literal(true).optional(),
});

const EXTERNAL_TYPES = new Set([undefined, "jwt", "at+jwt", "application/at+jwt"]);

export async function verifyAccessToken(env: Env, token: string): Promise<TokenVerification> {
  let header: JWTHeaderParameters;
  let iss: unknown;
  try {
    header = decodeProtectedHeader(token) as JWTHeaderParameters;
    iss = decodeJwt(token).iss;
  } catch {
    return { ok: false, reason: "malformed", detail: { kid: null, alg: null, iss: null } };
  }
  const detail = { kid: str(header.kid), alg: str(header.alg), iss: str(iss) };
  const refuse = (reason: TokenRefusalReason): TokenVerification => ({ ok: false, reason, detail });

  const config = authConfig(env);
  let keys: (h: JWTHeaderParameters, t: FlattenedJWSInput) => Promise<CryptoKey>;
  let options: JWTVerifyOptions;
  let issuer: VerifiedToken["issuer"];
  if (iss === config.builtinIssuer) {
    issuer = "builtin";
    keys = builtinKeys(env);
    options = {
      issuer: config.builtinIssuer,
      algorithms: [BUILTIN_ALG],
      typ: ACCESS_TOKEN_TYP,
      // Our tokens live at most ACCESS_TTL.max; one that claims to be older is not ours.
      maxTokenAge: ACCESS_TTL.max,
      requiredClaims: ["exp", "iat", "sub", "jti"],
    };
  } else if (config.external && iss === config.external.issuer) {
    issuer = "external";
    keys = externalKeys(config.external);
    options = { issuer: config.external.issuer, algorithms: [...TRUSTED_ALGS], requiredClaims: ["exp", "sub"] };
  } else {
    return refuse("untrusted_issuer");
  }

  let payload: Record<string, unknown>;
  let protectedHeader: JWTHeaderParameters;
  try {
    ({ payload, protectedHeader } = await jwtVerify(token, keys, { ...options, audience: config.audience, clockTolerance: CLOCK_SKEW_S }));
  } catch (err) {
    return refuse(reasonFor(err));
  }
  if (issuer === "external" && !EXTERNAL_TYPES.has(protectedHeader.typ?.toLowerCase())) return refuse("wrong_type");
  const claims = Claims.safeParse(payload);
  if (!claims.success) return refuse("bad_claims");
  const c = claims.data;
  const projects = c[PROJECTS_CLAIM];
  return {
    ok: true,
    token: {
      userId: c.sub,
      issuer,
      grants: c[PROJECTS_OVERFLOW_CLAIM] ? null : new Map(Object.entries(projects ?? {})),
      sessionId: c.sid ?? null,
      tokenId: c.jti ?? null,
      expiresAt: c.exp * 1000,
    },
  };
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

function reasonFor(err: unknown): TokenRefusalReason {
  if (err instanceof errors.JWTExpired) return "expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "nbf":
      case "iat":
        return "not_yet_valid";
      case "iss":
        return "wrong_issuer";
      case "aud":
        return "wrong_audience";
      case "typ":
        return "wrong_type";
      default:
        return "bad_claims";
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return "alg_not_allowed";
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return "unknown_kid";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "bad_signature";
  if (err instanceof IssuerUnreachable) return "issuer_unreachable";
  return "malformed";
}

/** The issuer's keys could not be had (a JWKS fetch or a D1 read failed): not the token's fault, so not a 401. */
class IssuerUnreachable extends Error {}

const localSets = new WeakMap<JSONWebKeySet, ReturnType<typeof createLocalJWKSet>>();
function localSet(jwks: JSONWebKeySet) {
  let set = localSets.get(jwks);
  if (!set) localSets.set(jwks, (set = createLocalJWKSet(jwks)));
  return set;
}

/** The built-in issuer's keys, read from D1; a kid we do not hold makes us read again (rate-limited). */
function builtinKeys(env: Env) {
  const read = (reload: boolean) =>
    publishedKeys(env, { reload }).catch((err: unknown) => {
      throw new IssuerUnreachable(err instanceof Error ? err.message : String(err));
    });
  return async (header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    const jwks = await read(false);
    try {
      return await localSet(jwks)(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      const fresh = await read(true);
      if (fresh === jwks) throw err;
      return localSet(fresh)(header, token);
    }
  };
}

const remoteSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function externalKeys(external: ExternalIssuer) {
  if (external.keys.kind === "static") return localSet(external.keys.jwks);
  const href = external.keys.url.href;
  let set = remoteSets.get(href);
  if (!set) {
    set = createRemoteJWKSet(external.keys.url, { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5_000 });
    remoteSets.set(href, set);
  }
  const remote = set;
  return async (header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
      throw new IssuerUnreachable(err instanceof Error ? err.message : String(err));
    }
  };
}
