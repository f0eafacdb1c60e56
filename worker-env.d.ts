// The Worker's bindings and exports, typed once for every side (front door, actor, isolates).
declare namespace Cloudflare {
  interface Env {
    DB: D1Database;
    PROJECT_ACTOR: DurableObjectNamespace<import("./actors/project-actor").ProjectActor>;
    LOADER: WorkerLoader;
    /** Bearer token for the /internal routes; set in .dev.vars locally, a secret in production. */
    SERVICE_TOKEN?: string;
    /**
     * Base64 of 32 random bytes: the AES-GCM key for secrets at rest, read in isolates/secrets.
     * src/auth/signing-keys.ts derives its own key from it (HKDF, another label) to seal the
     * issuer's signing key; neither key can open what the other sealed.
     */
    SECRETS_KEY?: string;
    /** The deployment's public origin; the built-in issuer's `iss` and where its endpoints are advertised. */
    AUTH_PUBLIC_URL?: string;
    /** The `aud` access tokens must carry (default "capstan"). */
    AUTH_AUDIENCE?: string;
    /** An external issuer whose access tokens are trusted besides the built-in issuer's. */
    AUTH_ISSUER?: string;
    /** That issuer's JWKS as JSON: verified locally, with no network on any request. */
    AUTH_JWKS?: string;
    /** Where that issuer's JWKS is fetched when AUTH_JWKS is unset (default: AUTH_ISSUER/.well-known/jwks.json). */
    AUTH_JWKS_URL?: string;
  }
  interface GlobalProps {
    mainModule: typeof import("./src/index");
    durableNamespaces: "ProjectActor";
  }
}
type Env = Cloudflare.Env;
