// The built-in issuer's signing keys, kept in D1 so that every isolate signs with the same key
// and tokens survive restarts. The private key is sealed at rest and opened only to sign; the
// verifying side reads public keys straight from D1 (this Worker is the issuer, so there is no
// reason to fetch its own JWKS over the network).
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK } from "jose";
import { CapstanError } from "../../core/errors";
import { auditStatement } from "./audit";
import { ACCESS_TTL, BUILTIN_ALG, CLOCK_SKEW_S } from "./config";
import { open, seal } from "./seal";

const SEAL_LABEL = "capstan/auth/issuer-signing-key/v1";
/** How long an isolate keeps signing with the key it loaded before looking again. */
const SIGNER_CACHE_MS = 60_000;
/** How long an isolate trusts its copy of the public keys before looking again. */
const PUBLISHED_CACHE_MS = 60_000;
/** A token naming a kid we do not hold makes us look again, but not more often than this. */
const RELOAD_COOLDOWN_MS = 5_000;
/**
 * How long a retired key stays published: the longest a token lives, plus the skew we allow,
 * plus the time another isolate may still be signing with it from its cache.
 */
const PUBLISH_AFTER_RETIRE_MS = (ACCESS_TTL.max + CLOCK_SKEW_S) * 1000 + SIGNER_CACHE_MS;

export type Signer = { kid: string; key: CryptoKey };
type Published = { loadedAt: number; jwks: JSONWebKeySet };

let signer: { loadedAt: number; value: Promise<Signer> } | null = null;
let published: { loadedAt: number; value: Promise<Published> } | null = null;

/** Drops this isolate's copies of the keys, as a cold start would; the next use reads D1 again. */
export function forgetSigningKeys(): void {
  signer = null;
  published = null;
}

/** The active signing key, created (once, whoever races to do it) if there is none yet. */
export function activeSigner(env: Env): Promise<Signer> {
  const now = Date.now();
  if (!signer || now - signer.loadedAt > SIGNER_CACHE_MS) {
    const value = loadSigner(env);
    signer = { loadedAt: now, value };
    value.catch(() => {
      if (signer?.value === value) signer = null;
    });
  }
  return signer.value;
}

async function loadSigner(env: Env): Promise<Signer> {
  let row = await activeRow(env);
  if (!row) {
    await insertNewKey(env, []);
    published = null;
    row = await activeRow(env);
  }
  if (!row?.sealed_private) throw new CapstanError("auth_unavailable", "the issuer has no usable signing key");
  const plain = await open(env.SECRETS_KEY, SEAL_LABEL, row.kid, new Uint8Array(row.sealed_private));
  if (!plain) {
    throw new CapstanError("auth_unavailable", "the issuer's signing key does not open with the configured SECRETS_KEY; rotate it (POST /internal/auth/rotate-signing-key)");
  }
  const jwk = JSON.parse(new TextDecoder().decode(plain)) as JWK;
  return { kid: row.kid, key: (await importJWK(jwk, BUILTIN_ALG)) as CryptoKey };
}

type KeyRow = { kid: string; public_jwk: string; sealed_private: ArrayBuffer | null };

function activeRow(env: Env): Promise<KeyRow | null> {
  return env.DB.prepare(`SELECT kid, public_jwk, sealed_private FROM auth_signing_keys WHERE state = 'active'`).first<KeyRow>();
}

/** A fresh ES256 key, inserted as the active one unless another isolate's insert won. */
async function insertNewKey(env: Env, before: D1PreparedStatement[]): Promise<{ kid: string; inserted: boolean }> {
  const { publicKey, privateKey } = await generateKeyPair(BUILTIN_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  const sealed = await seal(env.SECRETS_KEY, SEAL_LABEL, kid, new TextEncoder().encode(JSON.stringify(privateJwk)));
  const results = await env.DB.batch([
    ...before,
    env.DB.prepare(
      `INSERT OR IGNORE INTO auth_signing_keys (kid, alg, public_jwk, sealed_private, state, created_at) VALUES (?, ?, ?, ?, 'active', ?)`,
    ).bind(kid, BUILTIN_ALG, JSON.stringify({ ...publicJwk, kid, alg: BUILTIN_ALG, use: "sig" }), sealed, Date.now()),
  ]);
  const inserted = results[results.length - 1]!.meta.changes === 1;
  if (inserted && before.length === 0) await auditStatement(env, { event: "signing_key.created", detail: { kid } }).run();
  return { kid, inserted };
}

/**
 * Retires the active key (dropping its private half; its public half stays published until
 * every token it could have signed has expired), makes a new one active, and forgets keys
 * whose publication has ended. One D1 batch: all of it happens, or none.
 */
export async function rotateSigningKey(env: Env): Promise<{ kid: string; retired: string | null }> {
  const now = Date.now();
  const current = await activeRow(env);
  const { kid } = await insertNewKey(env, [
    env.DB.prepare(`DELETE FROM auth_signing_keys WHERE state = 'retired' AND publish_until <= ?`).bind(now),
    env.DB.prepare(
      `UPDATE auth_signing_keys SET state = 'retired', retired_at = ?, publish_until = ?, sealed_private = NULL WHERE state = 'active'`,
    ).bind(now, now + PUBLISH_AFTER_RETIRE_MS),
    auditStatement(env, { event: "signing_key.rotated", via: "service", detail: { retired: current?.kid ?? null } }),
  ]);
  forgetSigningKeys();
  return { kid, retired: current?.kid ?? null };
}

/**
 * The public keys tokens may be verified with: the active key and those still published.
 * `reload` asks for a fresh read (a token named a kid we do not hold: another isolate may have
 * rotated), which is honoured at most once per cooldown so unknown kids cannot flood D1.
 */
export async function publishedKeys(env: Env, opts: { reload?: boolean } = {}): Promise<JSONWebKeySet> {
  const now = Date.now();
  let entry = published;
  const stale = !entry || now - entry.loadedAt > PUBLISHED_CACHE_MS;
  const mayReload = opts.reload && entry && now - entry.loadedAt > RELOAD_COOLDOWN_MS;
  if (!entry || stale || mayReload) {
    const value = loadPublished(env, now);
    entry = { loadedAt: now, value };
    published = entry;
    value.catch(() => {
      if (published?.value === value) published = null;
    });
  }
  return (await entry.value).jwks;
}

async function loadPublished(env: Env, now: number): Promise<Published> {
  const { results } = await env.DB.prepare(
    `SELECT public_jwk FROM auth_signing_keys WHERE state = 'active' OR publish_until > ? ORDER BY created_at DESC`,
  )
    .bind(now)
    .all<{ public_jwk: string }>();
  return { loadedAt: now, jwks: { keys: results.map((r) => JSON.parse(r.public_jwk) as JWK) } };
}
